// Checked by `tsc -p tsconfig.node.json`, never run: the CommonJS types (require).
import SignalSocket = require('django-clientsignal');

export function typed(sock: SignalSocket): SignalSocket.CloseInfo | null {
  const open: 1 = SignalSocket.OPEN;
  // @ts-expect-error: an event's name is needed
  sock.send();
  return sock.readyState === open ? null : {code: 1000, reason: '', wasClean: true};
}
