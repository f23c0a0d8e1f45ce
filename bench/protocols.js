// How the load generator speaks to each kind of server, over a `ws` websocket:
//   raw      plain JSON text frames {"event", "data"} (the gevent floor, Channels)
//   sockjs   a SockJS session's websocket (<base>/000/<id>/websocket): "o", "h", a[...] frames
//   socketio Socket.IO v5 / Engine.IO v4 (bench/peers/socketio_protocol.js)
// Each protocol: url(base, n) for the n-th client, ready(ws) resolving once the client may send,
// encode(event, data) for a frame, and ids(text) listing the "t" field of each event in a frame
// (every benchmark event carries one), found without parsing the frame.
'use strict';
const socketio = require('./peers/socketio_protocol');

// "t":12 in a raw or Socket.IO frame, \"t\":12 inside a SockJS frame's JSON string.
const T_FIELD = /t\\?":\s?(\d+)/g;

function ids(text) {
  const found = [];
  T_FIELD.lastIndex = 0;
  let match;
  while ((match = T_FIELD.exec(text)) !== null) found.push(Number(match[1]));
  return found;
}

function onFirstMessage(ws, accept) {
  return new Promise((resolve, reject) => {
    const onMessage = (raw) => {
      if (!accept(raw.toString())) return;
      ws.off('message', onMessage);
      resolve(ws);
    };
    ws.on('message', onMessage);
    ws.once('close', () => reject(new Error('closed before ready')));
  });
}

const protocols = {
  raw: {
    url: (base) => base,
    ready: (ws) => Promise.resolve(ws),
    encode: (event, data) => JSON.stringify({event, data}),
    onFrame: () => {},
  },
  sockjs: {
    url: (base, n) => base + '/000/' + n.toString(36) + process.pid.toString(36) + '/websocket',
    ready: (ws) => onFirstMessage(ws, (text) => text === 'o'),
    encode: (event, data) => JSON.stringify([JSON.stringify({event, data})]),
    onFrame: () => {},
  },
  socketio: {
    url: (base) => socketio.url(base),
    ready: (ws) => socketio.ready(ws),
    encode: (event, data) => socketio.encode(event, data),
    // Answers the handshake and pings; events ("42...") are counted by ids() like the others.
    onFrame: (text, ws) => { if (text[0] !== '4' || text[1] !== '2') socketio.decode(text, () => {}, ws); },
  },
};

module.exports = {protocols, ids};
