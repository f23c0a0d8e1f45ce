// Socket.IO v5 over Engine.IO v4, spoken over a raw `ws` websocket by bench/loadgen.js, with no
// socket.io client library. Only what the benchmark needs: the default namespace "/", text
// events, no acks, no binary. Frames (one Engine.IO packet per websocket frame):
//   server 0{"sid":..,"pingInterval":..}  engine open      -> client 40 (connect namespace "/")
//   server 40{"sid":..}                   namespace ready  -> ready(ws) resolves
//   server 44{"message":..}               connect refused  -> ready(ws) rejects
//   server 2                              ping             -> client 3 (pong)
//   server 42["event",data]               event            -> onEvent({event, data})
//   client 42["event",data]               encode(event, data)
// The client must not send events before ready(ws) resolves.
'use strict';

const states = new WeakMap();  // ws -> {promise, resolve, reject, ready}

function state(ws) {
  let s = states.get(ws);
  if (!s) {
    s = {ready: false};
    s.promise = new Promise((resolve, reject) => { s.resolve = resolve; s.reject = reject; });
    s.promise.catch(() => {});  // a rejection nobody awaits must not crash the process
    states.set(ws, s);
    if (typeof ws.once === 'function') {
      ws.once('close', () => { if (!s.ready) s.reject(new Error('socket.io: closed before connect')); });
    }
  }
  return s;
}

module.exports = {
  /** Websocket URL of the Socket.IO endpoint, given base ws://127.0.0.1:PORT. */
  url(base) {
    return base.replace(/\/+$/, '') + '/socket.io/?EIO=4&transport=websocket';
  },

  /** Text frame carrying one event to the default namespace. */
  encode(event, data) {
    return '42' + JSON.stringify([event, data]);
  },

  /** Handle one frame from the server; answers the handshake and pings on `ws`. */
  decode(raw, onEvent, ws) {
    const text = raw.toString();
    if (text[0] === '2') return ws.send('3');  // ping (payload-less in EIO 4)
    if (text[0] === '0') return ws.send('40');  // engine open: connect namespace "/"
    if (text[0] !== '4') return;  // 1 close, 3 pong, 6 noop: nothing to do
    const kind = text[1];
    if (kind === '2') {
      const [event, data] = JSON.parse(text.slice(2));
      onEvent({event, data});
    } else if (kind === '0') {
      const s = state(ws);
      s.ready = true;
      s.resolve(ws);
    } else if (kind === '4') {
      state(ws).reject(new Error('socket.io: connect refused: ' + text.slice(2)));
    }
  },

  /** Promise resolving (to ws) once the namespace connect ack "40" has arrived. */
  ready(ws) {
    return state(ws).promise;
  },
};
