// Peer for bench/: sockjs-node, the reference SockJS server, with the same behaviour as the
// benchmark's clientsignal project: "broadcast" reaches every client as "tick", "echo" answers.
//   node bench/peers/sockjs_node.js PORT       (listens on 127.0.0.1 only)
'use strict';
const http = require('http');
const sockjs = require('sockjs');

const clients = new Set();
const service = sockjs.createServer({prefix: '/bench', log: () => {}});
service.on('connection', (conn) => {
  clients.add(conn);
  conn.on('close', () => clients.delete(conn));
  conn.on('data', (text) => {
    const message = JSON.parse(text);
    if (message.event === 'broadcast') {
      // sockjs-node frames each write per connection; encode the payload once at least.
      const out = JSON.stringify({event: 'tick', data: message.data});
      for (const client of clients) client.write(out);
    } else {
      conn.write(JSON.stringify({event: 'echo', data: message.data}));
    }
  });
});
const server = http.createServer((req, res) => { res.writeHead(200); res.end('ok'); });
service.installHandlers(server);
server.listen(Number(process.argv[2]), '127.0.0.1');
