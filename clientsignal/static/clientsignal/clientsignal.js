/*
 * clientsignal: Django signals as browser events.
 *
 *   var sock = new SignalSocket('/simple');
 *   sock.on('pong', function (data) { ... });
 *   sock.send('ping', {ping: 'x'});
 *
 * One SockJS message is the JSON text {"event": name, "data": {...}} both ways. The socket
 * reconnects with exponential backoff and jitter; sends made while it is not open are queued
 * (bounded) and flushed in order on the next open. Local events: open, close, reconnecting,
 * error. Needs sockjs-client (the global SockJS, or require('sockjs-client') under Node).
 *
 * Lifecycle events, one disconnection at a time:
 *   - open: the session (or channel) really opened; a session the server refuses (a close
 *     frame without the open frame, or "uns" without "sub") never fires it.
 *   - close: once per disconnection. An open socket that closes fires it (with the server's
 *     code and reason), then reconnecting if it will retry. Attempts that fail without opening
 *     fire reconnecting only. A socket that gives up (4401 or 4403 from the server, maxRetries
 *     reached, reconnect false, or close() called) fires close with that code and reason only if
 *     it has fired none since it last opened: so a first connect refused with 4401 gives exactly
 *     close 4401, and close() during reconnecting adds nothing after the drop's close.
 *   - reconnecting {attempt, delay}: before each reconnect attempt.
 * Open, drop, three failed attempts, success: open, close, reconnecting x4, open.
 *
 * Calls: sock.call(name, data, {timeout}) sends {"event", "data", "call": id} and returns a
 * Promise of the listened signal's receivers' answer, {"reply": id, "data": ...}; an error
 * reply ({"reply": id, "error": {"message"}}), the timeout, or the connection dropping while
 * the call is out reject it. A call made while reconnecting is sent (and answered) once open.
 *
 * History: messages of a stream the server keeps carry {"s": stream, "p": position}; the
 * socket remembers the last position of each, the positions the server gives for the streams
 * it has had no message of yet ({"positions": {stream: position}}), and the resume token
 * ({"resume": token}), and asks for what it missed when it reconnects: its opening request says
 * ?recovering=1 and its first message is "recover=...&resume=..." (the third field of "sub" for
 * a channel), so that the token is in no URL (proxies and servers log those); such a socket
 * fires `open` on the server's first message, once the server accepted it. What cannot be
 * replayed comes as a `gap` event ({streams: [{id, kind, name}]}: each stream named as the
 * app sends to it, a room's with its `args`): refetch the state it concerns. A stream that
 * lost messages while the socket was open (a server outage) says so with a `gap` too, at its
 * position.
 *
 * Multiplexing: with a multiplexed service (option `multiplex`, by default the prefix the
 * template tag gives in the script's data-multiplex attribute), every SignalSocket of the page
 * whose endpoint is on that server shares one SockJS session: each is a channel, subscribed
 * with "sub,<path>" and closed with "uns,<path>", its messages travelling as
 * "msg,<path>,<json>". Opening or closing a channel never reconnects the others.
 */
// The UMD wrapper: the global SignalSocket in a page, module.exports under CommonJS. The npm
// package's modules are built (scripts/build_npm.js) from the factory alone, the function
// signalSocketFactory: from its line to the `}));` that ends this file.
(function (root, factory) {
  'use strict';
  if (typeof module === 'object' && module.exports) {
    module.exports = factory(root.SockJS || (function () {
      try { return require('sockjs-client'); } catch (e) { return undefined; }
    })());
  } else {
    root.SignalSocket = factory(root.SockJS);
  }
}(typeof self !== 'undefined' ? self : this, function signalSocketFactory(GlobalSockJS) {
  'use strict';

  // The multiplexed service the template tag named on this script, if any.
  var scriptMultiplex = null;
  if (typeof document !== 'undefined' && document.currentScript) {
    scriptMultiplex = document.currentScript.getAttribute('data-multiplex');
  }

  var CONNECTING = 0, OPEN = 1, CLOSING = 2, CLOSED = 3;
  // Close codes after which reconnecting cannot help: the server refused this client.
  var FINAL_CODES = [4401, 4403];
  var DEFAULTS = {
    transports: undefined,
    sockjsOptions: {},
    reconnect: true,
    minDelay: 500,
    maxDelay: 10000,
    factor: 2,
    jitter: 0.5,
    maxQueue: 1000,
    maxRetries: Infinity,
    callTimeout: 10000,
    SockJS: undefined,
    random: Math.random,
    multiplex: scriptMultiplex
  };

  function SignalSocket(url, options) {
    if (!(this instanceof SignalSocket)) { return new SignalSocket(url, options); }
    this.url = url;
    this.options = {};
    var key;
    for (key in DEFAULTS) { this.options[key] = DEFAULTS[key]; }
    for (key in (options || {})) { this.options[key] = options[key]; }
    this._SockJS = this.options.SockJS || GlobalSockJS;
    if (!this._SockJS) { throw new Error('SignalSocket needs sockjs-client (global SockJS)'); }
    this._handlers = {};
    this._queue = [];  // {text, call}: sends and calls made while not open, in order
    this._calls = {};  // call id -> {resolve, reject, timer, sent}
    this._nextCall = 1;
    this._positions = {};  // stream id -> position of the last message seen
    this._resume = '';
    // Sent the recovery as its first message: open once the server's first message comes.
    this._recovering = false;
    this._attempt = 0;
    this._timer = null;
    this._stopped = false;
    this._sock = null;
    // Whether `close` has been emitted since the last `open` (or since construction).
    this._closeEmitted = false;
    // Multiplexed: a channel of a shared Multiplexer instead of a SockJS session of its own.
    this._mux = Multiplexer.of(this);
    this._topic = null;
    this._state = CONNECTING;
    this._connect();
  }

  SignalSocket.version = '0.1.0';
  /** Defaults of every option; set SignalSocket.defaults.multiplex to turn multiplexing on. */
  SignalSocket.defaults = DEFAULTS;
  SignalSocket.CONNECTING = CONNECTING;
  SignalSocket.OPEN = OPEN;
  SignalSocket.CLOSING = CLOSING;
  SignalSocket.CLOSED = CLOSED;

  Object.defineProperty(SignalSocket.prototype, 'readyState', {
    get: function () {
      if (this._mux) { return this._state; }
      if (this._recovering) { return CONNECTING; }
      return this._sock ? this._sock.readyState : CLOSED;
    }
  });
  Object.defineProperty(SignalSocket.prototype, 'transport', {
    get: function () {
      var sock = this._mux ? this._mux.sock : this._sock;
      return sock ? sock.transport : undefined;
    }
  });
  /** Whether this socket is a channel of a shared, multiplexed SockJS session. */
  Object.defineProperty(SignalSocket.prototype, 'multiplexed', {
    get: function () { return this._mux !== null; }
  });

  /** Call fn(data, name) for every event `name`. */
  SignalSocket.prototype.on = function (name, fn) {
    (this._handlers[name] = this._handlers[name] || []).push(fn);
    return this;
  };

  /** Remove fn from `name`, or every handler of `name` when fn is omitted. */
  SignalSocket.prototype.off = function (name, fn) {
    var list = this._handlers[name];
    if (!list) { return this; }
    if (fn === undefined) { delete this._handlers[name]; return this; }
    this._handlers[name] = list.filter(function (h) { return h !== fn && h._original !== fn; });
    return this;
  };

  /** Call fn for the next event `name` only. */
  SignalSocket.prototype.once = function (name, fn) {
    var self = this;
    function wrapper(data, event) { self.off(name, wrapper); fn.call(self, data, event); }
    wrapper._original = fn;
    return this.on(name, wrapper);
  };

  /** Send the event `name` to the server; queued while the socket is not open. */
  SignalSocket.prototype.send = function (name, data) {
    var text = JSON.stringify({event: name, data: data === undefined ? {} : data});
    return this._transmit(text, null);
  };

  /**
   * Call the server: fire the listened signal `name` and resolve with what its receivers
   * returned (the one answer, null when none answers, a list when several do). Rejected with
   * the server's error message, after `options.timeout` ms (default: the callTimeout option),
   * or when the connection drops while the call is out. Made while reconnecting, it is sent
   * once the socket is open again.
   */
  SignalSocket.prototype.call = function (name, data, options) {
    var self = this;
    var id = this._nextCall++;
    var timeout = (options && options.timeout) || this.options.callTimeout;
    return new Promise(function (resolve, reject) {
      if (self._stopped) { reject(callError('closed', name)); return; }
      var pending = self._calls[id] = {resolve: resolve, reject: reject, timer: null, sent: false, name: name};
      pending.timer = setTimeout(function () {
        self._settle(id, callError('timeout', name));
      }, timeout);
      var text = JSON.stringify({event: name, data: data === undefined ? {} : data, call: id});
      pending.sent = self._transmit(text, id);
    });
  };

  function callError(message, name, reply) {
    var error = new Error(message);
    error.event = name;
    if (reply) { error.reply = reply; }
    return error;
  }

  // Resolve (`error` undefined) or reject call `id`, once.
  SignalSocket.prototype._settle = function (id, error, value) {
    var pending = this._calls[id];
    if (!pending) { return; }
    delete this._calls[id];
    clearTimeout(pending.timer);
    if (error) { pending.reject(error); } else { pending.resolve(value); }
  };

  // The calls out when the connection drops may or may not have run: rejected, never resent.
  SignalSocket.prototype._dropCalls = function (everything) {
    for (var id in this._calls) {
      if (everything || this._calls[id].sent) {
        this._settle(id, callError(everything ? 'closed' : 'disconnected', this._calls[id].name));
      }
    }
  };

  // Send `text` now if open (true), else queue it (false).
  SignalSocket.prototype._transmit = function (text, call) {
    if (this._mux && this._state === OPEN) {
      this._mux.send(this._topic, text);
      return true;
    }
    if (!this._mux && this._sock && this._sock.readyState === OPEN && !this._recovering) {
      this._sock.send(text);
      return true;
    }
    if (this._stopped) { return false; }
    this._queue.push({text: text, call: call});
    if (this._queue.length > this.options.maxQueue) {
      var dropped = this._queue.shift();
      if (dropped.call !== null && this._calls[dropped.call]) {
        this._settle(dropped.call, callError('send queue full', this._calls[dropped.call].name));
      }
      this._emit('error', {message: 'send queue full: dropped the oldest message'});
    }
    return false;
  };

  // What a reconnecting socket asks for: the positions it has seen, and its resume token.
  SignalSocket.prototype._recovery = function () {
    var parts = [];
    for (var stream in this._positions) { parts.push(stream + '~' + this._positions[stream]); }
    var query = [];
    if (parts.length) { query.push('recover=' + encodeURIComponent(parts.join(','))); }
    if (this._resume) { query.push('resume=' + encodeURIComponent(this._resume)); }
    return query.join('&');
  };

  function withQuery(url, query) {
    if (!query) { return url; }
    var hash = url.indexOf('#');
    var base = hash === -1 ? url : url.slice(0, hash);
    return base + (base.indexOf('?') === -1 ? '?' : '&') + query + (hash === -1 ? '' : url.slice(hash));
  }

  /**
   * Close for good: no reconnect. Fires `close` (this code and reason) unless one was fired
   * since the last open: a socket closed while reconnecting reports its disconnection once.
   */
  SignalSocket.prototype.close = function (code, reason) {
    if (this._stopped) { return; }
    this._stopped = true;
    code = code || 1000;
    reason = reason || 'Normal closure';
    if (this._timer !== null) { clearTimeout(this._timer); this._timer = null; }
    this._dropCalls(true);
    if (this._mux) {
      this._mux.remove(this);
    } else if (this._sock && this._sock.readyState !== CLOSED) {
      // Its onclose is still to come (now, or after a close already under way): _closed
      // reports it, stopped.
      if (this._sock.readyState !== CLOSING) { this._sock.close(code, reason); }
      return;
    }
    this._state = CLOSED;
    this._emitClose({code: code, reason: reason, wasClean: true});
  };

  // `close`, unless one was emitted since the last open.
  SignalSocket.prototype._emitClose = function (info) {
    if (this._closeEmitted) { return; }
    this._closeEmitted = true;
    this._emit('close', info);
  };

  SignalSocket.prototype._connect = function () {
    if (this._mux) {
      this._state = CONNECTING;
      this._mux.add(this);
      return;
    }
    this._state = CONNECTING;
    var self = this;
    var recovery = this._recovery();
    var url = withQuery(this.url, recovery ? 'recovering=1' : '');
    var sock = this._sock = new this._SockJS(url, null, sockjsOptions(this.options));
    this._recovering = false;
    sock.onopen = function () {
      if (sock !== self._sock) { return; }
      if (!recovery) { self._opened(); return; }
      // Where it stands goes first, in a message (never in the URL); the server opens the
      // connection with it, and answers (or refuses, closing) before anything else.
      sock.send(recovery);
      self._recovering = true;
    };
    sock.onmessage = function (e) {
      if (sock !== self._sock) { return; }
      if (self._recovering) {
        self._recovering = false;
        self._opened();
      }
      self._receive(e.data);
    };
    sock.onclose = function (e) {
      if (sock !== self._sock) { return; }
      self._recovering = false;
      self._closed({code: e.code, reason: e.reason, wasClean: e.wasClean}, true);
    };
  };

  function sockjsOptions(options) {
    var result = {};
    for (var key in options.sockjsOptions) { result[key] = options.sockjsOptions[key]; }
    if (options.transports) { result.transports = options.transports; }
    return result;
  }

  // One message from the server: {"event": name, "data": ...} (with {"s", "p"} in a stream),
  // a call's {"reply": id, ...}, or where this socket stands: {"resume": token, "positions":
  // {stream: position}} when it opens, {"positions": ...} when its connection joins a group.
  SignalSocket.prototype._receive = function (text) {
    var message;
    try {
      message = JSON.parse(text);
    } catch (err) {
      this._emit('error', {message: 'malformed message from server', data: text});
      return;
    }
    if (message && message.reply !== undefined) {
      var pending = this._calls[message.reply];
      if (pending && message.error) {
        this._settle(message.reply, callError(message.error.message, pending.name, message.error));
      } else {
        this._settle(message.reply, undefined, message.data);
      }
      return;
    }
    if (message && typeof message.event !== 'string' && (typeof message.resume === 'string' ||
        (message.positions && typeof message.positions === 'object'))) {
      if (typeof message.resume === 'string') { this._resume = message.resume; }
      var heads = message.positions || {};
      for (var stream in heads) {
        if (Object.prototype.hasOwnProperty.call(heads, stream) && typeof heads[stream] === 'string') {
          this._positions[stream] = heads[stream];
        }
      }
      return;
    }
    if (message && typeof message.s === 'string' && typeof message.p === 'string') {
      this._positions[message.s] = message.p;
    }
    if (message && typeof message.event === 'string') {
      this._emit(message.event, message.data);
    } else {
      this._emit('error', {message: 'message without an event name', data: text});
    }
  };

  // The session (or channel) opened: flush what was queued meanwhile, in order.
  SignalSocket.prototype._opened = function () {
    this._attempt = 0;
    this._state = OPEN;
    this._closeEmitted = false;
    var queued = this._queue;
    this._queue = [];
    for (var i = 0; i < queued.length; i++) {
      var item = queued[i];
      if (this._mux) { this._mux.send(this._topic, item.text); } else { this._sock.send(item.text); }
      if (item.call !== null && this._calls[item.call]) { this._calls[item.call].sent = true; }
    }
    this._emit('open', {transport: this.transport, multiplexed: this._mux !== null});
  };

  // The session (or channel) closed, or an attempt failed without opening. Unless stopped,
  // refused for good or out of retries, try again after a backoff: itself (`retry`), or, for a
  // channel whose shared session dropped, when its multiplexer reconnects (`retry` false; the
  // multiplexer gives the delay). `close` for an open socket, or for one that gives up without
  // having reported a close since it last opened; else only `reconnecting`.
  SignalSocket.prototype._closed = function (info, retry, delay) {
    var wasOpen = this._state === OPEN;
    this._state = CLOSED;
    this._dropCalls(false);
    var o = this.options;
    var giveUp = this._stopped || !o.reconnect || FINAL_CODES.indexOf(info.code) !== -1 ||
        this._attempt >= o.maxRetries;
    if (wasOpen || giveUp) { this._emitClose(info); }
    if (giveUp) {
      this._stopped = true;
      this._dropCalls(true);
      if (this._mux) { this._mux.remove(this); }
      return;
    }
    if (delay === undefined) { delay = backoff(o, this._attempt); }
    this._attempt += 1;
    this._emit('reconnecting', {attempt: this._attempt, delay: delay});
    if (!retry) { return; }
    var self = this;
    this._timer = setTimeout(function () {
      self._timer = null;
      if (!self._stopped) { self._connect(); }
    }, delay);
  };

  // The delay before reconnect attempt number `attempt` (0-based), with jitter: a restarted
  // server is not hit by every client at once.
  function backoff(o, attempt) {
    var base = Math.min(o.maxDelay, o.minDelay * Math.pow(o.factor, attempt));
    return Math.round(base * (1 - o.jitter + o.jitter * 2 * o.random()));
  }

  // -- multiplexing ---------------------------------------------------------------------------

  var multiplexers = {};

  // The origin of an absolute http(s) URL, else '' (a relative URL: the page's own).
  function originOf(url) {
    var match = /^(https?:)\/\/([^\/?#]+)/i.exec(url);
    return match ? (match[1] + '//' + match[2]).toLowerCase() : '';
  }

  function pageOrigin() {
    if (typeof location === 'undefined' || !location.host) { return ''; }
    return (location.protocol + '//' + location.host).toLowerCase();
  }

  // The endpoint path (and query) of a SignalSocket URL, the topic of its channel.
  function endpointPath(url) {
    return url.slice(originOf(url).length).split('#')[0];
  }

  function isEmpty(object) {
    for (var key in object) { if (Object.prototype.hasOwnProperty.call(object, key)) { return false; } }
    return true;
  }

  /**
   * One SockJS session to a multiplexed service, shared by the page's SignalSockets whose
   * endpoints are on the same server: each is a member with a topic (its endpoint path, plus
   * "#2", "#3"... when one page opens an endpoint twice). The session lives while any member
   * does; after a drop it reconnects with the backoff options of the socket that created it
   * and subscribes every member again.
   */
  function Multiplexer(url, creator) {
    this.url = url;
    this.options = creator.options;
    this._SockJS = creator._SockJS;
    this.members = {};  // topic -> SignalSocket
    this.sock = null;
    this._attempt = 0;
    this._timer = null;
  }

  /** The multiplexer `socket` joins, or null when it needs a session of its own. */
  Multiplexer.of = function (socket) {
    var url = socket.options.multiplex;
    if (!url || typeof url !== 'string') { return null; }
    var page = pageOrigin();
    if ((originOf(url) || page) !== (originOf(socket.url) || page)) { return null; }
    var path = endpointPath(socket.url);
    if (path.charAt(0) !== '/' || path.indexOf(',') !== -1) { return null; }
    if (!multiplexers[url]) { multiplexers[url] = new Multiplexer(url, socket); }
    return multiplexers[url];
  };

  /** Subscribe `socket`'s channel: now if the session is open, else once it opens. */
  Multiplexer.prototype.add = function (socket) {
    if (socket._topic === null) {
      var path = endpointPath(socket.url);
      var topic = path;
      for (var n = 2; this.members[topic]; n++) { topic = path + '#' + n; }
      socket._topic = topic;
    }
    this.members[socket._topic] = socket;
    if (this.sock && this.sock.readyState === OPEN) {
      this.sock.send(subscription(socket));
    } else if (!this.sock && this._timer === null) {
      this._connect();
    }
  };

  /** `socket` leaves: its channel is closed on the server; the last one closes the session. */
  Multiplexer.prototype.remove = function (socket) {
    if (this.members[socket._topic] !== socket) { return; }
    delete this.members[socket._topic];
    if (this.sock && this.sock.readyState === OPEN) { this.sock.send('uns,' + socket._topic); }
    if (!isEmpty(this.members)) { return; }
    if (multiplexers[this.url] === this) { delete multiplexers[this.url]; }
    if (this._timer !== null) { clearTimeout(this._timer); this._timer = null; }
    if (this.sock) {
      var sock = this.sock;
      this.sock = null;
      sock.close(1000, 'Normal closure');
    }
  };

  // "sub,<topic>", with the member's recovery request as a third field when it has one.
  function subscription(member) {
    var recovery = member._recovery();
    return 'sub,' + member._topic + (recovery ? ',' + recovery : '');
  }

  Multiplexer.prototype.send = function (topic, text) {
    this.sock.send('msg,' + topic + ',' + text);
  };

  Multiplexer.prototype._connect = function () {
    var self = this;
    for (var name in this.members) {
      if (this.members[name]._timer === null) { this.members[name]._state = CONNECTING; }
    }
    var sock = this.sock = new this._SockJS(this.url, null, sockjsOptions(this.options));
    sock.onopen = function () {
      if (sock !== self.sock) { return; }
      self._attempt = 0;
      for (var topic in self.members) {
        // Not those waiting out their own backoff after the server closed their channel.
        if (self.members[topic]._timer === null) { sock.send(subscription(self.members[topic])); }
      }
    };
    sock.onmessage = function (e) {
      if (sock !== self.sock) { return; }
      self._message(String(e.data));
    };
    sock.onclose = function (e) {
      if (sock !== self.sock) { return; }
      self.sock = null;
      var delay = backoff(self.options, self._attempt);
      var info = {code: e.code, reason: e.reason, wasClean: e.wasClean};
      for (var topic in self.members) {
        var member = self.members[topic];
        // Those waiting out their own backoff are closed already.
        if (member._timer === null) { member._closed(info, false, delay); }
      }
      if (isEmpty(self.members)) { return; }  // every member stopped (or was refused)
      self._attempt += 1;
      self._timer = setTimeout(function () {
        self._timer = null;
        if (!isEmpty(self.members)) { self._connect(); }
      }, delay);
    };
  };

  // "sub,<topic>" (open), "msg,<topic>,<json>" or "uns,<topic>,[code,reason]" (closed).
  Multiplexer.prototype._message = function (text) {
    var first = text.indexOf(',');
    var second = text.indexOf(',', first + 1);
    var topic = second === -1 ? text.slice(first + 1) : text.slice(first + 1, second);
    var member = first === -1 ? undefined : this.members[topic];
    if (!member) { return; }
    var kind = text.slice(0, first);
    if (kind === 'msg') {
      member._receive(text.slice(second + 1));
    } else if (kind === 'sub') {
      member._opened();
    } else if (kind === 'uns') {
      // The server closed this channel only; the member retries on its own backoff.
      var close = [1000, ''];
      try { close = JSON.parse(text.slice(second + 1)); } catch (err) { /* keep the default */ }
      member._closed({code: close[0], reason: close[1], wasClean: true}, true);
    }
  };

  SignalSocket.Multiplexer = Multiplexer;

  SignalSocket.prototype._emit = function (name, data) {
    var list = this._handlers[name];
    if (!list) { return; }
    list = list.slice();
    for (var i = 0; i < list.length; i++) {
      try {
        list[i].call(this, data, name);
      } catch (err) {
        if (typeof console !== 'undefined') { console.error('SignalSocket handler of ' + name + ' failed', err); }
      }
    }
  };

  return SignalSocket;
}));
