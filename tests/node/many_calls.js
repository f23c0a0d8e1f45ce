// N sockjs-client clients (websocket) of a clientsignal endpoint open together; once all are
// open (or closed without opening) the line {"opened": N} is printed, and every open client
// makes one call at once
// ({"event", "data", "call"}, as SignalSocket.call does). Once every call is settled it prints
// one JSON summary line (how many calls were answered, the error messages, closes, the slowest
// answer in ms) and keeps the sockets open, idle, until its stdin ends. Exits within the given
// timeout (ms) whatever happens.
'use strict';
const SockJS = require('sockjs-client');

const [url, clientsArg, event, dataArg, timeoutArg, transport] = process.argv.slice(2);
const clients = Number(clientsArg);
const data = JSON.parse(dataArg || '{}');
const summary = {clients, opened: 0, answered: 0, errors: [], closed: [], slowestMs: 0};
const socks = [];
let started = 0;
let done = false;

function finish() {
  if (done) return;
  done = true;
  process.stdout.write(JSON.stringify(summary) + '\n');
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

function settled() {
  if (summary.answered + summary.errors.length + summary.closed.length >= clients) finish();
}

let fired = false;
function fire() {
  fired = true;
  process.stdout.write(JSON.stringify({opened: summary.opened}) + '\n');
  started = Date.now();
  for (const sock of socks) {
    sock.send(JSON.stringify({event, data, call: 1}));
  }
}

for (let c = 0; c < clients; c++) {
  // timeout: how long sockjs-client waits for the session to open before it gives up on the
  // transport (by default twice its estimate of the round trip, under a second here); a class
  // whose on_open queries waits its turn for a database connection first, longer than that
  // when 300 open at once on a busy machine.
  const sock = new SockJS(url, null, {transports: [transport || 'websocket'], timeout: 30000});
  socks.push(sock);
  sock.onopen = () => {
    summary.opened++;
    if (summary.opened + summary.closed.length === clients) fire();
  };
  sock.onmessage = (e) => {
    const message = JSON.parse(e.data);
    if (message.reply !== 1) return;
    summary.slowestMs = Math.max(summary.slowestMs, Date.now() - started);
    if (message.error) summary.errors.push(message.error.message);
    else summary.answered++;
    settled();
  };
  sock.onclose = (e) => {
    summary.closed.push(e.code + ' ' + e.reason);
    // A socket that never opened: the others make their calls all the same.
    if (!fired && summary.opened + summary.closed.length === clients) fire();
    settled();
  };
}
setTimeout(() => {
  if (!fired) process.stdout.write(JSON.stringify({opened: summary.opened}) + '\n');
  finish();
  process.stdout.write('', () => process.exit(0));
}, Number(timeoutArg || 60000));
