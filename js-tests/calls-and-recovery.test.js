// Unit tests of SignalSocket's calls and its recovery after a reconnect, with an in-test
// SockJS; the real server is exercised by tests/examples (Chromium) and tests/redis.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const SignalSocket = require('../clientsignal/static/clientsignal/clientsignal.js');
const {fakeSockJS, until} = require('./support');

let serial = 0;
function make(options) {
  const SockJS = fakeSockJS();
  const sock = new SignalSocket('/room?x=1', Object.assign(
    {SockJS, random: () => 0.5, minDelay: 1, multiplex: null}, options));
  return {sock, made: SockJS.made};
}

const sent = (fake) => fake.sent.map(JSON.parse);

test('a call resolves with the answer of its reply', async () => {
  const {sock, made} = make();
  made[0].open();
  const answer = sock.call('add', {a: 1, b: 2});
  assert.deepStrictEqual(sent(made[0]), [{event: 'add', data: {a: 1, b: 2}, call: 1}]);
  made[0].receive(JSON.stringify({reply: 1, data: {sum: 3}}));
  assert.deepStrictEqual(await answer, {sum: 3});
});

test('an error reply rejects the call with the server message', async () => {
  const {sock, made} = make();
  made[0].open();
  const answer = sock.call('nope');
  made[0].receive(JSON.stringify({reply: 1, error: {message: "unknown event 'nope'"}}));
  await assert.rejects(answer, (error) => error.message === "unknown event 'nope'" &&
    error.event === 'nope' && error.reply.message === "unknown event 'nope'");
});

test('a call without an answer is rejected after its timeout', async () => {
  const {sock, made} = make();
  made[0].open();
  await assert.rejects(sock.call('slow', {}, {timeout: 20}), /timeout/);
});

test('a call pushed out of a full send queue is rejected with its own name', async () => {
  const {sock, made} = make({maxQueue: 1});
  const first = sock.call('ask', {n: 1});  // not open yet: queued, then pushed out
  const second = sock.call('ask', {n: 2});
  await assert.rejects(first, (error) => error.message === 'send queue full' &&
    error.event === 'ask');
  made[0].open();
  assert.deepStrictEqual(sent(made[0]), [{event: 'ask', data: {n: 2}, call: 2}]);
  made[0].receive(JSON.stringify({reply: 2, data: 'ok'}));
  assert.strictEqual(await second, 'ok');
});

test('a call made while reconnecting is sent once open, and resolves', async () => {
  const {sock, made} = make();
  const answer = sock.call('ask');  // not open yet: queued
  assert.deepStrictEqual(made[0].sent, []);
  made[0].open();
  assert.deepStrictEqual(sent(made[0]), [{event: 'ask', data: {}, call: 1}]);
  made[0].receive(JSON.stringify({reply: 1, data: 'yes'}));
  assert.strictEqual(await answer, 'yes');
});

test('a call out when the connection drops is rejected, never left hanging', async () => {
  const {sock, made} = make();
  made[0].open();
  const out = sock.call('ask');
  made[0].drop(1006, 'broken');
  await assert.rejects(out, /disconnected/);
  const later = sock.call('ask');  // made while reconnecting: goes out on the next session
  await until(() => made.length === 2);
  made[1].open();
  assert.deepStrictEqual(sent(made[1]), [{event: 'ask', data: {}, call: 2}]);
  made[1].receive(JSON.stringify({reply: 2, data: 1}));
  assert.strictEqual(await later, 1);
  sock.close();
  await assert.rejects(sock.call('ask'), /closed/);
});

// What a reconnecting socket sends first: "recover=...&resume=...", parsed.
const recovery = (fake) => Object.fromEntries(new URLSearchParams(fake.sent[0]));

test('a reconnecting socket asks for what it missed in its first message, not its URL', async () => {
  const {sock, made} = make();
  made[0].open();
  assert.strictEqual(made[0].url, '/room?x=1');  // nothing to ask for the first time
  const ticks = [];
  sock.on('tick', (data) => ticks.push(data.n));
  made[0].receive(JSON.stringify({resume: 'token:1'}));
  made[0].receive(JSON.stringify({s: 'aaa', p: 'e1:5-0', event: 'tick', data: {n: 5}}));
  made[0].receive(JSON.stringify({s: 'bbb', p: 'e2:9-0', event: 'tick', data: {n: 9}}));
  made[0].receive(JSON.stringify({s: 'aaa', p: 'e1:6-0', event: 'tick', data: {n: 6}}));
  assert.deepStrictEqual(ticks, [5, 9, 6]);  // resume is not an event
  made[0].drop(1006, 'broken');
  await until(() => made.length === 2);
  const url = new URL(made[1].url, 'http://x');
  assert.strictEqual(url.pathname, '/room');
  assert.strictEqual(url.searchParams.get('x'), '1');
  assert.strictEqual(url.searchParams.get('recovering'), '1');
  assert.strictEqual(url.searchParams.get('resume'), null);  // the token is in no URL
  assert.strictEqual(url.searchParams.get('recover'), null);
  const gaps = [];
  sock.on('gap', (data) => gaps.push(data.streams));
  made[1].open();
  assert.deepStrictEqual(recovery(made[1]), {recover: 'aaa~e1:6-0,bbb~e2:9-0', resume: 'token:1'});
  made[1].receive(JSON.stringify({event: 'gap', data: {streams: [{id: 'bbb', name: 'user'}]}}));
  assert.deepStrictEqual(gaps, [[{id: 'bbb', name: 'user'}]]);
});

test('a recovering socket opens on the server\'s first message, and sends nothing before', async () => {
  const {sock, made} = make();
  made[0].open();
  made[0].receive(JSON.stringify({resume: 'token:1'}));
  made[0].drop(1006, 'broken');
  await until(() => made.length === 2);
  const opens = [];
  sock.on('open', () => opens.push(sock.readyState));
  sock.send('said', {n: 1});  // queued while reconnecting
  made[1].open();
  assert.deepStrictEqual(opens, []);  // not yet: the server has not accepted it
  assert.strictEqual(sock.readyState, SignalSocket.CONNECTING);
  sock.send('said', {n: 2});
  assert.strictEqual(made[1].sent.length, 1);  // the recovery only
  made[1].receive(JSON.stringify({resume: 'token:2', positions: {}}));
  assert.deepStrictEqual(opens, [SignalSocket.OPEN]);
  assert.deepStrictEqual(made[1].sent.slice(1).map(JSON.parse).map((m) => m.data.n), [1, 2]);
  sock.close();
});

test('a recovering socket the server refuses reports a close without an open', async () => {
  const {sock, made} = make();
  made[0].open();
  made[0].receive(JSON.stringify({resume: 'token:1'}));
  const seen = [];
  sock.on('open', () => seen.push('open'));
  sock.on('close', (info) => seen.push('close ' + info.code));
  made[0].drop(1006, 'broken');
  await until(() => made.length === 2);
  made[1].open();
  made[1].drop(4401, 'Login required');  // o, then c[4401,...]: refused with its recovery
  assert.deepStrictEqual(seen, ['close 1006']);  // its drop was reported; no open, no retry
  assert.strictEqual(made.length, 2);
});

test('a socket takes the positions the server gives for streams it has had nothing of', async () => {
  const {sock, made} = make();
  made[0].open();
  const events = [];
  sock.on('tick', (data) => events.push(data.n));
  sock.on('error', (data) => events.push(data));
  // On open: the heads of its streams (none has sent it anything yet), with its resume token.
  made[0].receive(JSON.stringify({resume: 'token:1', positions: {aaa: 'e1:0-0', bbb: 'e2:4-0'}}));
  made[0].receive(JSON.stringify({s: 'bbb', p: 'e2:5-0', event: 'tick', data: {n: 5}}));
  // A group joined later: its head, alone.
  made[0].receive(JSON.stringify({positions: {ccc: 'e3:7-0'}}));
  assert.deepStrictEqual(events, [5]);  // neither is an event, nor an error
  made[0].drop(1006, 'broken');
  await until(() => made.length === 2);
  made[1].open();
  assert.deepStrictEqual(recovery(made[1]),
    {recover: 'aaa~e1:0-0,bbb~e2:5-0,ccc~e3:7-0', resume: 'token:1'});
  // After a gap, the stream's new head replaces the position that could not be replayed.
  made[1].receive(JSON.stringify({event: 'gap', data: {streams: [{id: 'aaa', name: 'room'}]}}));
  made[1].receive(JSON.stringify({resume: 'token:2', positions: {aaa: 'e9:3-0'}}));
  // A gap while connected (the server lost messages of a stream) moves its position too.
  made[1].receive(JSON.stringify({s: 'bbb', p: 'e8:0-0', event: 'gap', data: {streams: []}}));
  made[1].drop(1006, 'broken');
  await until(() => made.length === 3);
  made[2].open();
  assert.deepStrictEqual(recovery(made[2]),
    {recover: 'aaa~e9:3-0,bbb~e8:0-0,ccc~e3:7-0', resume: 'token:2'});
  sock.close();
});

test('a multiplexed channel asks for what it missed in its sub', async () => {
  const SockJS = fakeSockJS();
  const made = SockJS.made;
  const options = {SockJS, random: () => 0.5, minDelay: 1, multiplex: '/mux-recover' + (serial++)};
  const sock = new SignalSocket('/room', options);
  made[0].open();
  assert.deepStrictEqual(made[0].sent, ['sub,/room']);
  made[0].receive('sub,/room');
  made[0].receive('msg,/room,' + JSON.stringify({resume: 'r'}));
  made[0].receive('msg,/room,' + JSON.stringify({s: 'aaa', p: 'e:1-0', event: 'tick', data: {}}));
  made[0].drop(1006, 'broken');
  await until(() => made.length === 2);
  made[1].open();
  assert.deepStrictEqual(made[1].sent, ['sub,/room,recover=aaa~e%3A1-0&resume=r']);
  sock.close();
});
