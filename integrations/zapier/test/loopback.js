'use strict';
// Every connection this test process opens must go to the loopback interface: the app under
// test talks to a local aiclone, and nothing may reach Zapier's (or anyone's) servers. Loaded
// first by the tests; a connection elsewhere throws before any packet leaves.
const net = require('node:net');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function targetOf(args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (first && typeof first === 'object') {
    if (first.path) return null; // a Unix socket never leaves the machine
    return String(first.host ?? 'localhost');
  }
  if (typeof first === 'number' || /^\d+$/.test(String(first))) return String(args[1] ?? 'localhost');
  return null;
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const host = targetOf(args);
  if (host !== null && !LOOPBACK.has(host)) {
    throw new Error(`refused a connection to ${host}: tests reach 127.0.0.1 only`);
  }
  return connect.apply(this, args);
};

module.exports = { LOOPBACK, targetOf };
