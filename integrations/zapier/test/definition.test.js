'use strict';
// The app definition is valid for the platform: the core's own `validate` command and the
// schema package's validator on the serialised definition, which is what `zapier push` sends.
require('./loopback');
const { test } = require('node:test');
const assert = require('node:assert/strict');
const zapier = require('zapier-platform-core');
const { validateAppDefinition } = require('zapier-platform-schema');
const App = require('../index');

const handler = zapier.createAppHandler(App);

test('the core validates the app with no errors', async () => {
  const { results } = await handler({ command: 'validate' });
  assert.deepEqual(results.map((e) => e.stack), []);
});

test('the serialised definition is valid per zapier-platform-schema', async () => {
  const { results: definition } = await handler({ command: 'definition' });
  const { errors } = validateAppDefinition(definition);
  assert.deepEqual(errors.map((e) => e.stack), []);
  assert.equal(definition.authentication.type, 'custom');
  assert.deepEqual(Object.keys(definition.triggers).sort(), [
    'automation_triggered',
    'content_published',
    'new_prospect',
    'outreach_sent',
    'prospect_choices',
    'prospect_updated',
    'research_completed',
  ]);
  const hooks = Object.values(definition.triggers).filter((trigger) => !trigger.display.hidden);
  assert.equal(hooks.length, 6);
  for (const trigger of hooks) {
    assert.equal(trigger.operation.type, 'hook', trigger.key);
    for (const method of ['perform', 'performList', 'performSubscribe', 'performUnsubscribe']) {
      assert.ok(trigger.operation[method], `${trigger.key}.${method}`);
    }
    assert.equal(typeof trigger.operation.sample.id, 'string', `${trigger.key} sample has an id`);
  }
  assert.deepEqual(Object.keys(definition.creates).sort(), [
    'create_outreach_draft',
    'create_prospect',
    'start_research',
    'update_prospect_status',
  ]);
  assert.deepEqual(Object.keys(definition.searches), ['find_prospect']);
  for (const action of [...Object.values(definition.creates), ...Object.values(definition.searches)]) {
    assert.ok(action.operation.sample && action.operation.sample.id, `${action.key} has sample data`);
  }
});

test('the validator is not blind: a broken definition is refused', () => {
  const broken = { version: App.version, platformVersion: App.platformVersion };
  broken.triggers = { nope: { key: 'nope', noun: 'Nope', display: { label: 'Nope' }, operation: {} } };
  const { errors } = validateAppDefinition(broken);
  assert.ok(errors.length > 0);
});
