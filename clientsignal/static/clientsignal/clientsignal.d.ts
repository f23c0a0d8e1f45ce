// Type declarations for clientsignal.js: Django signals as browser events.

declare namespace SignalSocket {
  interface Options {
    /** SockJS transports to allow, e.g. ['websocket', 'xhr-streaming']. */
    transports?: string[];
    /** Other options passed to the SockJS constructor. */
    sockjsOptions?: Record<string, unknown>;
    /** Reconnect after a close not requested with close() (never after 4401 or 4403). Default true. */
    reconnect?: boolean;
    /** First reconnect delay in ms. Default 500. */
    minDelay?: number;
    /** Largest reconnect delay in ms. Default 10000. */
    maxDelay?: number;
    /** Backoff factor. Default 2. */
    factor?: number;
    /** Fraction of the delay randomised either way. Default 0.5. */
    jitter?: number;
    /** Sends queued while not open; the oldest is dropped past it. Default 1000. */
    maxQueue?: number;
    /** Reconnect attempts in a row (without an open) before giving up. Default Infinity. */
    maxRetries?: number;
    /** ms a call() waits for its answer before it is rejected. Default 10000. */
    callTimeout?: number;
    /** A SockJS-compatible constructor for environments without a global SockJS. */
    SockJS?: new (url: string, reserved?: null, options?: Record<string, unknown>) => unknown;
    /** Random source for the jitter, in [0, 1). Default Math.random. */
    random?: () => number;
    /**
     * The prefix of the server's multiplexed service (CLIENTSIGNAL_MULTIPLEX): this socket is
     * then a channel of one SockJS session shared with the page's other SignalSockets on that
     * server. false or null: a session of its own. Default: the template tag's
     * data-multiplex attribute, else null.
     */
    multiplex?: string | false | null;
  }
  interface OpenInfo { transport?: string; multiplexed: boolean; }
  /** The server's close code and reason (4401 login required, 4403 forbidden...), or close()'s. */
  interface CloseInfo { code: number; reason: string; wasClean: boolean; }
  /** `attempt`: 1, 2, ... since the last open; `delay`: ms before that attempt. */
  interface ReconnectingInfo { attempt: number; delay: number; }
  /**
   * A message the server refused, or the socket's own trouble. `event`: the refused event.
   * `field` and `expected`: the field its schema refused, as a path (`items[1].qty`), and the
   * declared type when the value had another (`int`, `list[Item]`, `str | None`).
   */
  interface ErrorInfo {
    message: string;
    event?: string | null;
    field?: string;
    expected?: string;
    [key: string]: unknown;
  }
  /** The error of a call the server answered with one: its message, and for a payload its
   * schema refused, the `field` and `expected` type. */
  interface ReplyError { message: string; field?: string; expected?: string; [key: string]: unknown; }
  /**
   * A stream, named as the app sends to it: a class's broadcasts ('broadcast', name: the
   * class), a room ('room': the class and its URL arguments, `args`), a group ('group', name:
   * the group's), the user's ('user') or the connection's own ('connection').
   */
  interface Stream {
    id: string;
    kind: 'broadcast' | 'room' | 'group' | 'user' | 'connection';
    name: string;
    args?: Record<string, unknown>;
  }
  /** The streams whose missed messages could not be replayed: refetch what they concern. */
  interface GapInfo { streams: Stream[]; }
  /** A place of presence: a room (the class, with its URL arguments) or a group. */
  type Place =
    | { kind: 'room'; name: string; args: Record<string, unknown> }
    | { kind: 'group'; name: string };
  /** A user's first connection arrived in a place ('join'), or their last one left ('leave'). */
  interface PresenceInfo { user: { id: number | string; username: string }; where: Place; }
  interface CallOptions { /** ms before the call is rejected with Error('timeout'). */ timeout?: number; }
  /** A rejected call: its message is the server's ('unknown event ...'), 'timeout',
   * 'disconnected' (the connection dropped while it was out), 'closed', or 'send queue full'
   * (made while disconnected, pushed out of the queue by `maxQueue` newer messages). */
  interface CallError extends Error { event: string; reply?: ReplyError; }
  type Handler<T = any> = (data: T, name: string) => void;
}

declare class SignalSocket {
  constructor(url: string, options?: SignalSocket.Options);
  static readonly version: string;
  /** Defaults of every option (set defaults.multiplex to turn multiplexing on by hand). */
  static defaults: SignalSocket.Options;
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  readonly url: string;
  /** The SockJS readyState: 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** The SockJS transport in use, when known. */
  readonly transport: string | undefined;
  /** Whether this socket is a channel of a shared, multiplexed SockJS session. */
  readonly multiplexed: boolean;
  /**
   * The session (or channel) opened. Never fired for a session the server refuses (4401,
   * 4403, 4429...): that one gets a close (4401, 4403: final) or reconnecting only.
   */
  on(name: 'open', fn: SignalSocket.Handler<SignalSocket.OpenInfo>): this;
  /**
   * Once per disconnection: when an open socket closes (then reconnecting if it retries), or
   * when it gives up (4401, 4403, maxRetries, reconnect false, close()) having fired no close
   * since it last opened, e.g. a first connect refused with 4401. Failed reconnect attempts
   * fire no close. Open, drop, three failed attempts, success: open, close, reconnecting x4,
   * open.
   */
  on(name: 'close', fn: SignalSocket.Handler<SignalSocket.CloseInfo>): this;
  /** Before each reconnect attempt, including each one after a failed attempt. */
  on(name: 'reconnecting', fn: SignalSocket.Handler<SignalSocket.ReconnectingInfo>): this;
  on(name: 'error', fn: SignalSocket.Handler<SignalSocket.ErrorInfo>): this;
  /**
   * Streams in which messages were missed and cannot be given: after a reconnect, those whose
   * history did not reach back far enough; while connected, one that lost messages (a server
   * outage). Refetch the state they concern.
   */
  on(name: 'gap', fn: SignalSocket.Handler<SignalSocket.GapInfo>): this;
  /** With presence_events: a user arrived in a place of this connection, or left it. */
  on(name: 'join' | 'leave', fn: SignalSocket.Handler<SignalSocket.PresenceInfo>): this;
  on<T = any>(name: string, fn: SignalSocket.Handler<T>): this;
  once<T = any>(name: string, fn: SignalSocket.Handler<T>): this;
  off(name: string, fn?: SignalSocket.Handler): this;
  /** Send an event; returns false when it was queued (or dropped after close()). */
  send(name: string, data?: unknown): boolean;
  /**
   * Fire the listened signal `name` and get what its receivers returned: the one answer,
   * null when none answers, a list when several do. Rejects with SignalSocket.CallError.
   */
  call<T = any>(name: string, data?: unknown, options?: SignalSocket.CallOptions): Promise<T>;
  /**
   * Close for good: no reconnect. Fires close (this code, default 1000) unless one was fired
   * since the last open, as when the socket is reconnecting after a drop.
   */
  close(code?: number, reason?: string): void;
}

export = SignalSocket;
export as namespace SignalSocket;
