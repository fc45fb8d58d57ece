'use strict';
const { apiUrl } = require('./http');
const samples = require('./samples');
const fields = require('./fields');

// The list endpoint's `q` matches a substring of name, company or email; the exact match on
// the email (any case, as the server compares them) is made here.
const findProspect = {
  key: 'find_prospect',
  noun: 'Prospect',
  display: { label: 'Find Prospect', description: 'Finds a prospect by email address.' },
  operation: {
    inputFields: [{ key: 'email', label: 'Email', required: true }],
    perform: async (z, bundle) => {
      const email = String(bundle.inputData.email || '').trim().toLowerCase();
      if (!email) return [];
      const response = await z.request({
        url: apiUrl(bundle, '/api/prospects'),
        params: { q: email, limit: 50 },
      });
      const items = (response.data && response.data.items) || [];
      return items.filter((item) => typeof item.email === 'string' && item.email.toLowerCase() === email).slice(0, 1);
    },
    sample: samples.prospect,
    outputFields: fields.prospect,
  },
};

module.exports = { [findProspect.key]: findProspect };
