// Alimi browser client: one live connection per browser, shared by all its tabs.
//
//   import { Alimi } from '/alimi.js';
//   const alimi = new Alimi({ token: () => session.accessToken });
//   alimi.on('excel.export.completed', e => toast(e.data.fileName, Alimi.safeLink(e.data.downloadUrl)));
//   alimi.on('unread', u => badge.textContent = u.text);
//   const page = await alimi.timeline({ limit: 20 });
//
// One tab (the leader, chosen with the Web Locks API) holds the connection; every tab gets every message through a
// BroadcastChannel. When the leader closes, another tab takes the lock and resumes from the last cursor, so no
// event is lost or shown twice. The connection is Server-Sent Events with a one-time ticket; when SSE keeps failing
// before it ever opens (a proxy that buffers streams), WebSocket, then long-poll. Reconnects back off with jitter;
// when a busy node says how long to wait (503 or 429 with Retry-After on the ticket or a poll, WebSocket close 1013
// with "retry after N s"), the client waits at least that, plus jitter, and stays on its transport.
//
// One cursor per channel, whatever `scopes` a page asks for: Alimi resumes each scope from where the cursor says
// (a scope the cursor never followed from the time it was made), drops scopes the admin lost (a 'revoked'
// message), and says with a 'gap' what it cannot replay. A cursor the server refuses is never retried: the client
// starts afresh and tells the page with a 'gap' of reason 'cursor'.
//
// Every CloudEvent reaches on('*') and on(<its type>) on every transport, whatever its type: on SSE the stream is
// asked to send CloudEvents as plain messages (dispatch=message), so no type can be taken for EventSource's own
// 'error' or for one of Alimi's messages. A type that is also the name of one of this client's messages ('ready',
// 'gap', 'unread', …) reaches on('*') and on('event:' + type). No build step, no dependency. Typings: /alimi.d.ts.
//
// Preferences (alimi.preferences(), savePreferences(mutes)) are applied by Alimi on every node: an event the admin
// muted in their inbox never arrives; one muted on live only arrives quietly, to on('quiet') alone (list it, count
// it, do not toast it), never to on(<type>) or on('*').

/** Names of this client's own messages: a CloudEvent of such a type is given to on('event:<type>') instead. */
const CONTROL = new Set(['ready', 'gap', 'reconnect', 'unread', 'state', 'revoked', 'refused', 'quiet', '*']);
const TRANSPORTS = ['sse', 'ws', 'poll'];

export class Alimi {
  /**
   * @param {object} options
   * @param {string | (() => string | Promise<string>)} options.token the admin's bearer token, or a function giving a fresh one
   * @param {string} [options.base] where Alimi is ('' for this origin)
   * @param {'sse'|'ws'|'poll'} [options.transport] start with (and stay on) this transport
   * @param {string} [options.scopes] comma-separated scopes to narrow the stream to
   * @param {boolean} [options.shared] share one connection between tabs (default true where the browser can)
   * @param {string} [options.channel] name of the shared channel (default 'alimi')
   */
  constructor(options) {
    this.options = { base: '', shared: true, channel: 'alimi', ...options };
    this.handlers = new Map();
    this.unread = null;
    this.state = 'idle';
    this.leader = false;
    this.cursor = storage('cursor', this.options.channel);
    this.transport = this.options.transport || 'sse';
    this.failures = 0;
    this.refusals = 0;
    this.closed = false;
    const canShare = this.options.shared && typeof BroadcastChannel !== 'undefined' && navigator.locks;
    if (canShare) {
      this.bus = new BroadcastChannel(this.options.channel);
      this.bus.onmessage = m => this.#fromBus(m.data);
      this.#campaign();
      // A new tab asks the leader for the current unread count and state.
      this.bus.postMessage({ kind: 'hello' });
    } else {
      this.#lead();
    }
  }

  /**
   * The address to give a link made from an event (a download, a claim's page), or null when it must not be one.
   * Events come from producers, so a link in one is judged by this browser's own URL parser, not by a pattern:
   * the text is resolved against the page (new URL(url, location.href)) and kept only when it is http: or https:,
   * carries no user name or password, and its origin is the page's own or one of allowedOrigins. Text with
   * leading or trailing whitespace, or a control character anywhere (a tab or newline inside "javascript:"), is
   * refused outright, though the parser would drop it. So javascript: and data: URLs, //evil.com, /\evil.com,
   * \\evil.com, https:evil.com (on an http: page) and http://good@evil.com never become links.
   *
   *   const href = Alimi.safeLink(e.data.downloadUrl, { allowedOrigins: ['https://files.example.com'] });
   *   if (href) link.href = href;
   *
   * @param {unknown} url what the event says
   * @param {{ allowedOrigins?: string[] }} [options] origins other than the page's that links may lead to, e.g.
   *   'https://files.example.com' (each is read with new URL, so a path after it is ignored)
   * @throws {TypeError} when an entry of allowedOrigins is not a URL
   * @returns {string | null} the resolved absolute URL to use as href, or null
   */
  static safeLink(url, { allowedOrigins = [] } = {}) {
    if (typeof url !== 'string' || url === '' || url !== url.trim() || /[\u0000-\u001f\u007f]/.test(url)) return null;
    let parsed;
    try {
      parsed = new URL(url, location.href);
    } catch (e) {
      return null;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
    if (parsed.username || parsed.password) return null;
    const origins = new Set([location.origin, ...allowedOrigins.map(origin => new URL(origin).origin)]);
    return parsed.origin !== 'null' && origins.has(parsed.origin) ? parsed.href : null;
  }

  /**
   * Calls fn for messages of a type: an event type ('order.created'), '*' (every event), 'event:<type>' (events of
   * exactly that type, whatever it is), 'quiet' (events the admin muted on live but keeps in the inbox: list and
   * count them, no toast), 'unread', 'ready', 'gap', 'revoked', 'refused', 'reconnect', 'state'.
   * Returns a function that removes it.
   */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type).delete(fn);
  }

  /** A page of the admin's timeline, newest first: { items, next }. Pass next as before for the following page. */
  async timeline({ before, limit = 20, type, scopes } = {}) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before) query.set('before', before);
    if (type) query.set('type', type);
    if (scopes) query.set('scopes', scopes);
    return this.#fetch('/v1/timeline?' + query);
  }

  /** Iterates over the whole timeline, page by page. */
  async *history(options = {}) {
    let before = options.before;
    do {
      const page = await this.timeline({ ...options, before });
      yield* page.items;
      before = page.next;
    } while (before);
  }

  /** Marks read: { eventId } for one event, { upTo: position } up to a timeline position, { upTo: 'latest' } for everything. Returns the new unread count. */
  async markRead(what) {
    const unread = await this.#fetch('/v1/timeline/read', { method: 'POST', body: JSON.stringify(what) });
    this.#deliver({ kind: 'unread', unread });
    return unread;
  }

  /** The admin's preferences: { mutes, saved, critical, channels }. */
  async preferences() {
    return this.#fetch('/v1/preferences');
  }

  /**
   * Replaces the admin's mutes, e.g. [{ type: 'product.qna.created', channels: ['live', 'push'] },
   * { scope: 'mall:3', channels: ['inbox'] }]; every node applies them at once. Returns the preferences in force.
   */
  async savePreferences(mutes) {
    return this.#fetch('/v1/preferences', { method: 'PUT', body: JSON.stringify({ mutes }) });
  }

  /** Back to the operator's defaults. */
  async resetPreferences() {
    return this.#fetch('/v1/preferences', { method: 'DELETE' });
  }

  /** Switches transport ('sse', 'ws' or 'poll'), in every tab. */
  use(transport) {
    if (!TRANSPORTS.includes(transport)) throw new Error('transport must be one of ' + TRANSPORTS.join(', '));
    this.options.transport = transport;
    if (this.leader) {
      this.transport = transport;
      this.#restart(0);
    } else if (this.bus) {
      this.bus.postMessage({ kind: 'use', transport });
    }
  }

  close() {
    this.closed = true;
    this.#stop();
    this.releaseLock?.();
    this.bus?.close();
  }

  // Leadership

  #campaign() {
    navigator.locks.request('alimi-leader:' + this.options.channel, () => new Promise(release => {
      if (this.closed) return release();
      this.releaseLock = release;
      this.#lead();
    }));
  }

  #lead() {
    this.leader = true;
    this.cursor = storage('cursor', this.options.channel) || this.cursor;
    this.#connect();
  }

  #fromBus(message) {
    if (message.kind === 'hello') {
      if (this.leader) this.bus.postMessage({ kind: 'sync', unread: this.unread, state: this.state, cursor: this.cursor });
      return;
    }
    if (message.kind === 'use') {
      if (this.leader) this.use(message.transport);
      return;
    }
    if (message.kind === 'sync') {
      if (message.unread) this.#emit('unread', this.unread = message.unread);
      if (message.state) this.#setState(message.state, false);
      if (message.cursor) this.cursor = message.cursor;
      return;
    }
    this.#apply(message);
  }

  // Delivery: the leader applies a message and passes it to the other tabs

  #deliver(message) {
    this.#apply(message);
    if (this.bus) this.bus.postMessage(message);
  }

  #apply(message) {
    if (message.cursor) {
      this.cursor = message.cursor;
      if (this.leader) storage('cursor', this.options.channel, message.cursor);
    }
    switch (message.kind) {
      case 'event': {
        if (this.unread && message.live) this.unread = bump(this.unread);
        if (message.quiet) {
          this.#emit('quiet', message.event);
          if (this.unread && message.live) this.#emit('unread', this.unread);
          break;
        }
        const type = String(message.event.type);
        if (!CONTROL.has(type)) this.#emit(type, message.event);
        this.#emit('event:' + type, message.event);
        this.#emit('*', message.event);
        if (this.unread && message.live) this.#emit('unread', this.unread);
        break;
      }
      case 'advance':
        break;
      case 'unread':
        this.unread = message.unread;
        this.#emit('unread', message.unread);
        break;
      case 'state':
        this.#setState(message.state, false);
        break;
      default:
        this.#emit(message.kind, message.body);
    }
  }

  #emit(type, value) {
    for (const fn of this.handlers.get(type) || []) {
      try { fn(value); } catch (e) { console.error('alimi handler for ' + type, e); }
    }
  }

  #setState(state, broadcast = true) {
    if (this.state === state) return;
    this.state = state;
    this.#emit('state', { state, transport: this.transport, leader: this.leader });
    if (broadcast && this.bus) this.bus.postMessage({ kind: 'state', state });
  }

  // Connection (leader only)

  #connect() {
    if (this.closed) return;
    this.#stop();
    this.#setState('connecting');
    const opened = { value: false, cursor: this.cursor };
    const run = { sse: () => this.#sse(opened), ws: () => this.#ws(opened), poll: () => this.#poll(opened) }[this.transport];
    run().catch(error => this.#failed(opened, error));
  }

  /**
   * The server refused the cursor (it cannot be read): never send it again. Start afresh and tell the page, with
   * a 'gap' of reason 'cursor', that what happened since it was made is not replayed.
   */
  #cursorRefused(problem) {
    this.cursor = null;
    if (this.leader) storage('cursor', this.options.channel, '');
    this.#deliver({ kind: 'gap', body: { scope: null, reason: 'cursor', after: null, through: null,
      detail: problem?.detail || 'the cursor was refused' } });
    this.#restart(0);
  }

  /**
   * EventSource never says why it failed. When an SSE stream failed before it opened while resuming from a
   * cursor, ask once with a long-poll from the same cursor, which does say: a refused cursor starts afresh; a
   * refused scope is told to the page; otherwise the poll's events are delivered and the cursor it returns used.
   * Returns false when it restarted the connection itself.
   */
  async #probe(opened) {
    const query = new URLSearchParams({ wait: '0', cursor: opened.cursor });
    if (this.options.scopes) query.set('scopes', this.options.scopes);
    try {
      this.#pollReply(await this.#fetch('/v1/poll?' + query));
    } catch (error) {
      if (refusesCursor(error)) {
        this.#cursorRefused(error.problem);
        return false;
      }
      if (error.status === 403) this.#deliver({ kind: 'refused', body: error.problem || { status: 403 } });
    }
    return true;
  }

  #restart(delayMs) {
    this.#stop();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.#connect(), delayMs);
  }

  #stop() {
    this.source?.close();
    this.source = null;
    this.socket?.close();
    this.socket = null;
    this.polling = false;
  }

  /**
   * A connection ended without the server asking: back off with jitter; after failures before ever opening, fall back
   * to the next transport. A refusal that says when to come back (error.retryAfter, in seconds) is a busy node, not a
   * broken transport: wait at least that long (or the backoff, if refused many times in a row), plus jitter, so a
   * wave of clients told the same second does not come back in the same millisecond.
   */
  async #failed(opened, error) {
    if (this.closed) return;
    if (!opened.value && opened.cursor && refusesCursor(error)) {
      return this.#cursorRefused(error.problem || { detail: error.reason });
    }
    if (!opened.value && opened.cursor && this.transport === 'sse' && !error && !opened.probed) {
      opened.probed = true;
      if (!(await this.#probe(opened))) return;
    }
    if (error?.status === 403 || error?.status === 4403) {
      this.#deliver({ kind: 'refused', body: error.problem || { status: error.status, detail: error.reason } });
    }
    if (error?.retryAfter > 0) {
      this.refusals = Math.min(this.refusals + 1, 6);
      this.#setState('reconnecting');
      const base = Math.min(30000, 500 * 2 ** this.refusals);
      this.#restart(Math.max(error.retryAfter * 1000, base / 2) + Math.random() * Math.max(1000, base / 2));
      return;
    }
    if (!opened.value && !this.options.transport) {
      this.failures++;
      if (this.failures >= 3 && this.transport !== 'poll') {
        this.transport = TRANSPORTS[TRANSPORTS.indexOf(this.transport) + 1];
        this.failures = 0;
      }
    } else {
      this.failures = Math.min(this.failures + 1, 6);
    }
    this.#setState('reconnecting');
    const base = Math.min(30000, 500 * 2 ** Math.min(this.failures, 6));
    this.#restart(base / 2 + Math.random() * base / 2);
    if (error && error.status !== 401) console.debug('alimi: reconnecting', error);
  }

  #opened(opened) {
    opened.value = true;
    this.failures = 0;
    this.refusals = 0;
    this.#setState('open');
  }

  #query(ticket, live) {
    const query = new URLSearchParams();
    if (ticket) query.set('ticket', ticket);
    if (live) query.set('unread', 'true');
    if (this.options.scopes) query.set('scopes', this.options.scopes);
    return query;
  }

  async #sse(opened) {
    const query = this.#query(await this.#ticket(), true);
    query.set('dispatch', 'message');
    if (this.cursor) query.set('lastEventId', this.cursor);
    const source = new EventSource(this.options.base + '/v1/stream?' + query);
    this.source = source;
    const seen = (e, kind, body) => this.#deliver({ kind, body, cursor: e.lastEventId || undefined });
    source.addEventListener('ready', e => { this.#opened(opened); seen(e, 'ready', JSON.parse(e.data)); });
    source.addEventListener('alimi.revoked', e => seen(e, 'revoked', JSON.parse(e.data)));
    source.addEventListener('gap', e => seen(e, 'gap', JSON.parse(e.data)));
    source.addEventListener('alimi.cursor', e => this.#deliver({ kind: 'advance', cursor: e.lastEventId || undefined }));
    // Muted on live by the admin, kept in the inbox: not for the type's handlers.
    source.addEventListener('alimi.quiet', e => this.#deliver({ kind: 'event', event: JSON.parse(e.data), cursor: e.lastEventId, live: true, quiet: true }));
    source.addEventListener('unread', e => this.#deliver({ kind: 'unread', unread: JSON.parse(e.data), cursor: e.lastEventId || undefined }));
    source.addEventListener('reconnect', e => {
      const body = JSON.parse(e.data);
      seen(e, 'reconnect', body);
      source.close();
      // The server said when: a lifetime end or a drain. Not a failure.
      this.#setState('reconnecting');
      this.#restart(body.reason === 'reauth' ? 0 : 100 + Math.random() * 2000);
    });
    // Every CloudEvent comes as a plain message (dispatch=message): one handler for every type.
    source.onmessage = e => this.#deliver({ kind: 'event', event: JSON.parse(e.data), cursor: e.lastEventId, live: true });
    source.onerror = () => {
      if (this.source !== source) return;
      source.close();
      // A ticket is spent once used: never let EventSource retry by itself.
      this.#failed(opened);
    };
  }

  async #ws(opened) {
    const query = this.#query(await this.#ticket(), true);
    if (this.cursor) query.set('cursor', this.cursor);
    const base = this.options.base || location.origin;
    const socket = new WebSocket(base.replace(/^http/, 'ws') + '/v1/ws?' + query);
    this.socket = socket;
    socket.onmessage = m => {
      const frame = JSON.parse(m.data);
      if (frame.op === 'ready') { this.#opened(opened); this.#deliver({ kind: 'ready', body: frame, cursor: frame.cursor }); }
      else if (frame.op === 'revoked') this.#deliver({ kind: 'revoked', body: { scopes: frame.scopes }, cursor: frame.cursor });
      else if (frame.op === 'unread') this.#deliver({ kind: 'unread', unread: frame, cursor: undefined });
      else if (frame.op === 'reconnect') this.#deliver({ kind: 'reconnect', body: frame, cursor: frame.cursor });
      else if (frame.event) this.#deliver({ kind: 'event', event: frame.event, cursor: frame.cursor, live: true, quiet: frame.quiet === true });
      else if (frame.gap) this.#deliver({ kind: 'gap', body: frame.gap, cursor: frame.cursor });
      else if (frame.cursor) this.#deliver({ kind: 'advance', cursor: frame.cursor });
    };
    socket.onclose = close => {
      if (this.socket !== socket) return;
      this.socket = null;
      // 1000 lifetime, 1012 draining, 4401 reauth: the server asked; others are failures.
      if ([1000, 1012].includes(close.code) || (close.code === 4401 && opened.value)) {
        this.#setState('reconnecting');
        this.#restart(100 + Math.random() * 2000);
      } else {
        // 1013 refusals (a busy node, a limit) start their reason with the delay: "retry after 7 s: …".
        const hint = close.code === 1013 && /^retry after (\d+) s\b/.exec(close.reason || '');
        this.#failed(opened, { status: close.code, reason: close.reason, retryAfter: hint ? Number(hint[1]) : undefined });
      }
    };
  }

  async #poll(opened) {
    this.polling = true;
    const me = {};
    this.pollRun = me;
    let first = true;
    while (this.polling && this.pollRun === me) {
      const query = new URLSearchParams({ wait: first ? '0' : '25' });
      if (this.cursor) query.set('cursor', this.cursor);
      if (this.options.scopes) query.set('scopes', this.options.scopes);
      const reply = await this.#fetch('/v1/poll?' + query);
      if (!(this.polling && this.pollRun === me)) return;
      if (first) {
        this.#opened(opened);
        first = false;
        this.#deliver({ kind: 'unread', unread: await this.#fetch('/v1/timeline/unread-count') });
      }
      this.#pollReply(reply);
      if (reply.reconnect) return this.#restart(100 + Math.random() * 2000);
    }
  }

  /** What a long-poll answered, in order: scopes dropped, gaps, events, then the cursor after them all. */
  #pollReply(reply) {
    if (reply.revoked) this.#deliver({ kind: 'revoked', body: { scopes: reply.revoked } });
    for (const gap of reply.gaps) this.#deliver({ kind: 'gap', body: gap });
    const quiet = new Set(reply.quiet || []);
    reply.events.forEach((event, i) => this.#deliver({ kind: 'event', event, live: true, quiet: quiet.has(i) }));
    this.#deliver({ kind: 'advance', cursor: reply.cursor });
  }

  // HTTP

  async #token() {
    const token = this.options.token;
    return typeof token === 'function' ? await token() : token;
  }

  async #ticket() {
    return (await this.#fetch('/v1/tickets', { method: 'POST' })).ticket;
  }

  async #fetch(path, init = {}) {
    const response = await fetch(this.options.base + path, {
      ...init,
      headers: { Authorization: 'Bearer ' + await this.#token(), ...(init.body ? { 'Content-Type': 'application/json' } : {}) },
    });
    const body = response.headers.get('Content-Type')?.includes('json') ? await response.json() : await response.text();
    if (!response.ok) {
      const error = new Error((body && body.detail) || response.statusText);
      error.status = response.status;
      error.problem = body;
      // Seconds only (Alimi never sends a date); a busy node's ticket and poll refusals carry it.
      const retryAfter = Number(response.headers.get('Retry-After'));
      if ((response.status === 503 || response.status === 429) && retryAfter > 0) error.retryAfter = retryAfter;
      throw error;
    }
    return body;
  }
}

/** Whether a refusal is of the cursor itself (400 or WebSocket 4400, the reason starting "cursor"). */
function refusesCursor(error) {
  return (error?.status === 400 || error?.status === 4400)
    && /^cursor\b/.test(error?.problem?.detail || error?.reason || '');
}

function bump(unread) {
  const count = Math.min(unread.count + 1, 99);
  const capped = unread.capped || unread.count + 1 > 99;
  return { count, capped, text: capped ? '99+' : String(count) };
}

function storage(key, channel, value) {
  try {
    const name = 'alimi.' + channel + '.' + key;
    if (value === undefined) return localStorage.getItem(name) || null;
    if (value === '') localStorage.removeItem(name);
    else localStorage.setItem(name, value);
  } catch (e) {
    return null;
  }
}
