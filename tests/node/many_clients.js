// N sockjs-client clients on one forced transport, each sending M numbered messages to an
// echo service and checking what comes back: none lost, none duplicated, all in order.
// Prints one JSON summary line; exits within the given timeout (ms) whatever happens.
'use strict';
const SockJS = require('sockjs-client');

const [url, transport, clientsArg, messagesArg, timeoutArg] = process.argv.slice(2);
const clients = Number(clientsArg), messages = Number(messagesArg);
const summary = {clients, messages, complete: 0, lost: 0, duplicated: 0, outOfOrder: 0,
                 closed: [], transports: {}};

function finish() {
  for (const state of states) {
    if (state.received.length < messages) summary.lost += messages - state.received.length;
  }
  process.stdout.write(JSON.stringify(summary) + '\n', () => process.exit(0));
}

const states = [];
for (let c = 0; c < clients; c++) {
  const state = {received: [], seen: new Set()};
  states.push(state);
  const sock = new SockJS(url, null, {transports: [transport]});
  sock.onopen = () => {
    summary.transports[sock.transport] = (summary.transports[sock.transport] || 0) + 1;
    for (let i = 0; i < messages; i++) sock.send(c + ':' + i);
  };
  sock.onmessage = (e) => {
    const n = Number(e.data.split(':')[1]);
    if (state.seen.has(n)) { summary.duplicated++; return; }
    if (n !== state.received.length) summary.outOfOrder++;
    state.seen.add(n);
    state.received.push(n);
    if (state.received.length === messages) {
      summary.complete++;
      sock.onclose = null;
      sock.close();
      if (summary.complete + summary.closed.length === clients) finish();
    }
  };
  sock.onclose = (e) => {
    summary.closed.push(e.code + ' ' + e.reason);
    if (summary.complete + summary.closed.length === clients) finish();
  };
}
setTimeout(finish, Number(timeoutArg || 60000));
