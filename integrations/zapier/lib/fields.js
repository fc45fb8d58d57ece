'use strict';
// Output fields: labels for the fields a Zap's later steps most often map.
const prospect = [
  { key: 'id', label: 'Prospect ID' },
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

const prospectUpdated = [
  ...prospect,
  { key: 'reason', label: 'Reason' },
  { key: 'changes[]', label: 'Changed fields' },
];

const researchCompleted = [
  { key: 'task_id', label: 'Research task ID' },
  { key: 'title', label: 'Title' },
  { key: 'prospect_id', label: 'Prospect ID' },
  { key: 'insight__summary', label: 'Summary' },
  { key: 'insight__suggested_outreach', label: 'Suggested outreach' },
];

const outreach = [
  { key: 'id', label: 'Message ID' },
  { key: 'prospect_id', label: 'Prospect ID' },
  { key: 'channel', label: 'Channel' },
  { key: 'subject', label: 'Subject' },
  { key: 'body', label: 'Body' },
  { key: 'status', label: 'Status' },
  { key: 'sent_at', label: 'Sent at', type: 'datetime' },
];

const outreachSent = [...outreach, { key: 'prospect__name', label: 'Prospect name' }, { key: 'prospect__email', label: 'Prospect email' }];

const content = [
  { key: 'id', label: 'Content ID' },
  { key: 'title', label: 'Title' },
  { key: 'body', label: 'Body' },
  { key: 'channel', label: 'Channel' },
  { key: 'tags[]', label: 'Tags' },
  { key: 'published_at', label: 'Published at', type: 'datetime' },
];

const automationTriggered = [
  { key: 'automation_id', label: 'Automation ID' },
  { key: 'automation_name', label: 'Automation' },
  { key: 'action', label: 'Action' },
  { key: 'summary', label: 'Summary' },
  { key: 'trigger_event', label: 'Trigger event' },
  { key: 'manual', label: 'Run by hand', type: 'boolean' },
];

const researchTask = [
  { key: 'id', label: 'Research task ID' },
  { key: 'title', label: 'Title' },
  { key: 'status', label: 'Status' },
  { key: 'source_type', label: 'Source type' },
  { key: 'input_source', label: 'Input' },
  { key: 'prospect_id', label: 'Prospect ID' },
];

module.exports = { prospect, prospectUpdated, researchCompleted, outreach, outreachSent, content, automationTriggered, researchTask };
