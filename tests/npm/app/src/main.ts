// The README's ping/pong from a bundled front end: SignalSocket imported from the npm package,
// sockjs-client with it, no script tag of the Django package. ?transport=... chooses the
// SockJS transport (websocket by default).
import SignalSocket from 'django-clientsignal';

interface Pong {
  pong: string;
}

const log = document.getElementById('log') as HTMLPreElement;
const transport = new URLSearchParams(location.search).get('transport') ?? 'websocket';
const sock = new SignalSocket('/simple', {transports: [transport], reconnect: false});

sock.on('open', (info) => {
  log.textContent += `open ${info.transport}\n`;
  sock.send('ping', {ping: 'from vite'});
});
sock.on<Pong>('pong', (data) => {
  log.textContent += `pong ${data.pong} over ${sock.transport}\n`;
});
sock.on('close', (info) => {
  log.textContent += `close ${info.code} ${info.reason}\n`;
});
