'use strict';
// Sample data for the Zap editor: the shapes the server sends, with plausible values.
const ID = '0b7e2c1a-5d3f-4c8e-9a61-2f4d8b9c0e11';
const USER = '6f1d2e3c-4b5a-4978-8e6d-5c4b3a291807';
const AT = '2026-01-15T09:30:00Z';

const prospect = {
  id: ID,
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

const prospectUpdated = {
  ...prospect,
  approval_status: 'approved',
  changes: ['approval_status'],
  reason: 'approved',
  outreach_id: null,
  updated_at: '2026-01-15T10:00:00Z',
};

const researchCompleted = {
  id: '2c9a7e41-8b3d-4f6a-b1c2-9d8e7f6a5b40',
  task_id: '2c9a7e41-8b3d-4f6a-b1c2-9d8e7f6a5b40',
  title: 'Research Analytical Engines',
  prospect_id: ID,
  insight: {
    summary: 'Analytical Engines is expanding into mechanical computation.',
    key_findings: ['Opened a second workshop in 2025'],
    pain_points: ['Manual tabulation is slow'],
    opportunities: ['Automate the number tables'],
    suggested_outreach: 'Offer a short call about automating their tables.',
    sources: [],
  },
};

const outreachMessage = {
  id: '7d4c3b2a-1e0f-4a9b-8c7d-6e5f4a3b2c1d',
  user_id: USER,
  prospect_id: ID,
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

const outreachSent = {
  ...outreachMessage,
  status: 'sent',
  sent_at: '2026-01-15T11:00:00Z',
  updated_at: '2026-01-15T11:00:00Z',
  prospect: { ...prospect, emails_sent: 1, last_contacted: '2026-01-15T11:00:00Z' },
};

const contentPublished = {
  id: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b',
  user_id: USER,
  title: 'Ten lessons from the Difference Engine',
  body: 'One: measure twice...',
  channel: 'blog',
  tags: ['engineering'],
  status: 'published',
  published_at: '2026-01-15T12:00:00Z',
  created_at: AT,
  updated_at: '2026-01-15T12:00:00Z',
};

const automationTriggered = {
  id: '3a2b1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d:42',
  automation_id: '3a2b1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d',
  automation_name: 'Tag strong fits',
  action: 'tag_prospect',
  summary: 'Tagged Ada Lovelace: +hot',
  trigger_event: 'prospect_added',
  trigger_seq: 42,
  manual: false,
  result: { prospect_id: ID, added: ['hot'], removed: [] },
};

const researchTask = {
  id: researchCompleted.task_id,
  user_id: USER,
  title: 'Research Analytical Engines',
  input_source: 'https://analytical.example',
  source_type: 'urls',
  engine: 'web',
  priority: 'medium',
  prospect_id: ID,
  status: 'queued',
  progress: 0,
  attempts: 0,
  started_at: null,
  completed_at: null,
  error: null,
  insight: null,
  created_at: AT,
};

module.exports = {
  prospect,
  prospectUpdated,
  researchCompleted,
  outreachMessage,
  outreachSent,
  contentPublished,
  automationTriggered,
  researchTask,
};
