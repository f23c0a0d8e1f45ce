// Load generator for bench/: N websocket clients against one server, on 127.0.0.1 only.
//   node loadgen.js <ws-url> <sockjs|raw> broadcast <clients> <rounds>
//   node loadgen.js <ws-url> <sockjs|raw> echo <clients> <seconds>
// Prints one JSON line: latencies (ms) and the generator's own CPU use, so a saturated
// generator shows in the results instead of passing for a slow server.
'use strict';
const WebSocket = require('ws');

const [base, mode, scenario, clientsArg, amountArg] = process.argv.slice(2);
const clients = Number(clientsArg), amount = Number(amountArg);
if (!/^ws:\/\/(127\.0\.0\.1|localhost)[:/]/.test(base)) throw new Error('loopback only');

let nextSession = 0;
function url() {
  return mode === 'sockjs' ? base + '/000/' + (nextSession++).toString(36) + 'b/websocket' : base;
}
function encode(event, data) {
  const text = JSON.stringify({event, data});
  return mode === 'sockjs' ? JSON.stringify([text]) : text;
}
function decode(raw, onEvent) {
  const text = raw.toString();
  if (mode === 'raw') return onEvent(JSON.parse(text));
  if (text[0] !== 'a') return;  // o, h
  for (const m of JSON.parse(text.slice(1))) onEvent(JSON.parse(m));
}

function connect(onEvent) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url(), {perMessageDeflate: false});
    ws.on('message', (raw) => decode(raw, onEvent));
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : null;
}

async function connectAll(onEvent) {
  const sockets = [];
  for (let i = 0; i < clients; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(clients, i + 100); j++) batch.push(connect((e) => onEvent(j, e)));
    sockets.push(...await Promise.all(batch));
  }
  if (mode === 'sockjs') await new Promise((r) => setTimeout(r, 50));  // open frames in
  return sockets;
}

async function broadcast() {
  const pending = new Map();  // id -> {start, count, resolve}
  const sockets = await connectAll((i, e) => {
    if (e.event !== 'tick' && e.event !== 'broadcast') return;
    const p = pending.get(e.data.t);
    if (p && ++p.count === clients) { p.resolve(performance.now() - p.start); pending.delete(e.data.t); }
  });
  const latencies = [];
  const cpuStart = process.cpuUsage(), wallStart = performance.now();
  for (let round = 0; round < amount; round++) {
    const waits = [];
    for (let k = 0; k < 4; k++) {  // four concurrent broadcasts, from four clients
      const id = round * 4 + k;
      waits.push(new Promise((resolve) => pending.set(id, {start: performance.now(), count: 0, resolve})));
      sockets[(k * 7919) % clients].send(encode('broadcast', {t: id, payload: 'x'.repeat(64)}));
    }
    const timeout = new Promise((r) => setTimeout(() => r('timeout'), 10000));
    const results = await Promise.race([Promise.all(waits), timeout]);
    if (results === 'timeout') { latencies.push(Infinity); break; }
    latencies.push(...results);
  }
  report({latencies, cpuStart, wallStart, sockets});
}

async function echo() {
  let sent = 0, done = false;
  const latencies = [];
  const starts = new Array(clients);
  let sockets;
  sockets = await connectAll((i, e) => {
    if (e.event !== 'echo') return;
    latencies.push(performance.now() - starts[i]);
    if (!done) fire(i);
  });
  function fire(i) { starts[i] = performance.now(); sent++; sockets[i].send(encode('echo', {t: i, payload: 'x'.repeat(64)})); }
  const cpuStart = process.cpuUsage(), wallStart = performance.now();
  for (let i = 0; i < clients; i++) fire(i);
  await new Promise((r) => setTimeout(r, amount * 1000));
  done = true;
  report({latencies, cpuStart, wallStart, sockets, perSecond: latencies.length / amount});
}

function report({latencies, cpuStart, wallStart, sockets, perSecond}) {
  const cpu = process.cpuUsage(cpuStart);
  const wall = performance.now() - wallStart;
  const sorted = latencies.filter(Number.isFinite).sort((a, b) => a - b);
  const out = {
    clients, samples: latencies.length, timedOut: latencies.some((l) => !Number.isFinite(l)),
    p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99),
    perSecond: perSecond || null,
    generatorCpu: (cpu.user + cpu.system) / 1000 / wall,  // share of one core
  };
  for (const ws of sockets) ws.terminate();
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
}

(scenario === 'echo' ? echo : broadcast)().catch((err) => {
  process.stdout.write(JSON.stringify({clients, error: String(err)}) + '\n', () => process.exit(0));
});
setTimeout(() => { console.error('loadgen: overall timeout'); process.exit(2); }, 300000);
