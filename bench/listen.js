// Listeners for bench/crossprocess.py: SockJS websocket clients timing the broadcast `tick`,
// on 127.0.0.1 only.
//   node listen.js <ws-url> <clients> [<signals, 0: no limit> [<timeout-s>]]
// Connects <clients> sessions (<url>/000/<id>/websocket), prints {"ready": n, "failed": k}, then
// times every tick: per receipt, now - payload.sent (wall clock, sub-millisecond), and per
// signal, the time until the last client has it. A report is one JSON line; it comes
//   - on a stdin line "report <expected> <drain-ms> <next-first-t>": once <expected> signals
//     reached every client or <drain-ms> passed; then counting restarts, ignoring t below
//     <next-first-t> (late stragglers of the window just reported);
//   - when stdin closes (unless <signals> is given), after <signals> signals fully delivered,
//     or after <timeout-s> (default 300): then listen.js exits.
'use strict';
const readline = require('readline');
const WebSocket = require('ws');

const [base, clientsArg, signalsArg, timeoutArg] = process.argv.slice(2);
const clients = Number(clientsArg);
const signalsLimit = Number(signalsArg) > 0 ? Number(signalsArg) : Infinity;
const timeoutMs = (timeoutArg ? Number(timeoutArg) : 300) * 1000;
if (!/^ws:\/\/(127\.0\.0\.1|localhost)[:/]/.test(base)) throw new Error('loopback only');
if (!(clients > 0)) throw new Error('clients: ' + clientsArg);

const wallNow = () => performance.timeOrigin + performance.now();

// Latencies go into a histogram (10 µs bins up to 10 s), so memory stays bounded at any rate.
const BIN = 0.01, BINS = 1000000;
class Histogram {
  constructor() { this.counts = new Uint32Array(BINS + 1); this.n = 0; this.max = -Infinity; }
  add(ms) {
    this.counts[Math.min(BINS, Math.max(0, Math.floor(ms / BIN)))]++;
    this.n++;
    if (ms > this.max) this.max = ms;
  }
  percentile(p) {
    if (!this.n) return null;
    const rank = Math.min(this.n - 1, Math.floor(this.n * p));
    let seen = 0;
    for (let i = 0; i <= BINS; i++) {
      seen += this.counts[i];
      if (seen > rank) return i === BINS ? this.max : round((i + 0.5) * BIN);
    }
    return this.max;
  }
}
const round = (x) => Math.round(x * 1000) / 1000;

let window;  // everything counted since the last report
function newWindow(firstT) {
  window = {
    firstT, receipts: new Histogram(), last: new Histogram(), pending: new Map(),
    signals: 0, complete: 0, firstSent: Infinity, lastCompleteAt: 0, lastReceiptAt: 0,
    cpu: process.cpuUsage(), wall: performance.now(), waiter: null,
  };
}
newWindow(-Infinity);
let closed = 0, closeReason = null, totalComplete = 0;

function onTick(data, now) {
  if (!data || typeof data.t !== 'number' || data.t < window.firstT) return;
  const sent = data.payload && data.payload.sent;
  if (typeof sent !== 'number') return;
  window.receipts.add(now - sent);
  window.lastReceiptAt = now;
  let signal = window.pending.get(data.t);
  if (!signal) {
    signal = {count: 0, sent};
    window.pending.set(data.t, signal);
    window.signals++;
    if (sent < window.firstSent) window.firstSent = sent;
  }
  if (++signal.count === clients) {
    window.pending.delete(data.t);
    window.last.add(now - sent);
    window.complete++;
    window.lastCompleteAt = now;
    totalComplete++;
    if (window.waiter) window.waiter();
    if (totalComplete >= signalsLimit) finish(0);
  }
}

function onMessage(raw) {
  const text = raw.toString();
  if (text[0] === 'c') closeReason = closeReason || text;  // SockJS close frame
  if (text[0] !== 'a') return;  // o, h
  const now = wallNow();
  for (const m of JSON.parse(text.slice(1))) {
    const e = JSON.parse(m);
    if (e.event === 'tick') onTick(e.data, now);
  }
}

let nextSession = 0;
const prefix = process.pid.toString(36) + Date.now().toString(36);
function connect() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base + '/000/' + prefix + (nextSession++).toString(36) + '/websocket',
      {perMessageDeflate: false});
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('open timed out')); }, 30000);
    let open = false;
    ws.on('message', (raw) => {
      if (raw.toString()[0] === 'o') { open = true; clearTimeout(timer); resolve(ws); }
    });
    ws.on('error', (err) => { clearTimeout(timer); reject(err); });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      if (open && !finished) { closed++; closeReason = closeReason || code + ' ' + reason; }
      reject(new Error('closed'));
    });
  });
}

const sockets = [];
async function connectAll() {
  let failed = 0, error;
  for (let i = 0; i < clients; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(clients, i + 200); j++) batch.push(connect());
    for (const r of await Promise.allSettled(batch)) {
      if (r.status === 'fulfilled') sockets.push(r.value);
      else { failed++; error = error || String(r.reason); }
    }
  }
  for (const ws of sockets) { ws.removeAllListeners('message'); ws.on('message', onMessage); }
  newWindow(-Infinity);
  const out = {ready: sockets.length, failed};
  if (error) out.error = error;
  process.stdout.write(JSON.stringify(out) + '\n');
  ready = true;
  if (stdinClosed) finish(0);
}

function summary() {
  const w = window;
  const cpu = process.cpuUsage(w.cpu);
  const wall = performance.now() - w.wall;
  const span = (w.lastCompleteAt - w.firstSent) / 1000;
  return {
    clients: sockets.length, closed, closeReason,
    signals: w.signals, complete: w.complete, incomplete: w.pending.size,
    receipts: w.receipts.n,
    p50: w.receipts.percentile(0.5), p95: w.receipts.percentile(0.95),
    p99: w.receipts.percentile(0.99), max: w.receipts.n ? round(w.receipts.max) : null,
    lastP50: w.last.percentile(0.5), lastP99: w.last.percentile(0.99),
    deliveredPerSecond: w.complete > 1 && span > 0 ? round(w.complete / span) : null,
    receiptsPerSecond: w.receipts.n && w.lastReceiptAt > w.firstSent
      ? round(w.receipts.n / ((w.lastReceiptAt - w.firstSent) / 1000)) : null,
    listenerCpu: round((cpu.user + cpu.system) / 1000 / wall),  // share of one core
  };
}

function report(expected, drainMs, nextFirstT) {
  const w = window;
  const done = () => {
    clearTimeout(timer);
    w.waiter = null;
    process.stdout.write(JSON.stringify(summary()) + '\n');
    newWindow(nextFirstT);
  };
  const timer = setTimeout(done, drainMs);
  w.waiter = () => { if (w.complete >= expected) done(); };
  w.waiter();
}

let finished = false;
function finish(code) {
  if (finished) return;
  finished = true;
  const out = summary();
  for (const ws of sockets) ws.terminate();
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(code));
}

const input = readline.createInterface({input: process.stdin});
input.on('line', (line) => {
  const [command, expected, drainMs, nextFirstT] = line.trim().split(/\s+/);
  if (command === 'report') report(Number(expected), Number(drainMs), Number(nextFirstT));
});
// With a signal count, stdin does not matter (it may be /dev/null); else its end ends the run,
// once the clients are connected and the ready line is out.
let ready = false, stdinClosed = false;
input.on('close', () => {
  if (signalsLimit !== Infinity) return;
  stdinClosed = true;
  if (ready) finish(0);
});
setTimeout(() => { console.error('listen: timeout'); finish(2); }, timeoutMs);
connectAll().catch((err) => {
  process.stdout.write(JSON.stringify({ready: 0, failed: clients, error: String(err)}) + '\n');
  process.exit(1);
});
