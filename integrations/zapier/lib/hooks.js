'use strict';
// REST-hook triggers. Subscribing creates a webhook endpoint of the `zapier` flavour on the
// server (`POST /api/hooks/subscriptions`), so deliveries get the durable outbox, retries and
// the delivery log; unsubscribing deletes it. `perform` turns the body Zapier received into
// the array a trigger returns; `performList` reads the newest events of the same type from the
// server, in the same shape, for sample data in the Zap editor.
const { apiUrl } = require('./http');

const SUBSCRIPTIONS = '/api/hooks/subscriptions';
const RECENT = '/api/hooks/events';
// Enough that a filtered trigger (status changes among all prospect updates) still finds some.
const SAMPLE_SIZE = 25;

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

// The server sends each event as one flat object: `id` (`evt_<seq>`, unique per user, which
// Zapier de-duplicates on), `seq`, `type`, `occurred_at`, then the resource's fields with its own
// id as `<resource>_id`. A hook body is one such object; the polling endpoint answers
// `{items: [...]}` of the same objects, newest first.
function toItems(body) {
  const entries = isObject(body) && Array.isArray(body.items) ? body.items : Array.isArray(body) ? body : [body];
  return entries.filter((entry) => isObject(entry) && entry.id !== undefined);
}

function hookTrigger({ key, event, noun, label, description, keep = () => true, sample, outputFields }) {
  const performSubscribe = async (z, bundle) => {
    const response = await z.request({
      method: 'POST',
      url: apiUrl(bundle, SUBSCRIPTIONS),
      body: { target_url: bundle.targetUrl, event },
    });
    return response.data;
  };

  // The server answers 204 also for a subscription it already dropped (a 410 from Zapier
  // removes it there), so turning a Zap off never fails for that.
  const performUnsubscribe = async (z, bundle) => {
    const id = bundle.subscribeData && bundle.subscribeData.id;
    if (!id) return {};
    await z.request({ method: 'DELETE', url: apiUrl(bundle, `${SUBSCRIPTIONS}/${encodeURIComponent(id)}`) });
    return {};
  };

  const perform = async (z, bundle) => toItems(bundle.cleanedRequest).filter(keep);

  const performList = async (z, bundle) => {
    const response = await z.request({
      url: apiUrl(bundle, RECENT),
      params: { event, limit: SAMPLE_SIZE },
    });
    return toItems(response.data).filter(keep);
  };

  return {
    key,
    noun,
    display: { label, description },
    operation: {
      type: 'hook',
      performSubscribe,
      performUnsubscribe,
      perform,
      performList,
      sample,
      outputFields,
    },
  };
}

module.exports = { hookTrigger, toItems, SUBSCRIPTIONS, RECENT };
