'use strict';
// The aiclone Zapier integration: REST-hook triggers for the events of the backbone, actions
// that create and change records through the public API, and a prospect search.
const { version: platformVersion } = require('zapier-platform-core');
const { version } = require('./package.json');
const authentication = require('./lib/authentication');
const { addApiKey, raiseProblems } = require('./lib/http');
const triggers = require('./lib/triggers');
const creates = require('./lib/creates');
const searches = require('./lib/searches');

module.exports = {
  version,
  platformVersion,
  authentication,
  beforeRequest: [addApiKey],
  afterResponse: [raiseProblems],
  triggers,
  creates,
  searches,
};
