// Idle connections for bench/memory.py, on 127.0.0.1 only.
//   node idle.js <url> <raw|sockjs|socketio|xhr-streaming> <count>
// Opens <count> connections in batches, prints one JSON line {"open", "failed", "seconds"},
// then holds them until stdin closes (or 300 s pass) and exits.
//   raw            plain websocket to <url> (ws://)
//   sockjs         SockJS websocket sessions <url>/000/<id>/websocket, open once "o" arrived
//   socketio       Socket.IO connections (bench/protocols.js), open once connected; pings answered
//   xhr-streaming  POST <url>/000/<id>/xhr_streaming (http://), open once prelude + "o" arrived
'use strict';
const http = require('http');
const WebSocket = require('ws');
const {protocols} = require('./protocols');

const [base, mode, countArg] = process.argv.slice(2);
const count = Number(countArg);
const BATCH = 200, OPEN_TIMEOUT = 30000, HOLD_TIMEOUT = 300000;
if (!/^(ws|http):\/\/(127\.0\.0\.1|localhost)[:/]/.test(base)) throw new Error('loopback only');
if (!['raw', 'sockjs', 'socketio', 'xhr-streaming'].includes(mode)) throw new Error('mode: ' + mode);
if (!(count >= 0)) throw new Error('count: ' + countArg);

const held = [];
const agent = new http.Agent({keepAlive: true, maxSockets: Infinity});
// Session ids unique across runs against the same server.
const prefix = process.pid.toString(36) + Date.now().toString(36);
let nextSession = 0;
const sessionId = () => prefix + (nextSession++).toString(36);

function withTimeout(promise, onTimeout) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => { onTimeout(); reject(new Error('open timed out')); }, OPEN_TIMEOUT);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function openWebSocket() {
  const url = mode === 'sockjs' ? base + '/000/' + sessionId() + '/websocket'
    : mode === 'socketio' ? protocols.socketio.url(base) : base;
  const ws = new WebSocket(url, {perMessageDeflate: false});
  const opened = new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('close', () => reject(new Error('closed')));
    if (mode === 'raw') ws.on('open', () => resolve(ws));
    else if (mode === 'socketio') {
      ws.on('message', (raw) => protocols.socketio.onFrame(raw.toString(), ws));
      protocols.socketio.ready(ws).then(resolve, reject);
    } else ws.on('message', (raw) => { if (raw.toString()[0] === 'o') resolve(ws); });
  });
  return withTimeout(opened, () => ws.terminate());
}

function openXhrStreaming() {
  const req = http.request(base + '/000/' + sessionId() + '/xhr_streaming', {
    method: 'POST', agent, headers: {'Content-Length': 0},
  });
  const opened = new Promise((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) { res.resume(); return reject(new Error('HTTP ' + res.statusCode)); }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        if (text === null) return;  // open already; heartbeats are dropped
        text += chunk;
        // The prelude is 2048 'h' and a newline; the open frame follows.
        if (/(^|\n)o\n/.test(text)) { text = null; resolve(req); }
      });
      res.on('end', () => reject(new Error('response ended')));
    });
    req.end();
  });
  return withTimeout(opened, () => req.destroy());
}

function close(item) {
  if (item instanceof WebSocket) item.terminate();
  else item.destroy();
}

async function main() {
  const open = mode === 'xhr-streaming' ? openXhrStreaming : openWebSocket;
  const started = performance.now();
  let failed = 0, firstError = null;
  for (let i = 0; i < count; i += BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + BATCH); j++) batch.push(open());
    for (const result of await Promise.allSettled(batch)) {
      if (result.status === 'fulfilled') held.push(result.value);
      else { failed++; firstError = firstError || String(result.reason); }
    }
  }
  const out = {open: held.length, failed, seconds: (performance.now() - started) / 1000};
  if (firstError) out.error = firstError;
  process.stdout.write(JSON.stringify(out) + '\n');
  opened = true;
  if (stdinClosed) finish(0);
}

function finish(code) {
  for (const item of held) close(item);
  process.exit(code);
}

// stdin's end ends the hold, once the open line is out.
let opened = false, stdinClosed = false;
const onStdinEnd = () => { stdinClosed = true; if (opened) finish(0); };
process.stdin.on('end', onStdinEnd);
process.stdin.on('error', onStdinEnd);
process.stdin.resume();
setTimeout(() => { console.error('idle: hold timeout'); finish(2); }, HOLD_TIMEOUT).unref();
main().catch((err) => {
  process.stdout.write(JSON.stringify({open: held.length, failed: count, error: String(err)}) + '\n');
  finish(1);
});
