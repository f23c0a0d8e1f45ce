// SignalSocket's lifecycle events with an in-test SockJS: no `open` for a session the server
// refuses, one `close` per disconnection, `reconnecting` before every attempt. The rule:
//   - open: only when the session (or channel) opened ("o", or "sub" for a channel);
//   - close: when an open socket closes; or when it gives up (4401/4403, maxRetries,
//     reconnect false, close()) having emitted no close since it last opened;
//   - reconnecting: before every reconnect attempt, failed attempts included.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const SignalSocket = require('../clientsignal/static/clientsignal/clientsignal.js');
const {fakeSockJS, until} = require('./support');

let serial = 0;
function make(url, options) {
  const SockJS = fakeSockJS();
  const base = {SockJS, random: () => 0.5, minDelay: 1, maxDelay: 1, multiplex: null};
  const open = (path, more) => new SignalSocket(path, Object.assign({}, base, options, more));
  return {sock: open(url), open, made: SockJS.made};
}
// The same over a multiplexed service of its own (multiplexers are shared per service URL).
function makeMux(url, options) {
  return make(url, Object.assign({multiplex: '/lifecycle-mux' + (serial++)}, options));
}

// Every lifecycle event, as [name, code] for close and [name, attempt] for reconnecting.
function record(sock) {
  const seen = [];
  sock.on('open', () => seen.push(['open']));
  sock.on('close', (e) => seen.push(['close', e.code, e.reason]));
  sock.on('reconnecting', (e) => seen.push(['reconnecting', e.attempt]));
  return seen;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

// -- one SockJS session per socket -------------------------------------------------------------

test('a first connect refused with 4401: close 4401, no open, no reconnect', async () => {
  const {sock, made} = make('/chat/1');
  const seen = record(sock);
  made[0].drop(4401, 'Login required');  // "c[4401,...]" without "o": SockJS never opened
  await tick();
  assert.deepStrictEqual(seen, [['close', 4401, 'Login required']]);
  assert.strictEqual(made.length, 1);
  assert.strictEqual(sock.readyState, SignalSocket.CLOSED);
  assert.strictEqual(sock.send('x'), false);  // stopped: dropped, not queued
  sock.close();  // nothing more to report
  assert.strictEqual(seen.length, 1);
});

test('open, drop, three failed attempts, success: open, close, reconnecting x4, open', async () => {
  const {sock, made} = make('/simple');
  const seen = record(sock);
  made[0].open();
  made[0].drop(1006, 'gone');
  for (let n = 1; n <= 3; n++) {
    await until(() => made.length === n + 1);
    made[n].drop(1002, 'Cannot connect to server');  // sockjs-client's failed attempt
  }
  await until(() => made.length === 5);
  made[4].open();
  assert.deepStrictEqual(seen, [
    ['open'], ['close', 1006, 'gone'],
    ['reconnecting', 1], ['reconnecting', 2], ['reconnecting', 3], ['reconnecting', 4],
    ['open'],
  ]);
  // The next drop is a new disconnection: its own close, attempts counted from 1 again.
  made[4].drop(1006, 'again');
  assert.deepStrictEqual(seen.slice(7), [['close', 1006, 'again'], ['reconnecting', 1]]);
  sock.close();
});

test('first connects that fail and retry: reconnecting only, until the socket opens', async () => {
  const {sock, made} = make('/simple');
  const seen = record(sock);
  made[0].drop(1002, 'Cannot connect to server');
  await until(() => made.length === 2);
  made[1].open();
  assert.deepStrictEqual(seen, [['reconnecting', 1], ['open']]);
  sock.close();
});

test('close() while reconnecting after a drop adds no second close', async () => {
  const {sock, made} = make('/simple', {minDelay: 5, maxDelay: 5});
  const seen = record(sock);
  made[0].open();
  made[0].drop(1006, 'gone');
  await until(() => made.length === 2);
  made[1].drop(1002, 'Cannot connect to server');
  sock.close();  // between attempts: the timer is cancelled
  await until(() => made[1].readyState === 3);
  const connecting = make('/simple');  // another socket, to close during an attempt
  const seen2 = record(connecting.sock);
  connecting.made[0].open();
  connecting.made[0].drop(1006, 'gone');
  await until(() => connecting.made.length === 2);
  connecting.sock.close();  // during the attempt: its SockJS is closed, quietly
  await tick();
  assert.deepStrictEqual(seen, [['open'], ['close', 1006, 'gone'], ['reconnecting', 1],
    ['reconnecting', 2]]);
  assert.strictEqual(made.length, 2);
  assert.deepStrictEqual(seen2, [['open'], ['close', 1006, 'gone'], ['reconnecting', 1]]);
  assert.strictEqual(connecting.made.length, 2);
  assert.strictEqual(connecting.made[1].readyState, 3);
});

test('close() on a socket that never opened: one close, with its code', async () => {
  const {sock, made} = make('/simple');
  const seen = record(sock);
  made[0].drop(1002, 'Cannot connect to server');
  sock.close(4000, 'bye');  // between attempts
  sock.close();  // twice: still one
  await tick();
  assert.deepStrictEqual(seen, [['reconnecting', 1], ['close', 4000, 'bye']]);
  assert.strictEqual(made.length, 1);
});

test('close() on an open socket: one close, from its SockJS', () => {
  const {sock, made} = make('/simple');
  const seen = record(sock);
  made[0].open();
  sock.close(4000, 'bye');
  sock.close();
  assert.deepStrictEqual(seen, [['open'], ['close', 4000, 'bye']]);
});

test('out of retries without an open since the last close: no second close', async () => {
  const {sock, made} = make('/simple', {maxRetries: 2});
  const seen = record(sock);
  made[0].open();
  made[0].drop(1006, 'gone');
  await until(() => made.length === 2);
  made[1].drop(1002, 'Cannot connect to server');
  await until(() => made.length === 3);
  made[2].drop(1002, 'Cannot connect to server');
  await tick();
  assert.deepStrictEqual(seen, [['open'], ['close', 1006, 'gone'], ['reconnecting', 1],
    ['reconnecting', 2]]);
  assert.strictEqual(made.length, 3);
  assert.strictEqual(sock.readyState, SignalSocket.CLOSED);
});

test('out of retries having never opened: the one close has the last code', async () => {
  const {sock, made} = make('/simple', {maxRetries: 1});
  const seen = record(sock);
  made[0].drop(1002, 'Cannot connect to server');
  await until(() => made.length === 2);
  made[1].drop(1002, 'still nothing');
  await tick();
  assert.deepStrictEqual(seen, [['reconnecting', 1], ['close', 1002, 'still nothing']]);
  sock.close();
  assert.strictEqual(seen.length, 2);
});

test('refused with 4403 on a reconnect attempt, after a drop: no second close', async () => {
  const {sock, made} = make('/simple');
  const seen = record(sock);
  made[0].open();
  made[0].drop(1006, 'gone');
  await until(() => made.length === 2);
  made[1].drop(4403, 'Forbidden');
  await tick();
  assert.deepStrictEqual(seen, [['open'], ['close', 1006, 'gone'], ['reconnecting', 1]]);
  assert.strictEqual(made.length, 2);
});

test('reconnect false: one close and stop, opened or not', async () => {
  for (const opened of [true, false]) {
    const {sock, made} = make('/simple', {reconnect: false});
    const seen = record(sock);
    if (opened) { made[0].open(); }
    made[0].drop(1006, 'gone');
    await tick();
    assert.deepStrictEqual(seen, [...(opened ? [['open']] : []), ['close', 1006, 'gone']]);
    assert.strictEqual(made.length, 1);
  }
});

// -- channels of a multiplexed session ---------------------------------------------------------

test('a channel refused with 4401 (uns without sub): close 4401, no open, no resubscribe', async () => {
  const {sock, open, made} = makeMux('/chat/1');
  const other = open('/lobby');
  const seen = record(sock), seenOther = record(other);
  made[0].open();
  assert.deepStrictEqual(made[0].sent, ['sub,/chat/1', 'sub,/lobby']);
  made[0].receive('uns,/chat/1,[4401,"Login required"]');
  made[0].receive('sub,/lobby');
  await tick();
  assert.deepStrictEqual(seen, [['close', 4401, 'Login required']]);
  assert.strictEqual(sock.readyState, SignalSocket.CLOSED);
  assert.strictEqual(made[0].sent.filter((m) => m === 'sub,/chat/1').length, 1);
  assert.deepStrictEqual(seenOther, [['open']]);
  assert.strictEqual(made.length, 1);
  other.close();
});

test('every channel refused with 4401: the shared session closes, one close each', async () => {
  const {sock, open, made} = makeMux('/chat/1');
  const lobby = open('/lobby');
  const seen = record(sock), seenLobby = record(lobby);
  made[0].open();
  made[0].receive('uns,/chat/1,[4401,"Login required"]');
  made[0].receive('uns,/lobby,[4401,"Login required"]');
  await tick();
  assert.deepStrictEqual(seen, [['close', 4401, 'Login required']]);
  assert.deepStrictEqual(seenLobby, [['close', 4401, 'Login required']]);
  assert.strictEqual(made[0].readyState, 3);
  assert.strictEqual(made.length, 1);
});

test('a channel refused with a retryable code (4429): reconnecting only, then open', async () => {
  const {sock, made} = makeMux('/chat/1');
  const seen = record(sock);
  made[0].open();
  made[0].receive('uns,/chat/1,[4429,"Too many sessions for this user"]');
  await until(() => made[0].sent.filter((m) => m === 'sub,/chat/1').length === 2);
  made[0].receive('sub,/chat/1');
  assert.deepStrictEqual(seen, [['reconnecting', 1], ['open']]);
  sock.close();
});

test('a channel closed after opening, then refused on resubscribe: one close', async () => {
  const {sock, made} = makeMux('/chat/1');
  const seen = record(sock);
  made[0].open();
  made[0].receive('sub,/chat/1');
  made[0].receive('uns,/chat/1,[3000,"Go away!"]');
  await until(() => made[0].sent.filter((m) => m === 'sub,/chat/1').length === 2);
  made[0].receive('uns,/chat/1,[4401,"Logged out"]');
  await tick();
  assert.deepStrictEqual(seen, [['open'], ['close', 3000, 'Go away!'], ['reconnecting', 1]]);
  assert.strictEqual(made[0].sent.filter((m) => m === 'sub,/chat/1').length, 2);
});

test('the shared session drops, three attempts fail, then it opens: one close per channel', async () => {
  const {sock, open, made} = makeMux('/chat/1');
  const lobby = open('/lobby');
  const seen = record(sock), seenLobby = record(lobby);
  made[0].open();
  made[0].receive('sub,/chat/1');
  made[0].receive('sub,/lobby');
  made[0].drop(1006, 'gone');
  for (let n = 1; n <= 3; n++) {
    await until(() => made.length === n + 1);
    made[n].drop(1002, 'Cannot connect to server');
  }
  await until(() => made.length === 5);
  made[4].open();
  assert.deepStrictEqual(made[4].sent, ['sub,/chat/1', 'sub,/lobby']);
  made[4].receive('sub,/chat/1');
  made[4].receive('sub,/lobby');
  const expected = [
    ['open'], ['close', 1006, 'gone'],
    ['reconnecting', 1], ['reconnecting', 2], ['reconnecting', 3], ['reconnecting', 4],
    ['open'],
  ];
  assert.deepStrictEqual(seen, expected);
  assert.deepStrictEqual(seenLobby, expected);
  sock.close();
  lobby.close();
});

test('the shared session opens but a channel is refused on resubscribe: close once', async () => {
  // Logged out while the server was down: the drop closed it, the refusal adds nothing.
  const {sock, made} = makeMux('/chat/1');
  const seen = record(sock);
  made[0].open();
  made[0].receive('sub,/chat/1');
  made[0].drop(1006, 'gone');
  await until(() => made.length === 2);
  made[1].open();
  made[1].receive('uns,/chat/1,[4401,"Login required"]');
  await tick();
  assert.deepStrictEqual(seen, [['open'], ['close', 1006, 'gone'], ['reconnecting', 1]]);
  assert.strictEqual(made.length, 2);
  assert.strictEqual(made[1].readyState, 3);  // its last channel left: the session closed
});

test('a channel closed by the user while the shared session reconnects: no second close', async () => {
  const {sock, open, made} = makeMux('/chat/1', {minDelay: 5, maxDelay: 5});
  const lobby = open('/lobby');
  const seen = record(sock), seenLobby = record(lobby);
  made[0].open();
  made[0].receive('sub,/chat/1');
  made[0].receive('sub,/lobby');
  made[0].drop(1006, 'gone');
  sock.close();
  await until(() => made.length === 2);
  made[1].open();
  assert.deepStrictEqual(made[1].sent, ['sub,/lobby']);
  made[1].receive('sub,/lobby');
  assert.deepStrictEqual(seen, [['open'], ['close', 1006, 'gone'], ['reconnecting', 1]]);
  assert.deepStrictEqual(seenLobby, [['open'], ['close', 1006, 'gone'], ['reconnecting', 1],
    ['open']]);
  lobby.close();
});

test('a channel that never opened, closed by the user while its session retries: one close', async () => {
  const {sock, made} = makeMux('/chat/1');
  const seen = record(sock);
  made[0].drop(1002, 'Cannot connect to server');
  sock.close();
  sock.close();
  await tick();
  assert.deepStrictEqual(seen, [['reconnecting', 1], ['close', 1000, 'Normal closure']]);
  assert.strictEqual(made.length, 1);  // the last channel left: no more attempts
});
