'use strict';
// Output fields: labels for the fields a Zap's later steps most often map. Actions return the
// resource (its id is `id`); trigger items are events (their `id` is the event's, the
// resource's id is `<resource>_id`).
const prospectFields = [
  { key: 'name', label: 'Name' },
  { key: 'email', label: 'Email' },
  { key: 'company', label: 'Company' },
  { key: 'job_title', label: 'Job title' },
  { key: 'phone', label: 'Phone' },
  { key: 'website', label: 'Website' },
  { key: 'linkedin', label: 'LinkedIn' },
  { key: 'approval_status', label: 'Status' },
  { key: 'fit_score', label: 'Fit score', type: 'integer' },
  { key: 'tags[]', label: 'Tags' },
  { key: 'created_at', label: 'Created at', type: 'datetime' },
  { key: 'updated_at', label: 'Updated at', type: 'datetime' },
];

const outreachFields = [
  { key: 'prospect_id', label: 'Prospect ID' },
  { key: 'channel', label: 'Channel' },
  { key: 'subject', label: 'Subject' },
  { key: 'body', label: 'Body' },
  { key: 'status', label: 'Status' },
  { key: 'sent_at', label: 'Sent at', type: 'datetime' },
];

const event = [
  { key: 'id', label: 'Event ID' },
  { key: 'type', label: 'Event type' },
  { key: 'occurred_at', label: 'Occurred at', type: 'datetime' },
];

module.exports = {
  prospect: [{ key: 'id', label: 'Prospect ID' }, ...prospectFields],
  outreach: [{ key: 'id', label: 'Message ID' }, ...outreachFields],
  researchTask: [
    { key: 'id', label: 'Research task ID' },
    { key: 'title', label: 'Title' },
    { key: 'status', label: 'Status' },
    { key: 'source_type', label: 'Source type' },
    { key: 'input_source', label: 'Input' },
    { key: 'prospect_id', label: 'Prospect ID' },
  ],
  newProspect: [...event, { key: 'prospect_id', label: 'Prospect ID' }, ...prospectFields],
  prospectUpdated: [
    ...event,
    { key: 'prospect_id', label: 'Prospect ID' },
    ...prospectFields,
    { key: 'reason', label: 'Reason' },
    { key: 'changes[]', label: 'Changed fields' },
  ],
  researchCompleted: [
    ...event,
    { key: 'task_id', label: 'Research task ID' },
    { key: 'title', label: 'Title' },
    { key: 'prospect_id', label: 'Prospect ID' },
    { key: 'insight__summary', label: 'Summary' },
    { key: 'insight__suggested_outreach', label: 'Suggested outreach' },
  ],
  outreachSent: [
    ...event,
    { key: 'outreach_id', label: 'Message ID' },
    ...outreachFields,
    { key: 'prospect__name', label: 'Prospect name' },
    { key: 'prospect__email', label: 'Prospect email' },
  ],
  contentPublished: [
    ...event,
    { key: 'content_id', label: 'Content ID' },
    { key: 'title', label: 'Title' },
    { key: 'body', label: 'Body' },
    { key: 'channel', label: 'Channel' },
    { key: 'tags[]', label: 'Tags' },
    { key: 'published_at', label: 'Published at', type: 'datetime' },
  ],
  automationTriggered: [
    ...event,
    { key: 'automation_id', label: 'Automation ID' },
    { key: 'automation_name', label: 'Automation' },
    { key: 'action', label: 'Action' },
    { key: 'summary', label: 'Summary' },
    { key: 'trigger_event', label: 'Trigger event' },
    { key: 'manual', label: 'Run by hand', type: 'boolean' },
  ],
};
