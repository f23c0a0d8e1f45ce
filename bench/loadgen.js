// Load generator for bench/: websocket clients against one server, on 127.0.0.1 only.
//
//   node loadgen.js <ws-url> <raw|sockjs|socketio> broadcast <clients> <rounds> [procs]
//   node loadgen.js <ws-url> <raw|sockjs|socketio> echo <clients> <seconds> [procs]
//
// The clients are spread over `procs` child processes (default 2), so that one Node event loop
// does not set the pace. broadcast: the websocket-shootout method; each round, four clients
// each send a "broadcast" at once, and a broadcast's latency is the time until the last client
// has it (wall clock, comparable across processes). echo: every client sends, waits for its
// answer, sends again, for `seconds`. Prints one JSON line: latencies (ms), and the busiest
// generator process's CPU share during the measurement, so a saturated generator shows in the
// results instead of passing for a slow server. Stops by itself (a 300 s overall timeout).
'use strict';
const {fork} = require('child_process');
const WebSocket = require('ws');
const {protocols, ids} = require('./protocols');

const now = () => performance.timeOrigin + performance.now();  // ms, the same clock in every process

if (process.argv[2] === '--child') {
  child();
} else {
  main().catch((err) => {
    process.stdout.write(JSON.stringify({error: String(err && err.stack || err)}) + '\n', () => process.exit(0));
  });
  setTimeout(() => { console.error('loadgen: overall timeout'); process.exit(2); }, 300000).unref();
}

// -- the coordinator ---------------------------------------------------------------------------

async function main() {
  const [base, mode, scenario, clientsArg, amountArg, procsArg] = process.argv.slice(2);
  if (!/^ws:\/\/(127\.0\.0\.1|localhost)[:/]/.test(base)) throw new Error('loopback only');
  if (!protocols[mode]) throw new Error('unknown mode ' + mode);
  const clients = Number(clientsArg), amount = Number(amountArg);
  const procs = Math.max(1, Math.min(Number(procsArg || 2), clients));
  const children = [];
  const pending = new Map();  // broadcast id -> {start, processes, latest, resolve}
  const onDone = (m) => {
    const p = pending.get(m.id);
    if (!p) return;
    p.processes++;
    p.latest = Math.max(p.latest, m.at);
    if (p.processes === children.length) { pending.delete(m.id); p.resolve(p.latest - p.start); }
  };
  for (let i = 0; i < procs; i++) {
    const count = Math.floor(clients / procs) + (i < clients % procs ? 1 : 0);
    children.push(spawn(i, base, mode, count, onDone));
  }
  try {
    const connected = await Promise.all(children.map((c) => c.next('ready')));
    const failed = connected.reduce((sum, m) => sum + m.failed, 0);
    if (failed) throw new Error(failed + ' of ' + clients + ' clients failed to connect: ' + connected.find((m) => m.failed).why);
    const result = scenario === 'echo'
      ? await echo(children, amount)
      : await broadcast(children, pending, amount);
    return report({clients, procs, ...result});
  } finally {
    for (const c of children) c.proc.kill();
  }
}

function spawn(index, base, mode, count, onDone) {
  const proc = fork(__filename, ['--child', base, mode, String(count), String(index)], {stdio: ['ignore', 'ignore', 'inherit', 'ipc']});
  const inbox = [];
  const waiting = [];
  proc.on('message', (m) => {
    if (m.type === 'done') return onDone(m);
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m); else inbox.push(m);
  });
  proc.on('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error('generator process exited with ' + code));
  });
  return {
    proc,
    count,
    send: (m) => proc.send(m),
    // The next message of `type`, or any message of that type already received.
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

async function broadcast(children, pending, rounds) {
  const latencies = [];
  let timedOut = false;
  for (const c of children) c.send({type: 'mark'});
  await Promise.all(children.map((c) => c.next('marked')));
  for (let round = 0; round < rounds && !timedOut; round++) {
    // Four concurrent broadcasts, from four clients spread over the processes.
    const waits = [];
    for (let k = 0; k < 4; k++) {
      const id = round * 4 + k;
      const c = children[k % children.length];
      waits.push(new Promise((resolve) => pending.set(id, {start: now(), processes: 0, latest: 0, resolve})));
      c.send({type: 'trigger', id, socket: (k * 7919) % c.count});
    }
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), 10000); });
    const results = await Promise.race([Promise.all(waits), timeout]);
    clearTimeout(timer);
    if (results === 'timeout') { latencies.push(Infinity); timedOut = true; break; }
    latencies.push(...results);
  }
  for (const c of children) c.send({type: 'cpu'});
  const cpu = await Promise.all(children.map((c) => c.next('cpu')));
  return {latencies, timedOut, generatorCpu: Math.max(...cpu.map((m) => m.share))};
}

async function echo(children, seconds) {
  for (const c of children) c.send({type: 'echo', seconds});
  const results = await Promise.all(children.map((c) => c.next('echoed', (seconds + 30) * 1000)));
  const latencies = [].concat(...results.map((m) => m.latencies));
  return {
    latencies,
    timedOut: false,
    perSecond: results.reduce((sum, m) => sum + m.count, 0) / seconds,
    generatorCpu: Math.max(...results.map((m) => m.share)),
  };
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : null;
}

function report({clients, procs, latencies, timedOut, perSecond, generatorCpu}) {
  const sorted = latencies.filter(Number.isFinite).sort((a, b) => a - b);
  const out = {
    clients, procs, samples: latencies.length, timedOut,
    p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99),
    perSecond: perSecond || null,
    generatorCpu,  // the busiest generator process, as a share of one core
  };
  return new Promise((resolve) => process.stdout.write(JSON.stringify(out) + '\n', resolve));
}

// -- a generator process -----------------------------------------------------------------------

function child() {
  const [base, mode, countArg, indexArg] = process.argv.slice(3);
  const protocol = protocols[mode];
  const count = Number(countArg);
  const sockets = new Array(count);
  const seen = new Map();  // broadcast id -> clients of this process that have it
  let echoState = null;
  let cpuMark = process.cpuUsage(), wallMark = now();

  const send = (m) => process.send(m);
  const share = () => {
    const cpu = process.cpuUsage(cpuMark);
    return (cpu.user + cpu.system) / 1000 / (now() - wallMark);
  };

  function onFrame(i, raw, ws) {
    const text = raw.toString();
    protocol.onFrame(text, ws);
    for (const id of ids(text)) {
      if (echoState) { echoState.answer(i); continue; }
      const n = (seen.get(id) || 0) + 1;
      if (n === count) { seen.delete(id); send({type: 'done', id, at: now()}); } else seen.set(id, n);
    }
  }

  // A refused connection (a server's listen backlog overrun by a burst) is tried again, as a
  // real client would, a few times with a growing pause.
  function connect(i, attempt = 0) {
    const ws = new WebSocket(protocol.url(base, i + Number(indexArg) * 1e6 + attempt * 1e5), {perMessageDeflate: false});
    ws.on('message', (raw) => onFrame(i, raw, ws));
    return new Promise((resolve, reject) => {
      ws.once('open', () => protocol.ready(ws).then(resolve, reject));
      ws.once('error', reject);
    }).then(() => { sockets[i] = ws; }, (err) => {
      ws.terminate();
      if (attempt >= 4) throw err;
      return new Promise((r) => setTimeout(r, 100 * (attempt + 1))).then(() => connect(i, attempt + 1));
    });
  }

  async function connectAll() {
    let failed = 0, why = '';
    for (let i = 0; i < count; i += 200) {
      const batch = [];
      for (let j = i; j < Math.min(count, i + 200); j++) {
        batch.push(connect(j).catch((err) => { failed++; why = String(err && err.message || err); }));
      }
      await Promise.all(batch);
    }
    send({type: 'ready', failed, why});
  }

  process.on('message', (m) => {
    if (m.type === 'mark') {
      cpuMark = process.cpuUsage(); wallMark = now();
      send({type: 'marked'});
    } else if (m.type === 'trigger') {
      sockets[m.socket].send(protocol.encode('broadcast', {t: m.id, payload: 'x'.repeat(64)}));
    } else if (m.type === 'cpu') {
      send({type: 'cpu', share: share()});
    } else if (m.type === 'echo') {
      runEcho(m.seconds);
    }
  });

  function runEcho(seconds) {
    const starts = new Float64Array(count);
    const latencies = [];
    let answered = 0, running = true;
    const fire = (i) => {
      starts[i] = now();
      sockets[i].send(protocol.encode('echo', {t: i, payload: 'x'.repeat(64)}));
    };
    echoState = {
      answer(i) {
        if (!running) return;
        latencies.push(now() - starts[i]);
        answered++;
        fire(i);
      },
    };
    cpuMark = process.cpuUsage(); wallMark = now();
    for (let i = 0; i < count; i++) fire(i);
    setTimeout(() => {
      running = false;
      // A sample of the latencies is enough for percentiles; the count is exact.
      const step = Math.max(1, Math.floor(latencies.length / 20000));
      send({type: 'echoed', count: answered, latencies: latencies.filter((_, k) => k % step === 0), share: share()});
    }, seconds * 1000);
  }

  process.on('disconnect', () => process.exit(0));
  connectAll();
}
