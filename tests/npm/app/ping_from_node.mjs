// The npm package from Node, both ways it loads: `import` and `require` (which give the same
// SignalSocket), then the README's ping/pong with the server in argv[2], once over each
// transport in argv[3] (comma-separated: websocket; Node's sockjs-client keeps no cookies, which
// the HTTP transports need). Prints one JSON line; always exits (20 s timeout).
import {createRequire} from 'node:module';
import SignalSocket from 'django-clientsignal';

const required = createRequire(import.meta.url)('django-clientsignal');
const [server, transports] = process.argv.slice(2);

function ping(transport) {
  return new Promise((resolve) => {
    const sock = new SignalSocket(server + '/simple', {transports: [transport], reconnect: false});
    sock.on('open', () => sock.send('ping', {ping: 'from node'}));
    sock.on('pong', (data) => {
      resolve({transport, used: sock.transport, pong: data.pong});
      sock.close();
    });
    sock.on('close', (info) => resolve({transport, close: info.code + ' ' + info.reason}));
  });
}

setTimeout(() => { console.log(JSON.stringify({error: 'timeout'})); process.exit(1); }, 20000).unref();
const results = [];
for (const transport of transports.split(',')) {
  results.push(await ping(transport));
}
console.log(JSON.stringify({same: SignalSocket === required, results}));
