// Unit tests of SignalSocket's own logic with an in-test socket; the real sockjs-client against
// the real server is exercised by tests/e2e and tests/examples.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const SignalSocket = require('../clientsignal/static/clientsignal/clientsignal.js');
const {fakeSockJS, until} = require('./support');

function make(options) {
  const SockJS = fakeSockJS();
  const sock = new SignalSocket('/simple', Object.assign({SockJS, random: () => 0.5, minDelay: 1}, options));
  return {sock, made: SockJS.made};
}

test('sends made before open are queued and flushed in order', () => {
  const {sock, made} = make();
  assert.strictEqual(sock.send('a', {n: 1}), false);
  sock.send('b', {n: 2});
  made[0].open();
  assert.deepStrictEqual(made[0].sent.map(JSON.parse), [
    {event: 'a', data: {n: 1}}, {event: 'b', data: {n: 2}},
  ]);
  assert.strictEqual(sock.send('c'), true);
  assert.deepStrictEqual(JSON.parse(made[0].sent[2]), {event: 'c', data: {}});
});

test('the queue is bounded: the oldest is dropped with an error event', () => {
  const {sock, made} = make({maxQueue: 2});
  const errors = [];
  sock.on('error', (e) => errors.push(e.message));
  sock.send('a'); sock.send('b'); sock.send('c');
  made[0].open();
  assert.deepStrictEqual(made[0].sent.map((t) => JSON.parse(t).event), ['b', 'c']);
  assert.strictEqual(errors.length, 1);
});

test('on, once and off dispatch server events by name', () => {
  const {sock, made} = make();
  const seen = [];
  const h = (d) => seen.push(['on', d.x]);
  sock.on('pong', h);
  sock.once('pong', (d, name) => seen.push(['once', d.x, name]));
  made[0].open();
  made[0].receive('{"event":"pong","data":{"x":1}}');
  made[0].receive('{"event":"pong","data":{"x":2}}');
  sock.off('pong', h);
  made[0].receive('{"event":"pong","data":{"x":3}}');
  assert.deepStrictEqual(seen, [['on', 1], ['once', 1, 'pong'], ['on', 2]]);
});

test('malformed JSON from the server is an error event; the socket stays', () => {
  const {sock, made} = make();
  const errors = [];
  sock.on('error', (e) => errors.push(e.message));
  made[0].open();
  made[0].receive('{not json');
  assert.strictEqual(errors.length, 1);
  assert.strictEqual(sock.readyState, 1);
});

test('reconnects with exponential backoff, then flushes sends queued meanwhile', async () => {
  const {sock, made} = make({minDelay: 2, factor: 2, jitter: 0.5});
  const delays = [];
  sock.on('reconnecting', (info) => delays.push(info.delay));
  made[0].open();
  made[0].drop(1006, 'gone');
  sock.send('queued', {n: 1});
  await until(() => made.length === 2);
  made[1].drop(1006, 'gone again');
  await until(() => made.length === 3);
  assert.deepStrictEqual(delays, [2, 4]);
  made[2].open();
  assert.deepStrictEqual(made[2].sent.map(JSON.parse), [{event: 'queued', data: {n: 1}}]);
});

test('transports are passed to SockJS', () => {
  const {made} = make({transports: ['xhr-polling']});
  assert.deepStrictEqual(made[0].options.transports, ['xhr-polling']);
});

test('close() stops reconnecting; 4401 and 4403 stop it too', async () => {
  for (const code of [null, 4401, 4403]) {
    const {sock, made} = make();
    let reconnecting = 0;
    sock.on('reconnecting', () => reconnecting++);
    made[0].open();
    if (code === null) { sock.close(); } else { made[0].drop(code, 'refused'); }
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.strictEqual(reconnecting, 0);
    assert.strictEqual(made.length, 1);
  }
});
