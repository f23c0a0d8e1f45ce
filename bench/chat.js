// Load generator of the dbchat scenario (bench/dbchat.py): chat rooms on one server, 127.0.0.1 only.
//
//   node chat.js <ws-base> <raw|sockjs> <rooms> <clients-per-room> closed <seconds> [procs]
//   node chat.js <ws-base> <raw|sockjs> <rooms> <clients-per-room> rate <seconds> <messages/s> [procs]
//
// Room r (1..rooms) is <ws-base>/<r>. Every client sends "say" {t, author, text}; the server
// saves it as a row and sends "said" (with the same t) to every member of the room, the sender
// included: the sender's copy is its acknowledgement. Once connected, every client says one
// line, and all are waited for (a warm-up, counted apart). closed: each client sends its next
// message when its previous one came back to it. rate: `messages/s` in all, each client at
// the same fixed rate whatever the answers (their sends spread evenly over the period). After
// `seconds` nobody sends; the messages still out are waited for (up to 10 s).
//
// Every room's clients live in one generator process (rooms spread over `procs` processes, 2 by
// default), which times each message from its send to each member's receipt. Prints one JSON
// line: sent, acknowledged, delivered to every member, receipts (and those expected), per-second
// rates over the sending window, latency percentiles per receipt and until the last member has
// it (ms), and the busiest generator process's CPU share. Stops by itself (a 300 s timeout).
'use strict';
const {fork} = require('child_process');
const WebSocket = require('ws');
const {protocols, ids} = require('./protocols');

const now = () => performance.timeOrigin + performance.now();
const DRAIN_MS = 10000;
const SAMPLES = 50000;  // latencies kept per process for the percentiles (an even sample)

if (process.argv[2] === '--child') {
  child();
} else {
  main().catch((err) => {
    process.stdout.write(JSON.stringify({error: String(err && err.stack || err)}) + '\n', () => process.exit(0));
  });
  setTimeout(() => { console.error('chat.js: overall timeout'); process.exit(2); }, 300000).unref();
}

// -- the coordinator ---------------------------------------------------------------------------

async function main() {
  const args = process.argv.slice(2);
  const [base, mode, roomsArg, perRoomArg, phase, secondsArg] = args;
  const rate = phase === 'rate' ? Number(args[6]) : 0;
  const procsArg = args[phase === 'rate' ? 7 : 6];
  if (!/^ws:\/\/(127\.0\.0\.1|localhost)[:/]/.test(base)) throw new Error('loopback only');
  if (!protocols[mode]) throw new Error('unknown mode ' + mode);
  if (phase !== 'closed' && phase !== 'rate') throw new Error('phase: closed or rate');
  const rooms = Number(roomsArg), perRoom = Number(perRoomArg), seconds = Number(secondsArg);
  if (!(rooms > 0 && perRoom > 0 && seconds > 0) || (phase === 'rate' && !(rate > 0))) {
    throw new Error('rooms, clients per room, seconds (and rate) must be positive');
  }
  const procs = Math.max(1, Math.min(Number(procsArg || 2), rooms));
  const children = [];
  for (let i = 0; i < procs; i++) {
    const mine = [];
    for (let r = 1; r <= rooms; r++) if ((r - 1) % procs === i) mine.push(r);
    children.push(spawn(i, base, mode, mine, perRoom));
  }
  try {
    const connected = await Promise.all(children.map((c) => c.next('ready')));
    const failed = connected.reduce((sum, m) => sum + m.failed, 0);
    if (failed) throw new Error(failed + ' of ' + rooms * perRoom + ' clients failed to connect: ' + connected.find((m) => m.failed).why);
    const warmup = {
      sent: connected.reduce((sum, m) => sum + m.warmupSent, 0),
      acked: connected.reduce((sum, m) => sum + m.warmupAcked, 0),
    };
    const start = now() + 100;  // every process starts sending at the same moment
    for (const c of children) c.send({type: 'go', phase, seconds, rate, start, procs, total: rooms * perRoom});
    const results = await Promise.all(children.map((c) => c.next('result', (seconds + 60) * 1000)));
    return report({rooms, perRoom, phase, seconds, rate, procs, warmup}, results);
  } finally {
    for (const c of children) c.proc.kill();
  }
}

function spawn(index, base, mode, rooms, perRoom) {
  const argv = ['--child', base, mode, JSON.stringify(rooms), String(perRoom), String(index)];
  const proc = fork(__filename, argv, {stdio: ['ignore', 'ignore', 'inherit', 'ipc']});
  const inbox = [];
  const waiting = [];
  proc.on('message', (m) => {
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m); else inbox.push(m);
  });
  proc.on('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error('generator process exited with ' + code));
  });
  return {
    proc,
    send: (m) => proc.send(m),
    next(type, timeout = 120000) {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const entry = {type, resolve, reject};
        waiting.push(entry);
        setTimeout(() => {
          const j = waiting.indexOf(entry);
          if (j >= 0) { waiting.splice(j, 1); reject(new Error('timed out waiting for ' + type)); }
        }, timeout).unref();
      });
    },
  };
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : null;
}

function round(value) {
  return value === null ? null : Math.round(value * 100) / 100;
}

// Samples of several processes, merged so that each process weighs by the receipts it had.
function merged(results, key, countKey) {
  const out = [];
  for (const r of results) {
    const weight = r[countKey] / Math.max(1, r[key].length);
    for (const v of r[key]) out.push([v, weight]);
  }
  out.sort((a, b) => a[0] - b[0]);
  const total = out.reduce((sum, [, w]) => sum + w, 0);
  return (p) => {
    let seen = 0;
    for (const [v, w] of out) { seen += w; if (seen >= total * p) return v; }
    return out.length ? out[out.length - 1][0] : null;
  };
}

function report(setup, results) {
  const sum = (key) => results.reduce((total, r) => total + r[key], 0);
  const receipt = merged(results, 'latencies', 'receipts');
  const last = merged(results, 'lastLatencies', 'complete');
  const out = {
    ...setup,
    clients: setup.rooms * setup.perRoom,
    sent: sum('sent'),
    acked: sum('acked'),
    complete: sum('complete'),  // delivered to every member of the room
    receipts: sum('receipts'),
    expectedReceipts: sum('sent') * setup.perRoom,
    unexpected: sum('unexpected'),  // receipts of a message already had by every member
    closed: sum('closed'),
    perSecond: sum('windowComplete') / setup.seconds,
    receiptsPerSecond: sum('windowReceipts') / setup.seconds,
    p50: round(receipt(0.5)), p95: round(receipt(0.95)), p99: round(receipt(0.99)),
    lastP50: round(last(0.5)), lastP99: round(last(0.99)),
    generatorCpu: Math.max(...results.map((r) => r.share)),
  };
  return new Promise((resolve) => process.stdout.write(JSON.stringify(out) + '\n', resolve));
}

// -- a generator process: some rooms, all their clients ----------------------------------------

function child() {
  const [base, mode, roomsArg, perRoomArg, indexArg] = process.argv.slice(3);
  const protocol = protocols[mode];
  const rooms = JSON.parse(roomsArg), perRoom = Number(perRoomArg), index = Number(indexArg);
  const clients = [];  // {ws, room, name, k}
  const pending = new Map();  // t -> {sent, sender, got}
  const stats = {
    sent: 0, acked: 0, complete: 0, receipts: 0, unexpected: 0, closed: 0,
    windowComplete: 0, windowReceipts: 0,
  };
  const latencies = [], lastLatencies = [];
  let counter = 0, running = false, windowEnd = Infinity, onAck = () => {};
  let cpuMark = process.cpuUsage(), wallMark = now();
  const send = (m) => process.send(m);
  const pad = 'x'.repeat(48);

  function say(c) {
    const t = index * 1e9 + (++counter);
    pending.set(t, {sent: now(), sender: c, got: 0});
    stats.sent++;
    c.ws.send(protocol.encode('say', {t, author: c.name, text: 'message ' + t + ' ' + pad}));
  }

  function onFrame(c, raw) {
    const text = raw.toString();
    for (const t of ids(text)) {
      const p = pending.get(t);
      if (!p) { stats.unexpected++; continue; }
      const at = now();
      p.got++;
      stats.receipts++;
      if (at <= windowEnd) stats.windowReceipts++;
      latencies.push(at - p.sent);
      if (p.sender === c) { stats.acked++; onAck(c); }
      if (p.got === perRoom) {
        pending.delete(t);
        stats.complete++;
        if (at <= windowEnd) stats.windowComplete++;
        lastLatencies.push(at - p.sent);
      }
    }
  }

  // A refused connection is tried again, as a real client would, a few times.
  function connect(c, n, attempt = 0) {
    const url = protocol.url(base + '/' + c.room, n + attempt * 1e5);
    const ws = new WebSocket(url, {perMessageDeflate: false});
    ws.on('message', (raw) => onFrame(c, raw));
    return new Promise((resolve, reject) => {
      ws.once('open', () => protocol.ready(ws).then(resolve, reject));
      ws.once('error', reject);
    }).then(() => {
      c.ws = ws;
      ws.on('close', () => { if (running || pending.size) stats.closed++; });
    }, (err) => {
      ws.terminate();
      if (attempt >= 4) throw err;
      return new Promise((r) => setTimeout(r, 100 * (attempt + 1))).then(() => connect(c, n, attempt + 1));
    });
  }

  async function connectAll() {
    let failed = 0, why = '';
    for (const room of rooms) {
      for (let k = 0; k < perRoom; k++) {
        clients.push({ws: null, room, name: 'r' + room + 'c' + k, k: clients.length});
      }
    }
    for (let i = 0; i < clients.length; i += 100) {
      await Promise.all(clients.slice(i, i + 100).map((c) => connect(c, index * 1e6 + c.k).catch((err) => {
        failed++; why = String(err && err.message || err);
      })));
    }
    if (failed) { send({type: 'ready', failed, why, warmupSent: 0, warmupAcked: 0}); return; }
    // Warm-up: one line from every client, all of them waited for.
    for (const c of clients) say(c);
    const deadline = now() + 30000;
    while (pending.size && now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const warmupSent = stats.sent, warmupAcked = stats.acked;
    pending.clear();
    for (const key of Object.keys(stats)) stats[key] = 0;
    latencies.length = 0; lastLatencies.length = 0;
    send({type: 'ready', failed, why, warmupSent, warmupAcked});
  }

  function finish() {
    running = false;
    const deadline = now() + DRAIN_MS;
    const wait = () => {
      if (pending.size && now() < deadline) { setTimeout(wait, 20); return; }
      const step = (list) => list.filter((_, k) => k % Math.max(1, Math.ceil(list.length / SAMPLES)) === 0);
      const share = (() => {
        const cpu = process.cpuUsage(cpuMark);
        return (cpu.user + cpu.system) / 1000 / (windowEnd - wallMark);
      })();
      send({type: 'result', ...stats, latencies: step(latencies), lastLatencies: step(lastLatencies), share});
    };
    wait();
  }

  function go({phase, seconds, rate, start, procs, total}) {
    setTimeout(() => {
      running = true;
      cpuMark = process.cpuUsage(); wallMark = now();
      windowEnd = wallMark + seconds * 1000;
      setTimeout(finish, seconds * 1000);
      if (phase === 'closed') {
        onAck = (c) => { if (running) say(c); };
        for (const c of clients) say(c);
        return;
      }
      // rate: the sends of a process's clients spread evenly over the period, each process's
      // shifted by its share of one step
      const period = 1000 * total / rate;  // ms between two sends of one client
      for (const c of clients) {
        let due = wallMark + period * ((c.k + index / procs) / clients.length);
        const tick = () => {
          if (!running) return;
          say(c);
          due += period;
          setTimeout(tick, Math.max(0, due - now()));
        };
        setTimeout(tick, Math.max(0, due - now()));
      }
    }, Math.max(0, start - now()));
  }

  process.on('message', (m) => { if (m.type === 'go') go(m); });
  process.on('disconnect', () => process.exit(0));
  connectAll();
}
