'use strict';
// The app under `createAppTester` against a real aiclone on 127.0.0.1: connect with an API key,
// subscribe each trigger, change something through the API, receive the hook on a local
// receiver (standing in for Zapier), run the trigger's perform on the received body, compare
// with performList, unsubscribe; then every action and the search.
const { before, after, describe, test } = require('node:test');
const assert = require('node:assert/strict');
const zapier = require('zapier-platform-core');
const App = require('../index');
const { startServer, startReceiver, userWithKey } = require('./support');

const appTester = zapier.createAppTester(App);

// What the integration needs, and nothing more: a key for Zapier should not manage keys or be admin.
const SCOPES = [
  'prospects:read',
  'prospects:write',
  'research:read',
  'research:write',
  'outreach:read',
  'outreach:write',
  'content:read',
  'automations:read',
  'webhooks:read',
  'webhooks:write',
];

const HOOK_TIMEOUT_MS = 15_000;

const RESEARCH_PAGE = `<!doctype html>
<html><head><title>Analytical Engines — mechanical computation</title>
<meta name="description" content="Analytical Engines builds calculating machines for number tables.">
</head><body>
<h1>Mechanical computation for number tables</h1>
<p>Manual tabulation is slow and error-prone for growing observatories. Mechanical computation cuts errors.</p>
<p>Our engines run in four observatories. Mechanical computation pays back in a year.</p>
<p>We are hiring engineers for our new workshop in London.</p>
</body></html>`;

let server;
let receiver;
let user;

const bundleFor = (extra = {}) => ({
  authData: { base_url: server.base, api_key: user.key },
  ...extra,
});

describe('the aiclone Zapier app against a real server', () => {
  before(async () => {
    server = await startServer();
    receiver = await startReceiver();
    user = await userWithKey(server, 'zapier-user@example.com', SCOPES);
    receiver.page('/research/analytical', RESEARCH_PAGE);
  });

  after(async () => {
    await receiver?.close();
    await server?.stop();
  });

  describe('authentication', () => {
    test('the test call returns the key owner and the label is their email', async () => {
      const me = await appTester(App.authentication.test, bundleFor());
      assert.equal(me.email, user.email);
      const label = await appTester(App.authentication.connectionLabel, bundleFor({ inputData: me }));
      assert.equal(label, user.email);
    });

    test('a wrong key is an expired connection, with the server\'s problem in the message', async () => {
      const bundle = { authData: { base_url: server.base, api_key: `${user.key.slice(0, -4)}xxxx` } };
      await assert.rejects(appTester(App.authentication.test, bundle), (error) => {
        assert.equal(error.name, 'ExpiredAuthError');
        assert.match(error.message, /refused the API key/);
        return true;
      });
    });

    test('a connection without an address says so', async () => {
      const bundle = { authData: { base_url: '', api_key: user.key } };
      await assert.rejects(appTester(App.authentication.test, bundle), /no aiclone address/);
    });

    test('a revoked key stops working', async () => {
      const spare = await server.api.ok('POST', '/api/api-keys', {
        token: user.token,
        json: { name: 'spare', scopes: ['prospects:read'] },
      });
      const bundle = { authData: { base_url: server.base, api_key: spare.key } };
      assert.equal((await appTester(App.authentication.test, bundle)).email, user.email);
      await server.api.ok('DELETE', `/api/api-keys/${spare.id}`, { token: user.token });
      await assert.rejects(appTester(App.authentication.test, bundle), { name: 'ExpiredAuthError' });
    });
  });

  // Subscribes `triggerKey`, runs `change`, waits for `count` hooks, returns the bodies and the
  // subscription; the caller unsubscribes.
  async function subscribed(triggerKey, change, count = 1) {
    const path = `/hooks/${triggerKey}`;
    const subscribeData = await appTester(
      App.triggers[triggerKey].operation.performSubscribe,
      bundleFor({ targetUrl: receiver.url(path) }),
    );
    assert.ok(subscribeData.id, `the subscription has an id: ${JSON.stringify(subscribeData)}`);
    const context = await change();
    const bodies = await receiver.waitForBodies(path, count, `${count} ${triggerKey} hook(s)`, HOOK_TIMEOUT_MS);
    return { subscribeData, bodies, context, path };
  }

  async function unsubscribe(triggerKey, subscribeData) {
    const bundle = bundleFor({ subscribeData });
    assert.deepEqual(await appTester(App.triggers[triggerKey].operation.performUnsubscribe, bundle), {});
    // The subscription is gone on the server: unsubscribing again finds nothing and still succeeds.
    const again = await server.api.call('DELETE', `/api/hooks/subscriptions/${subscribeData.id}`, { token: user.token });
    assert.equal(again.status, 404);
    assert.deepEqual(await appTester(App.triggers[triggerKey].operation.performUnsubscribe, bundle), {});
  }

  const perform = (triggerKey, body) =>
    appTester(App.triggers[triggerKey].operation.perform, bundleFor({ cleanedRequest: body }));
  const performList = (triggerKey) => appTester(App.triggers[triggerKey].operation.performList, bundleFor());

  // The polled items carry the fields the hook sends: same keys, same values.
  function assertSameFields(listed, hooked) {
    assert.deepEqual(Object.keys(listed).sort(), Object.keys(hooked).sort());
    assert.deepEqual(listed, hooked);
  }

  const createProspect = (inputData) => appTester(App.creates.create_prospect.operation.perform, bundleFor({ inputData }));

  describe('triggers', () => {
    test('new prospect: hook, perform, performList, unsubscribe', async () => {
      const { subscribeData, bodies, context } = await subscribed('new_prospect', () =>
        createProspect({ name: 'Hook Prospect', email: 'hook@example.com', company: 'Hooks Ltd' }),
      );
      const items = await perform('new_prospect', bodies[0]);
      assert.equal(items.length, 1);
      assert.equal(items[0].id, context.id);
      assert.equal(items[0].email, 'hook@example.com');
      assert.equal(items[0].company, 'Hooks Ltd');
      for (const key of Object.keys(App.triggers.new_prospect.operation.sample)) {
        assert.ok(key in items[0], `the hook item has the sample's field ${key}`);
      }

      await createProspect({ name: 'Later Prospect' });
      const listed = await performList('new_prospect');
      assert.equal(listed[0].name, 'Later Prospect', 'newest first');
      assertSameFields(listed.find((item) => item.id === context.id), items[0]);
      await unsubscribe('new_prospect', subscribeData);
    });

    test('prospect status changed: a status change triggers, another edit does not', async () => {
      const prospect = await createProspect({ name: 'Status Prospect' });
      const { subscribeData, bodies } = await subscribed(
        'prospect_status_changed',
        async () => {
          await server.api.ok('PATCH', `/api/prospects/${prospect.id}`, { token: user.token, json: { company: 'Edited Co' } });
          await appTester(
            App.creates.update_prospect_status.operation.perform,
            bundleFor({ inputData: { prospect_id: prospect.id, status: 'approved' } }),
          );
        },
        2,
      );
      assert.deepEqual(await perform('prospect_status_changed', bodies[0]), [], 'an edit of the company is not a status change');
      const [item] = await perform('prospect_status_changed', bodies[1]);
      assert.equal(item.id, prospect.id);
      assert.equal(item.approval_status, 'approved');
      assert.equal(item.reason, 'approved');
      assert.ok(item.changes.includes('approval_status'));

      const listed = await performList('prospect_status_changed');
      assert.ok(listed.length >= 1);
      assert.ok(listed.every((entry) => entry.changes.includes('approval_status')));
      assertSameFields(listed[0], item);
      await unsubscribe('prospect_status_changed', subscribeData);
    });

    test('research completed: a task started by the action finishes and its insight arrives', async () => {
      const { subscribeData, bodies, context } = await subscribed('research_completed', () =>
        appTester(
          App.creates.start_research.operation.perform,
          bundleFor({
            inputData: {
              title: 'Research Analytical Engines',
              source_type: 'urls',
              input_source: receiver.url('/research/analytical'),
              priority: 'high',
            },
          }),
        ),
      );
      assert.equal(context.status, 'queued');
      const [item] = await perform('research_completed', bodies[0]);
      assert.equal(item.task_id, context.id);
      assert.equal(item.id, context.id);
      assert.equal(item.title, 'Research Analytical Engines');
      assert.equal(typeof item.insight.summary, 'string');
      assert.ok(item.insight.summary.length > 0);
      const listed = await performList('research_completed');
      assertSameFields(listed[0], item);
      await unsubscribe('research_completed', subscribeData);
    });

    test('outreach sent: a draft made by the action, sent through the API', async () => {
      const prospect = await createProspect({ name: 'Outreach Prospect', email: 'outreach@example.com' });
      const { subscribeData, bodies, context } = await subscribed('outreach_sent', async () => {
        const draft = await appTester(
          App.creates.create_outreach_draft.operation.perform,
          bundleFor({ inputData: { prospect_id: prospect.id, subject: 'Hello', body: 'Hello there.' } }),
        );
        await server.api.ok('POST', `/api/outreach/${draft.id}/send`, { token: user.token });
        return draft;
      });
      const [item] = await perform('outreach_sent', bodies[0]);
      assert.equal(item.id, context.id);
      assert.equal(item.status, 'sent');
      assert.equal(item.prospect.email, 'outreach@example.com');
      const listed = await performList('outreach_sent');
      assertSameFields(listed[0], item);
      await unsubscribe('outreach_sent', subscribeData);
    });

    test('content published', async () => {
      const { subscribeData, bodies, context } = await subscribed('content_published', async () => {
        const piece = await server.api.ok('POST', '/api/content', {
          token: user.token,
          json: { title: 'Ten lessons', body: 'One: measure twice.', channel: 'blog' },
        });
        await server.api.ok('POST', `/api/content/${piece.id}/publish`, { token: user.token });
        return piece;
      });
      const [item] = await perform('content_published', bodies[0]);
      assert.equal(item.id, context.id);
      assert.equal(item.status, 'published');
      const listed = await performList('content_published');
      assertSameFields(listed[0], item);
      await unsubscribe('content_published', subscribeData);
    });

    test('automation triggered: a manual run of a rule', async () => {
      const prospect = await createProspect({ name: 'Automation Prospect' });
      const { subscribeData, bodies, context } = await subscribed('automation_triggered', async () => {
        const rule = await server.api.ok('POST', '/api/automations', {
          token: user.token,
          json: { name: 'Tag it', trigger_event: 'prospect_added', action: { type: 'tag_prospect', add: ['zapier'] } },
        });
        const run = await server.api.ok('POST', `/api/automations/${rule.id}/trigger`, {
          token: user.token,
          json: { data: { prospect_id: prospect.id } },
        });
        assert.equal(run.status, 'ok', JSON.stringify(run));
        return rule;
      });
      const [item] = await perform('automation_triggered', bodies[0]);
      assert.equal(item.automation_id, context.id);
      assert.equal(item.automation_name, 'Tag it');
      assert.equal(item.manual, true);
      assert.ok(item.id, 'the item has an id');
      const listed = await performList('automation_triggered');
      assertSameFields(listed[0], item);
      await unsubscribe('automation_triggered', subscribeData);
    });
  });

  describe('actions and search', () => {
    test('create prospect, with its fields typed and empty ones left out', async () => {
      const created = await createProspect({
        name: 'Grace Hopper',
        email: 'Grace@Example.com',
        company: 'Navy',
        fit_score: '77',
        tags: ['cobol', 'compilers'],
        phone: '',
        notes: undefined,
      });
      const stored = await server.api.ok('GET', `/api/prospects/${created.id}`, { token: user.token });
      assert.equal(stored.name, 'Grace Hopper');
      assert.equal(stored.fit_score, 77);
      assert.deepEqual(stored.tags, ['cobol', 'compilers']);
      assert.equal(stored.phone, null);
    });

    test('a duplicate email is refused with the server\'s problem', async () => {
      await createProspect({ name: 'First', email: 'dup@example.com' });
      await assert.rejects(createProspect({ name: 'Second', email: 'DUP@example.com' }), (error) => {
        const detail = JSON.parse(error.message);
        assert.equal(detail.status, 409);
        assert.match(String(detail.code), /conflict/);
        return true;
      });
    });

    test('a field error names the field', async () => {
      await assert.rejects(createProspect({ name: 'Bad site', website: 'not a url' }), (error) => {
        const detail = JSON.parse(error.message);
        assert.equal(detail.status, 422);
        assert.match(detail.message, /website/);
        return true;
      });
    });

    test('update prospect status', async () => {
      const prospect = await createProspect({ name: 'To Reject' });
      const updated = await appTester(
        App.creates.update_prospect_status.operation.perform,
        bundleFor({ inputData: { prospect_id: prospect.id, status: 'rejected' } }),
      );
      assert.equal(updated.approval_status, 'rejected');
      const stored = await server.api.ok('GET', `/api/prospects/${prospect.id}`, { token: user.token });
      assert.equal(stored.approval_status, 'rejected');
    });

    test('start a research task attached to a prospect', async () => {
      const prospect = await createProspect({ name: 'Researched' });
      const task = await appTester(
        App.creates.start_research.operation.perform,
        bundleFor({
          inputData: { title: 'Profile research', source_type: 'profile', input_source: 'CTO at a retailer', prospect_id: prospect.id, engine: '' },
        }),
      );
      const stored = await server.api.ok('GET', `/api/research-tasks/${task.id}`, { token: user.token });
      assert.equal(stored.prospect_id, prospect.id);
      assert.equal(stored.source_type, 'profile');
      assert.equal(stored.engine, 'web');
    });

    test('create an outreach draft', async () => {
      const prospect = await createProspect({ name: 'Drafted' });
      const draft = await appTester(
        App.creates.create_outreach_draft.operation.perform,
        bundleFor({ inputData: { prospect_id: prospect.id, channel: 'linkedin', body: 'Hi!' } }),
      );
      const stored = await server.api.ok('GET', `/api/outreach/${draft.id}`, { token: user.token });
      assert.equal(stored.status, 'draft');
      assert.equal(stored.channel, 'linkedin');
      assert.equal(stored.body, 'Hi!');
    });

    test('find prospect by email: exact, any case; a substring is not a match', async () => {
      const wanted = await createProspect({ name: 'Findable', email: 'find.me@example.com' });
      await createProspect({ name: 'Near miss', email: 'xfind.me@example.com.au' });
      const search = (email) => appTester(App.searches.find_prospect.operation.perform, bundleFor({ inputData: { email } }));
      const found = await search('FIND.ME@example.com');
      assert.equal(found.length, 1);
      assert.equal(found[0].id, wanted.id);
      assert.deepEqual(await search('find.me@example'), []);
      assert.deepEqual(await search('nobody@example.com'), []);
    });

    test('another user\'s prospect is not found', async () => {
      const other = await userWithKey(server, 'other@example.com', ['prospects:read', 'prospects:write']);
      await appTester(App.creates.create_prospect.operation.perform, {
        authData: { base_url: server.base, api_key: other.key },
        inputData: { name: 'Private', email: 'private@example.com' },
      });
      const found = await appTester(App.searches.find_prospect.operation.perform, bundleFor({ inputData: { email: 'private@example.com' } }));
      assert.deepEqual(found, []);
    });
  });
});
