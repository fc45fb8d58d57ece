'use strict';
// Sample data for the Zap editor, in the shapes the server sends. A trigger's item is flat:
// `id` (`evt_<seq>`), `seq`, `type`, `occurred_at`, then the resource's fields with its own id
// as `<resource>_id` and without `user_id`. Actions return the resource as the API does.
const PROSPECT = '0b7e2c1a-5d3f-4c8e-9a61-2f4d8b9c0e11';
const USER = '6f1d2e3c-4b5a-4978-8e6d-5c4b3a291807';
const TASK = '2c9a7e41-8b3d-4f6a-b1c2-9d8e7f6a5b40';
const MESSAGE = '7d4c3b2a-1e0f-4a9b-8c7d-6e5f4a3b2c1d';
const CONTENT = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b';
const AUTOMATION = '3a2b1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d';
const AT = '2026-01-15T09:30:00Z';

const prospect = {
  id: PROSPECT,
  user_id: USER,
  name: 'Ada Lovelace',
  email: 'ada@analytical.example',
  phone: '+44 20 7946 0000',
  job_title: 'Head of Engineering',
  company: 'Analytical Engines',
  website: 'https://analytical.example',
  linkedin: 'https://www.linkedin.com/in/ada-lovelace',
  discovery_source: 'conference',
  approval_status: 'pending',
  fit_score: 82,
  referral_capacity: 40,
  signal_strength: 65,
  best_outreach_angle: 'Automating the tabulation of Bernoulli numbers',
  scoring_reasoning: 'Leads a growing engineering team; public interest in automation.',
  tags: ['conference', 'hot'],
  notes: null,
  drafts_generated: 0,
  emails_sent: 0,
  meetings_booked: 0,
  last_contacted: null,
  created_at: AT,
  updated_at: AT,
};

const outreachMessage = {
  id: MESSAGE,
  user_id: USER,
  prospect_id: PROSPECT,
  channel: 'email',
  subject: 'Automating your number tables',
  body: 'Hello Ada, ...',
  status: 'draft',
  sent_at: null,
  meeting_booked: false,
  meeting_booked_at: null,
  created_at: AT,
  updated_at: AT,
};

const researchTask = {
  id: TASK,
  user_id: USER,
  title: 'Research Analytical Engines',
  input_source: 'https://analytical.example',
  source_type: 'urls',
  engine: 'web',
  priority: 'medium',
  prospect_id: PROSPECT,
  status: 'queued',
  progress: 0,
  attempts: 0,
  started_at: null,
  completed_at: null,
  error: null,
  insight: null,
  created_at: AT,
};

// The trigger item for an event whose data is `data` (see the module comment).
function item(seq, type, occurredAt, resource, data) {
  const out = { id: `evt_${seq}`, seq, type, occurred_at: occurredAt };
  for (const [key, value] of Object.entries(data)) {
    if (key === 'user_id') continue;
    out[key === 'id' ? `${resource}_id` : key] = value;
  }
  return out;
}

const newProspect = item(41, 'prospect_added', AT, 'prospect', prospect);

const prospectUpdated = item(43, 'prospect_updated', '2026-01-15T10:00:00Z', 'prospect', {
  ...prospect,
  approval_status: 'approved',
  updated_at: '2026-01-15T10:00:00Z',
  changes: ['approval_status'],
  reason: 'approved',
  outreach_id: null,
});

const researchCompleted = item(45, 'research_completed', '2026-01-15T10:05:00Z', 'task', {
  task_id: TASK,
  title: 'Research Analytical Engines',
  prospect_id: PROSPECT,
  insight: {
    summary: 'Analytical Engines is expanding into mechanical computation.',
    key_findings: ['Opened a second workshop in 2025'],
    pain_points: ['Manual tabulation is slow'],
    opportunities: ['Automate the number tables'],
    suggested_outreach: 'Offer a short call about automating their tables.',
    sources: [{ url: 'https://analytical.example', title: 'Analytical Engines', status: 'ok' }],
  },
});

const outreachSent = item(47, 'outreach_sent', '2026-01-15T11:00:00Z', 'outreach', {
  ...outreachMessage,
  status: 'sent',
  sent_at: '2026-01-15T11:00:00Z',
  updated_at: '2026-01-15T11:00:00Z',
  prospect: { ...prospect, emails_sent: 1, last_contacted: '2026-01-15T11:00:00Z' },
});

const contentPublished = item(49, 'content_published', '2026-01-15T12:00:00Z', 'content', {
  id: CONTENT,
  user_id: USER,
  title: 'Ten lessons from the Difference Engine',
  body: 'One: measure twice...',
  channel: 'blog',
  tags: ['engineering'],
  status: 'published',
  published_at: '2026-01-15T12:00:00Z',
  created_at: AT,
  updated_at: '2026-01-15T12:00:00Z',
});

const automationTriggered = item(51, 'automation_triggered', '2026-01-15T12:30:00Z', 'automation', {
  automation_id: AUTOMATION,
  automation_name: 'Tag strong fits',
  action: 'tag_prospect',
  summary: 'Tagged Ada Lovelace: +hot',
  trigger_event: 'prospect_added',
  trigger_seq: 41,
  manual: false,
  result: { prospect_id: PROSPECT, added: ['hot'], removed: [] },
});

module.exports = {
  prospect,
  outreachMessage,
  researchTask,
  newProspect,
  prospectUpdated,
  researchCompleted,
  outreachSent,
  contentPublished,
  automationTriggered,
};
