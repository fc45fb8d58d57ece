'use strict';
const { hookTrigger } = require('./hooks');
const { apiUrl } = require('./http');
const samples = require('./samples');
const fields = require('./fields');

// `prospect_updated` is sent for every edit; this trigger is about the status moving.
const statusChanged = (item) => Array.isArray(item.changes) && item.changes.includes('approval_status');

const triggers = [
  hookTrigger({
    key: 'new_prospect',
    event: 'prospect_added',
    noun: 'Prospect',
    label: 'New Prospect',
    description: 'Triggers when a prospect is added.',
    sample: samples.newProspect,
    outputFields: fields.newProspect,
  }),
  hookTrigger({
    key: 'prospect_updated',
    event: 'prospect_updated',
    noun: 'Prospect',
    label: 'Prospect Status Changed',
    description: 'Triggers when a prospect is approved, rejected or put back to pending.',
    keep: statusChanged,
    sample: samples.prospectUpdated,
    outputFields: fields.prospectUpdated,
  }),
  hookTrigger({
    key: 'research_completed',
    event: 'research_completed',
    noun: 'Research',
    label: 'Research Completed',
    description: 'Triggers when a research task finishes with an insight.',
    sample: samples.researchCompleted,
    outputFields: fields.researchCompleted,
  }),
  hookTrigger({
    key: 'outreach_sent',
    event: 'outreach_sent',
    noun: 'Outreach Message',
    label: 'Outreach Sent',
    description: 'Triggers when an outreach message is recorded as sent.',
    sample: samples.outreachSent,
    outputFields: fields.outreachSent,
  }),
  hookTrigger({
    key: 'content_published',
    event: 'content_published',
    noun: 'Content',
    label: 'Content Published',
    description: 'Triggers when a piece of content is published.',
    sample: samples.contentPublished,
    outputFields: fields.contentPublished,
  }),
  hookTrigger({
    key: 'automation_triggered',
    event: 'automation_triggered',
    noun: 'Automation Run',
    label: 'Automation Triggered',
    description: 'Triggers when one of your aiclone automations runs its action.',
    sample: samples.automationTriggered,
    outputFields: fields.automationTriggered,
  }),
];

// A hidden polling trigger behind the prospect dropdowns of the actions: the prospects
// themselves (newest first), a page at a time through the list's keyset cursor.
const prospectChoices = {
  key: 'prospect_choices',
  noun: 'Prospect',
  display: { label: 'Prospects', description: 'Lists prospects for dropdowns.', hidden: true },
  operation: {
    type: 'polling',
    canPaginate: true,
    perform: async (z, bundle) => {
      const cursor = bundle.meta && bundle.meta.page ? await z.cursor.get() : undefined;
      const response = await z.request({
        url: apiUrl(bundle, '/api/prospects'),
        params: cursor ? { limit: 100, cursor } : { limit: 100 },
      });
      const page = response.data || {};
      if (page.next_cursor) await z.cursor.set(page.next_cursor);
      return page.items || [];
    },
    sample: samples.prospect,
    outputFields: fields.prospect,
  },
};
triggers.push(prospectChoices);

module.exports = Object.fromEntries(triggers.map((trigger) => [trigger.key, trigger]));
