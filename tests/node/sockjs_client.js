// Drives the real sockjs-client from Node: connect with one forced transport, send the
// messages given as a JSON array in argv[4], wait for as many messages back, print one JSON
// line {received, transport, close}. Always exits: a 20 s overall timeout.
'use strict';
const SockJS = require('sockjs-client');

const [url, transport, messagesJson] = process.argv.slice(2);
const messages = JSON.parse(messagesJson || '[]');
const received = [];
let used;

function finish(close) {
  // Exit only once the (possibly large) line is flushed to the pipe.
  process.stdout.write(JSON.stringify({received, transport: used, close}) + '\n', () => process.exit(0));
}

const sock = new SockJS(url, null, {transports: [transport]});
sock.onopen = () => {
  used = sock.transport;
  for (const m of messages) sock.send(m);
};
sock.onmessage = (e) => {
  received.push(e.data);
  if (messages.length && received.length === messages.length) {
    sock.onclose = null;
    sock.close();
    finish(null);
  }
};
sock.onclose = (e) => finish({code: e.code, reason: e.reason});
setTimeout(() => finish({code: 'timeout'}), 20000);
