'use strict';
// REST-hook triggers. Subscribing creates a webhook endpoint of the `zapier` flavour on the
// server (`POST /api/hooks/subscriptions`), so deliveries get the durable outbox, retries and
// the delivery log; unsubscribing deletes it. `perform` turns the body Zapier received into
// the array a trigger returns; `performList` reads the newest events of the same type from the
// server, in the same shape, for sample data in the Zap editor.
const { apiUrl } = require('./http');

const SUBSCRIPTIONS = '/api/hooks/subscriptions';
const RECENT = '/api/hooks/events';
const SAMPLE_SIZE = 10;

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

// A body may be the event's data itself or an envelope around it ({type, data, ...}); either
// way the trigger's item is the data, with the envelope's facts beside it, and an `id` Zapier
// can tell items apart by.
function toItem(entry) {
  if (!isObject(entry)) return null;
  let item = entry;
  if (isObject(entry.data) && typeof entry.type === 'string') {
    const { data, ...envelope } = entry;
    item = { ...data };
    for (const key of ['type', 'seq', 'timestamp', 'created_at']) {
      if (envelope[key] !== undefined && item[`event_${key}`] === undefined) item[`event_${key}`] = envelope[key];
    }
    if (item.id === undefined && envelope.id !== undefined) item.id = envelope.id;
  }
  if (item.id === undefined) {
    if (item.task_id !== undefined) item = { id: item.task_id, ...item };
    else if (item.automation_id !== undefined) item = { id: `${item.automation_id}:${item.trigger_seq ?? ''}`, ...item };
  }
  return item;
}

function toItems(body) {
  let entries;
  if (Array.isArray(body)) entries = body;
  else if (isObject(body) && Array.isArray(body.items)) entries = body.items;
  else if (isObject(body) && Array.isArray(body.data)) entries = body.data;
  else entries = [body];
  return entries.map(toItem).filter((item) => item !== null);
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

  // A subscription the server already dropped (a 410 from Zapier unsubscribes it there) is
  // gone either way: a 404 is success here.
  const performUnsubscribe = async (z, bundle) => {
    const id = bundle.subscribeData && bundle.subscribeData.id;
    if (!id) return {};
    const response = await z.request({
      method: 'DELETE',
      url: apiUrl(bundle, `${SUBSCRIPTIONS}/${encodeURIComponent(id)}`),
      skipThrowForStatus: true,
    });
    if (response.status !== 404) response.throwForStatus();
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
