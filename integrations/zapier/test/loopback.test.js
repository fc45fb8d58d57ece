'use strict';
// The test process's connection guard reads every shape of Socket#connect's arguments.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { LOOPBACK, targetOf } = require('./loopback');

test('the guard is installed and finds the host in every argument shape', () => {
  assert.equal(net.Socket.prototype.connect.name, 'guardedConnect');
  assert.equal(targetOf([{ host: 'hooks.zapier.com', port: 443 }]), 'hooks.zapier.com');
  assert.equal(targetOf([[{ host: '203.0.113.7', port: 80 }, () => {}]]), '203.0.113.7');
  assert.equal(targetOf([443, 'httplogger.zapier.com']), 'httplogger.zapier.com');
  assert.equal(targetOf(['8080']), 'localhost');
  assert.equal(targetOf([{ port: 80 }]), 'localhost');
  assert.equal(targetOf([{ path: '/run/socket' }]), null);
  for (const host of ['127.0.0.1', 'localhost', '::1']) assert.ok(LOOPBACK.has(host));
  assert.equal(LOOPBACK.has('hooks.zapier.com'), false);
});

test('a loopback connection goes through', async () => {
  const server = net.createServer((socket) => socket.end());
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve();
    });
    socket.on('error', reject);
  });
  await new Promise((r) => server.close(r));
});
