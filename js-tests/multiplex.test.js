// Unit tests of SignalSocket's multiplexing with an in-test SockJS; the real sockjs-client
// against the real server is exercised by tests/examples (Chromium).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const SignalSocket = require('../clientsignal/static/clientsignal/clientsignal.js');
const {fakeSockJS, until} = require('./support');

let serial = 0;
function setup(extra) {
  const SockJS = fakeSockJS();
  // A multiplexed service URL of its own per test: multiplexers are shared per URL.
  const options = Object.assign(
    {SockJS, random: () => 0.5, minDelay: 1, multiplex: '/mux' + (serial++)}, extra);
  const open = (url, more) => new SignalSocket(url, Object.assign({}, options, more));
  return {open, made: SockJS.made};
}

const events = (sock) => {
  const seen = [];
  for (const name of ['open', 'close', 'reconnecting', 'pong', 'error']) {
    sock.on(name, (data) => seen.push([name, data && (data.code || data.x || data.multiplexed)]));
  }
  return seen;
};

test('two endpoints share one SockJS session, each a channel', () => {
  const {open, made} = setup();
  const a = open('/simple');
  const b = open('/rooms/7?x=1');
  assert.strictEqual(made.length, 1);
  assert.ok(made[0].url.startsWith('/mux'));
  assert.ok(a.multiplexed && b.multiplexed);
  a.send('ping', {n: 1});  // queued until the channel is open
  made[0].open();
  assert.deepStrictEqual(made[0].sent, ['sub,/simple', 'sub,/rooms/7?x=1']);
  const seenA = events(a), seenB = events(b);
  made[0].receive('sub,/simple');
  assert.strictEqual(a.readyState, SignalSocket.OPEN);
  assert.strictEqual(b.readyState, SignalSocket.CONNECTING);
  assert.strictEqual(made[0].sent[2], 'msg,/simple,{"event":"ping","data":{"n":1}}');
  made[0].receive('sub,/rooms/7?x=1');
  made[0].receive('msg,/rooms/7?x=1,{"event":"pong","data":{"x":"a,b"}}');
  assert.deepStrictEqual(seenA, [['open', true]]);
  assert.deepStrictEqual(seenB, [['open', true], ['pong', 'a,b']]);
});

test('subscribing and unsubscribing on the open session never reconnects it', () => {
  const {open, made} = setup();
  const a = open('/simple');
  made[0].open();
  made[0].receive('sub,/simple');
  const b = open('/other');
  assert.deepStrictEqual(made[0].sent, ['sub,/simple', 'sub,/other']);
  b.close();
  assert.strictEqual(made[0].sent[2], 'uns,/other');
  assert.strictEqual(made.length, 1);
  assert.strictEqual(made[0].readyState, 1);
  a.send('still', {});
  assert.strictEqual(made[0].sent[3], 'msg,/simple,{"event":"still","data":{}}');
  // The last channel closed: so is the shared session.
  a.close();
  assert.deepStrictEqual(made[0].sent.slice(4), ['uns,/simple']);
  assert.strictEqual(made[0].readyState, 3);
});

test('one page may open the same endpoint twice', () => {
  const {open, made} = setup();
  const a = open('/simple'), b = open('/simple');
  made[0].open();
  assert.deepStrictEqual(made[0].sent, ['sub,/simple', 'sub,/simple#2']);
  const seenB = events(b);
  made[0].receive('sub,/simple#2');
  made[0].receive('msg,/simple#2,{"event":"pong","data":{"x":2}}');
  assert.deepStrictEqual(seenB, [['open', true], ['pong', 2]]);
  assert.strictEqual(a.readyState, SignalSocket.CONNECTING);
});

test('a channel the server refuses for good stops; the others stay', async () => {
  const {open, made} = setup();
  const a = open('/staff'), b = open('/simple');
  const seenA = events(a);
  made[0].open();
  made[0].receive('sub,/staff');
  made[0].receive('sub,/simple');
  made[0].receive('uns,/staff,[4403,"Forbidden"]');
  assert.deepStrictEqual(seenA, [['open', true], ['close', 4403]]);
  assert.strictEqual(made[0].sent.at(-1), 'uns,/staff');  // leaves: the server forgets it too
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.strictEqual(made[0].sent.filter((m) => m === 'sub,/staff').length, 1);
  assert.strictEqual(b.readyState, SignalSocket.OPEN);
});

test('a channel the server closed otherwise resubscribes after its backoff', async () => {
  const {open, made} = setup();
  const a = open('/simple');
  const seen = events(a);
  made[0].open();
  made[0].receive('sub,/simple');
  made[0].receive('uns,/simple,[3000,"Go away!"]');
  await until(() => made[0].sent.filter((m) => m === 'sub,/simple').length === 2);
  made[0].receive('sub,/simple');
  assert.deepStrictEqual(seen, [['open', true], ['close', 3000], ['reconnecting', undefined],
    ['open', true]]);
  assert.strictEqual(made.length, 1);
});

test('when the shared session drops, every channel reconnects with it', async () => {
  const {open, made} = setup({minDelay: 2});
  const a = open('/simple'), b = open('/other');
  const seenA = events(a);
  made[0].open();
  made[0].receive('sub,/simple');
  made[0].receive('sub,/other');
  made[0].drop(1006, 'gone');
  a.send('during', {n: 1});
  assert.deepStrictEqual(seenA, [['open', true], ['close', 1006], ['reconnecting', undefined]]);
  await until(() => made.length === 2);
  made[1].open();
  assert.deepStrictEqual(made[1].sent, ['sub,/simple', 'sub,/other']);
  made[1].receive('sub,/simple');
  assert.strictEqual(made[1].sent[2], 'msg,/simple,{"event":"during","data":{"n":1}}');
  assert.strictEqual(b.readyState, SignalSocket.CONNECTING);
});

test('without a multiplexed service, or for another server, a socket has its own session', () => {
  const {open, made} = setup();
  const own = open('/simple', {multiplex: false});
  const elsewhere = open('http://other.example:8000/simple');
  const comma = open('/a,b');
  assert.ok(!own.multiplexed && !elsewhere.multiplexed && !comma.multiplexed);
  assert.deepStrictEqual(made.map((s) => s.url),
    ['/simple', 'http://other.example:8000/simple', '/a,b']);
});
