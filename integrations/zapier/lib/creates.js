'use strict';
const { apiUrl, compact } = require('./http');
const samples = require('./samples');
const fields = require('./fields');

const prospectId = {
  key: 'prospect_id',
  label: 'Prospect',
  required: true,
  dynamic: 'prospect_choices.id.name',
  helpText: 'The prospect, or its ID from an earlier step.',
};

const createProspect = {
  key: 'create_prospect',
  noun: 'Prospect',
  display: { label: 'Create Prospect', description: 'Adds a prospect.' },
  operation: {
    inputFields: [
      { key: 'name', label: 'Name', required: true },
      { key: 'email', label: 'Email', helpText: 'Unique among your prospects (any case).' },
      { key: 'company', label: 'Company' },
      { key: 'job_title', label: 'Job title' },
      { key: 'phone', label: 'Phone' },
      { key: 'website', label: 'Website', helpText: 'An http(s) address.' },
      { key: 'linkedin', label: 'LinkedIn', helpText: 'A linkedin.com address.' },
      { key: 'discovery_source', label: 'Where you found them' },
      { key: 'fit_score', label: 'Fit score', type: 'integer', helpText: '0 to 100.' },
      { key: 'tags', label: 'Tags', list: true },
      { key: 'notes', label: 'Notes', type: 'text' },
    ],
    perform: async (z, bundle) => {
      const input = bundle.inputData;
      const body = compact({
        name: input.name,
        email: input.email,
        company: input.company,
        job_title: input.job_title,
        phone: input.phone,
        website: input.website,
        linkedin: input.linkedin,
        discovery_source: input.discovery_source,
        fit_score: input.fit_score === undefined || input.fit_score === '' ? undefined : Number(input.fit_score),
        tags: input.tags,
        notes: input.notes,
      });
      const response = await z.request({ method: 'POST', url: apiUrl(bundle, '/api/prospects'), body });
      return response.data;
    },
    sample: samples.prospect,
    outputFields: fields.prospect,
  },
};

const updateProspectStatus = {
  key: 'update_prospect_status',
  noun: 'Prospect',
  display: { label: 'Update Prospect Status', description: 'Approves or rejects a prospect, or puts it back to pending.' },
  operation: {
    inputFields: [
      prospectId,
      {
        key: 'status',
        label: 'Status',
        required: true,
        choices: { approved: 'Approved', rejected: 'Rejected', pending: 'Pending' },
      },
    ],
    perform: async (z, bundle) => {
      const { prospect_id: id, status } = bundle.inputData;
      const response = await z.request({
        method: 'PATCH',
        url: apiUrl(bundle, `/api/prospects/${encodeURIComponent(id)}`),
        body: { approval_status: status },
      });
      return response.data;
    },
    sample: { ...samples.prospect, approval_status: 'approved' },
    outputFields: fields.prospect,
  },
};

const startResearch = {
  key: 'start_research',
  noun: 'Research Task',
  display: { label: 'Start Research Task', description: 'Queues a research task; its result comes back through the Research Completed trigger.' },
  operation: {
    inputFields: [
      { key: 'title', label: 'Title', required: true },
      {
        key: 'source_type',
        label: 'What to research',
        required: true,
        choices: { urls: 'Web pages (addresses)', keywords: 'Keywords', profile: 'A profile description' },
      },
      { key: 'input_source', label: 'Input', required: true, type: 'text', helpText: 'Addresses, keywords or the profile text.' },
      { key: 'priority', label: 'Priority', choices: { high: 'High', medium: 'Medium', low: 'Low' }, default: 'medium' },
      { ...prospectId, required: false, helpText: 'Attach the research to this prospect (optional).' },
      { key: 'engine', label: 'Engine', helpText: 'The research engine (default `web`).' },
    ],
    perform: async (z, bundle) => {
      const input = bundle.inputData;
      const body = compact({
        title: input.title,
        source_type: input.source_type,
        input_source: input.input_source,
        priority: input.priority,
        prospect_id: input.prospect_id,
        engine: input.engine,
      });
      const response = await z.request({ method: 'POST', url: apiUrl(bundle, '/api/research-tasks'), body });
      return response.data;
    },
    sample: samples.researchTask,
    outputFields: fields.researchTask,
  },
};

const createOutreachDraft = {
  key: 'create_outreach_draft',
  noun: 'Outreach Draft',
  display: { label: 'Create Outreach Draft', description: 'Writes a draft message to a prospect (nothing is sent).' },
  operation: {
    inputFields: [
      prospectId,
      { key: 'channel', label: 'Channel', choices: { email: 'Email', linkedin: 'LinkedIn', other: 'Other' }, default: 'email' },
      { key: 'subject', label: 'Subject', helpText: 'Needed before an email can be sent.' },
      { key: 'body', label: 'Message', required: true, type: 'text' },
    ],
    perform: async (z, bundle) => {
      const input = bundle.inputData;
      const body = compact({
        prospect_id: input.prospect_id,
        channel: input.channel,
        subject: input.subject,
        body: input.body,
      });
      const response = await z.request({ method: 'POST', url: apiUrl(bundle, '/api/outreach'), body });
      return response.data;
    },
    sample: samples.outreachMessage,
    outputFields: fields.outreach,
  },
};

module.exports = Object.fromEntries(
  [createProspect, updateProspectStatus, startResearch, createOutreachDraft].map((create) => [create.key, create]),
);
