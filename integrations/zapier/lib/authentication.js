'use strict';
// Custom auth: an aiclone API key (created on the dashboard's API keys page) sent as a bearer
// token. The test call is `GET /api/auth/me`; its email names the connection.
const { apiUrl } = require('./http');

const test = async (z, bundle) => {
  const response = await z.request({ url: apiUrl(bundle, '/api/auth/me') });
  return response.data;
};

module.exports = {
  type: 'custom',
  fields: [
    {
      key: 'base_url',
      label: 'aiclone address',
      type: 'string',
      required: false,
      helpText:
        'The address of your aiclone installation, for example `https://aiclone.example.com`. ' +
        'Leave it empty only if this app was set up for one installation.',
    },
    {
      key: 'api_key',
      label: 'API key',
      type: 'password',
      required: true,
      helpText:
        'Create a key on the **API keys** page of the aiclone dashboard with the scopes your Zaps need ' +
        '(read and write for prospects, research, outreach; read for content and automations; write for webhooks ' +
        'so triggers can subscribe). It is shown only once.',
    },
  ],
  test,
  connectionLabel: (z, bundle) => bundle.inputData.email,
};
