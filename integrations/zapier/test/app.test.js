'use strict';
// The app under `createAppTester` against a real aiclone on 127.0.0.1: connect with an API key,
// subscribe each trigger, change something through the API, receive the hook on a local
// receiver (standing in for Zapier), run the trigger's perform on the received body, compare
// with performList, unsubscribe; then every action and the search.
const { before, after, describe, test } = require('node:test');
const assert = require('node:assert/strict');
const zapier = require('zapier-platform-core');
const App = require('../index');
const { startServer, startReceiver, userWithKey, waitFor } = require('./support');

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

    test('a key without a scope gets the server\'s 403 naming it', async () => {
      const narrow = await server.api.ok('POST', '/api/api-keys', {
        token: user.token,
        json: { name: 'read only', scopes: ['prospects:read'] },
      });
      const bundle = {
        authData: { base_url: server.base, api_key: narrow.key },
        targetUrl: receiver.url('/hooks/never'),
      };
      await assert.rejects(appTester(App.triggers.new_prospect.operation.performSubscribe, bundle), (error) => {
        const detail = JSON.parse(error.message);
        assert.equal(detail.status, 403);
        assert.match(detail.message, /webhooks:write/);
        return true;
      });
      assert.deepEqual(receiver.bodies('/hooks/never'), []);
    });

    test('the key is never sent in clear text to another machine', async () => {
      for (const base_url of ['http://aiclone.example.com', 'ftp://aiclone.example.com', 'not an address']) {
        const bundle = { authData: { base_url, api_key: user.key } };
        await assert.rejects(appTester(App.authentication.test, bundle), /invalid_base_url/, base_url);
      }
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
    // It is a webhook endpoint of the zapier flavour, visible to its owner.
    const endpoint = await server.api.ok('GET', `/api/webhooks/${subscribeData.id}`, { token: user.token });
    assert.equal(endpoint.flavour, 'zapier');
    assert.equal(endpoint.url, receiver.url(path));
    const context = await change();
    const bodies = await receiver.waitForBodies(path, count, `${count} ${triggerKey} hook(s)`, HOOK_TIMEOUT_MS);
    return { subscribeData, bodies, context, path };
  }

  async function unsubscribe(triggerKey, subscribeData) {
    const bundle = bundleFor({ subscribeData });
    assert.deepEqual(await appTester(App.triggers[triggerKey].operation.performUnsubscribe, bundle), {});
    const gone = await server.api.call('GET', `/api/webhooks/${subscribeData.id}`, { token: user.token });
    assert.equal(gone.status, 404, 'the subscription is gone on the server');
    // Turning a Zap off twice (or after the server dropped it) still succeeds.
    assert.deepEqual(await appTester(App.triggers[triggerKey].operation.performUnsubscribe, bundle), {});
  }

  const perform = (triggerKey, body) =>
    appTester(App.triggers[triggerKey].operation.perform, bundleFor({ cleanedRequest: body }));
  const performList = (triggerKey) => appTester(App.triggers[triggerKey].operation.performList, bundleFor());

  // One item of a trigger, checked against the contract: an event id, the event's type, and
  // exactly the fields of the trigger's sample (so the Zap editor's sample is honest).
  function assertItem(triggerKey, item, type) {
    assert.match(item.id, /^evt_\d+$/);
    assert.equal(item.type, type);
    assert.equal(typeof item.seq, 'number');
    assert.ok(!Number.isNaN(Date.parse(item.occurred_at)), item.occurred_at);
    assert.equal(item.user_id, undefined, 'no user_id in an item');
    assert.deepEqual(Object.keys(item).sort(), Object.keys(App.triggers[triggerKey].operation.sample).sort());
  }

  // performList answers newest first, each item exactly as the hook sent it.
  async function assertListed(triggerKey, item) {
    const listed = await performList(triggerKey);
    assert.ok(listed.length >= 1, `${triggerKey} lists something`);
    for (let i = 1; i < listed.length; i++) assert.ok(listed[i - 1].seq > listed[i].seq, 'newest first');
    assert.deepEqual(listed.find((entry) => entry.id === item.id), item);
    return listed;
  }

  const createProspect = (inputData) => appTester(App.creates.create_prospect.operation.perform, bundleFor({ inputData }));

  describe('triggers', () => {
    test('new prospect: subscribe, hook, perform, performList, unsubscribe', async () => {
      const { subscribeData, bodies, context } = await subscribed('new_prospect', () =>
        createProspect({ name: 'Hook Prospect', email: 'hook@example.com', company: 'Hooks Ltd' }),
      );
      const items = await perform('new_prospect', bodies[0]);
      assert.equal(items.length, 1);
      const [item] = items;
      assertItem('new_prospect', item, 'prospect_added');
      assert.equal(item.prospect_id, context.id);
      assert.equal(item.email, 'hook@example.com');
      assert.equal(item.company, 'Hooks Ltd');

      const later = await createProspect({ name: 'Later Prospect' });
      const listed = await assertListed('new_prospect', item);
      assert.equal(listed[0].prospect_id, later.id, 'the newest prospect comes first');
      await unsubscribe('new_prospect', subscribeData);
    });

    test('a 410 from the target drops the subscription; unsubscribing afterwards still succeeds', async () => {
      const path = '/hooks/gone';
      receiver.answer(path, 410);
      const subscribeData = await appTester(
        App.triggers.new_prospect.operation.performSubscribe,
        bundleFor({ targetUrl: receiver.url(path) }),
      );
      await createProspect({ name: 'Nobody listens' });
      await receiver.waitForBodies(path, 1, 'the hook answered 410', HOOK_TIMEOUT_MS);
      await waitFor(
        async () => (await server.api.call('GET', `/api/webhooks/${subscribeData.id}`, { token: user.token })).status === 404,
        'the subscription to be dropped after the 410',
      );
      assert.deepEqual(
        await appTester(App.triggers.new_prospect.operation.performUnsubscribe, bundleFor({ subscribeData })),
        {},
      );
    });

    test('prospect status changed: a status change triggers, another edit does not', async () => {
      const prospect = await createProspect({ name: 'Status Prospect' });
      const { subscribeData, bodies } = await subscribed(
        'prospect_updated',
        async () => {
          await server.api.ok('PATCH', `/api/prospects/${prospect.id}`, { token: user.token, json: { company: 'Edited Co' } });
          await appTester(
            App.creates.update_prospect_status.operation.perform,
            bundleFor({ inputData: { prospect_id: prospect.id, status: 'approved' } }),
          );
        },
        2,
      );
      assert.deepEqual(await perform('prospect_updated', bodies[0]), [], 'an edit of the company is not a status change');
      const [item] = await perform('prospect_updated', bodies[1]);
      assertItem('prospect_updated', item, 'prospect_updated');
      assert.equal(item.prospect_id, prospect.id);
      assert.equal(item.approval_status, 'approved');
      assert.equal(item.reason, 'approved');
      assert.ok(item.changes.includes('approval_status'));

      const listed = await assertListed('prospect_updated', item);
      assert.ok(listed.every((entry) => entry.changes.includes('approval_status')), 'the list has status changes only');
      await unsubscribe('prospect_updated', subscribeData);
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
      assertItem('research_completed', item, 'research_completed');
      assert.equal(item.task_id, context.id);
      assert.equal(item.title, 'Research Analytical Engines');
      assert.equal(typeof item.insight.summary, 'string');
      assert.ok(item.insight.summary.length > 0);
      await assertListed('research_completed', item);
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
      assertItem('outreach_sent', item, 'outreach_sent');
      assert.equal(item.outreach_id, context.id);
      assert.equal(item.prospect_id, prospect.id);
      assert.equal(item.status, 'sent');
      assert.equal(item.prospect.email, 'outreach@example.com');
      await assertListed('outreach_sent', item);
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
      assertItem('content_published', item, 'content_published');
      assert.equal(item.content_id, context.id);
      assert.equal(item.status, 'published');
      await assertListed('content_published', item);
      await unsubscribe('content_published', subscribeData);
    });

    test('automation triggered: a manual run of a rule', async () => {
      const prospect = await createProspect({ name: 'Automation Prospect' });
      const { subscribeData, bodies, context } = await subscribed('automation_triggered', async () => {
        const rule = await server.api.ok('POST', '/api/automations', {
          token: user.token,
          // Paused, so it tags no later prospect; a manual run works all the same.
          json: { name: 'Tag it', trigger_event: 'prospect_added', action: { type: 'tag_prospect', add: ['zapier'] }, enabled: false },
        });
        const run = await server.api.ok('POST', `/api/automations/${rule.id}/trigger`, {
          token: user.token,
          json: { data: { prospect_id: prospect.id } },
        });
        assert.equal(run.status, 'ok', JSON.stringify(run));
        return rule;
      });
      const [item] = await perform('automation_triggered', bodies[0]);
      assertItem('automation_triggered', item, 'automation_triggered');
      assert.equal(item.automation_id, context.id);
      assert.equal(item.automation_name, 'Tag it');
      assert.equal(item.manual, true);
      await assertListed('automation_triggered', item);
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
          inputData: { title: 'Site research', source_type: 'urls', input_source: 'http://127.0.0.1:9/about', prospect_id: prospect.id, engine: '' },
        }),
      );
      const stored = await server.api.ok('GET', `/api/research-tasks/${task.id}`, { token: user.token });
      assert.equal(stored.prospect_id, prospect.id);
      assert.equal(stored.source_type, 'urls');
      assert.equal(stored.engine, 'web');
      // An input no configured engine can research is refused at once, with the reason.
      await assert.rejects(
        appTester(
          App.creates.start_research.operation.perform,
          bundleFor({ inputData: { title: 'Profile research', source_type: 'profile', input_source: 'CTO at a retailer' } }),
        ),
        /cannot research profile input/,
      );
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

    test('the prospect dropdown lists the user\'s prospects, newest first', async () => {
      const newest = await createProspect({ name: 'Dropdown Prospect' });
      const choices = await appTester(App.triggers.prospect_choices.operation.perform, bundleFor({ meta: { page: 0 } }));
      assert.equal(choices[0].id, newest.id);
      assert.equal(choices[0].name, 'Dropdown Prospect');
      assert.ok(choices.every((choice) => choice.user_id === newest.user_id));
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
