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
 */
(function (root, factory) {
  'use strict';
  if (typeof module === 'object' && module.exports) {
    module.exports = factory(root.SockJS || (function () {
      try { return require('sockjs-client'); } catch (e) { return undefined; }
    })());
  } else {
    root.SignalSocket = factory(root.SockJS);
  }
}(typeof self !== 'undefined' ? self : this, function (GlobalSockJS) {
  'use strict';

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
    SockJS: undefined,
    random: Math.random
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
    this._queue = [];
    this._attempt = 0;
    this._timer = null;
    this._stopped = false;
    this._sock = null;
    this._connect();
  }

  SignalSocket.version = '0.1.0';
  SignalSocket.CONNECTING = CONNECTING;
  SignalSocket.OPEN = OPEN;
  SignalSocket.CLOSING = CLOSING;
  SignalSocket.CLOSED = CLOSED;

  Object.defineProperty(SignalSocket.prototype, 'readyState', {
    get: function () { return this._sock ? this._sock.readyState : CLOSED; }
  });
  Object.defineProperty(SignalSocket.prototype, 'transport', {
    get: function () { return this._sock ? this._sock.transport : undefined; }
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
    if (this._sock && this._sock.readyState === OPEN) {
      this._sock.send(text);
      return true;
    }
    if (this._stopped) { return false; }
    this._queue.push(text);
    if (this._queue.length > this.options.maxQueue) {
      this._queue.shift();
      this._emit('error', {message: 'send queue full: dropped the oldest message'});
    }
    return false;
  };

  /** Close for good: no reconnect. */
  SignalSocket.prototype.close = function (code, reason) {
    this._stopped = true;
    if (this._timer !== null) { clearTimeout(this._timer); this._timer = null; }
    if (this._sock) { this._sock.close(code || 1000, reason || 'Normal closure'); }
  };

  SignalSocket.prototype._connect = function () {
    var self = this;
    var sockjsOptions = {};
    for (var key in this.options.sockjsOptions) { sockjsOptions[key] = this.options.sockjsOptions[key]; }
    if (this.options.transports) { sockjsOptions.transports = this.options.transports; }
    var sock = this._sock = new this._SockJS(this.url, null, sockjsOptions);
    sock.onopen = function () {
      if (sock !== self._sock) { return; }
      self._attempt = 0;
      var queued = self._queue;
      self._queue = [];
      for (var i = 0; i < queued.length; i++) { sock.send(queued[i]); }
      self._emit('open', {transport: sock.transport});
    };
    sock.onmessage = function (e) {
      if (sock !== self._sock) { return; }
      var message;
      try {
        message = JSON.parse(e.data);
      } catch (err) {
        self._emit('error', {message: 'malformed message from server', data: e.data});
        return;
      }
      if (message && typeof message.event === 'string') {
        self._emit(message.event, message.data);
      } else {
        self._emit('error', {message: 'message without an event name', data: e.data});
      }
    };
    sock.onclose = function (e) {
      if (sock !== self._sock) { return; }
      var info = {code: e.code, reason: e.reason, wasClean: e.wasClean};
      self._emit('close', info);
      if (self._stopped || !self.options.reconnect || FINAL_CODES.indexOf(e.code) !== -1) {
        self._stopped = true;
        return;
      }
      self._scheduleReconnect();
    };
  };

  SignalSocket.prototype._scheduleReconnect = function () {
    var o = this.options;
    if (this._attempt >= o.maxRetries) { this._stopped = true; return; }
    var base = Math.min(o.maxDelay, o.minDelay * Math.pow(o.factor, this._attempt));
    // Jitter: spread reconnects so a restarted server is not hit by every client at once.
    var delay = Math.round(base * (1 - o.jitter + o.jitter * 2 * o.random()));
    this._attempt += 1;
    this._emit('reconnecting', {attempt: this._attempt, delay: delay});
    var self = this;
    this._timer = setTimeout(function () {
      self._timer = null;
      if (!self._stopped) { self._connect(); }
    }, delay);
  };

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
