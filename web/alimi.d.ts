// Typings for /alimi.js, the Alimi browser client.

/** A CloudEvents 1.0 envelope as Alimi relays it. */
export interface AlimiEvent<D = unknown> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  /** Comma-separated target scopes: all, mall:<id>, admin:<id>, partner:<id>. */
  targets: string;
  time?: string;
  subject?: string;
  datacontenttype?: string;
  push?: boolean | string;
  data?: D;
}

/** The admin's unread count; the badge shows text ("99+" when capped). */
export interface Unread {
  count: number;
  capped: boolean;
  text: string;
}

export interface Ready {
  scopes: string[];
  resumed: boolean;
}

/**
 * Entries of a scope this client will not receive: trimmed by retention, lost with a stream that was reset, too
 * many to replay (behind: still on the timeline), or, with scope null and reason 'cursor', everything since the
 * stored cursor, which the server refused (the client started afresh; detail says why).
 */
export interface Gap {
  scope: string | null;
  reason: 'trimmed' | 'reset' | 'behind' | 'cursor';
  after: string | null;
  through: string | null;
  detail?: string;
}

/** Scopes the stored cursor followed that the admin is no longer entitled to: dropped, the rest resumed. */
export interface Revoked {
  scopes: string[];
}

/** The server refused the connection for a reason the page can act on (a scope in options.scopes not allowed). */
export interface Refused {
  status: number;
  detail?: string;
}

export interface Reconnect {
  reason: 'lifetime' | 'draining' | 'slow-consumer' | 'reauth';
  cursor: string;
}

export interface ConnectionState {
  state: 'idle' | 'connecting' | 'open' | 'reconnecting';
  transport: Transport;
  /** Whether this tab holds the browser's one connection. */
  leader: boolean;
}

export type Transport = 'sse' | 'ws' | 'poll';

export interface TimelineItem<D = unknown> {
  /** Where the item stands: pass a page's next as before for the following page; give it to markRead({ upTo }). */
  position: string;
  scope: string;
  read: boolean;
  event: AlimiEvent<D>;
}

export interface TimelinePage<D = unknown> {
  items: TimelineItem<D>[];
  next: string | null;
}

export interface AlimiOptions {
  /** The admin's bearer token, or a function giving a fresh one (called for every ticket and request). */
  token: string | (() => string | Promise<string>);
  /** Where Alimi is; '' (default) for this origin. */
  base?: string;
  /** Start with, and keep to, this transport (default: SSE, falling back to WebSocket, then long-poll). */
  transport?: Transport;
  /** Comma-separated scopes to narrow the live stream to. */
  scopes?: string;
  /** Share one connection between the tabs of this browser (default true). */
  shared?: boolean;
  /** Name of the shared channel (default 'alimi'). */
  channel?: string;
}

export interface Handlers {
  /** Every CloudEvent, whatever its type, on every transport (except quiet ones). */
  '*': AlimiEvent;
  /** An event the admin muted on live but keeps in the inbox: list it and count it, do not toast it. */
  quiet: AlimiEvent;
  unread: Unread;
  ready: Ready;
  gap: Gap;
  revoked: Revoked;
  refused: Refused;
  reconnect: Reconnect;
  state: ConnectionState;
}

/** Where an admin may be told of an event. Muting inbox mutes live too. */
export type Channel = 'live' | 'inbox' | 'push';

/** One thing muted: a type (or 'prefix.*'), a scope, or a type in a scope, on some channels. */
export interface Mute {
  type?: string;
  scope?: string;
  channels: Channel[];
}

export interface Preferences {
  mutes: Mute[];
  /** false: the operator's defaults apply (the admin never saved their own). */
  saved: boolean;
  /** Types nobody can mute, e.g. 'fds.alert.raised'. */
  critical: string[];
  channels: Channel[];
}

export interface SafeLinkOptions {
  /** Origins besides the page's own that links may lead to, e.g. 'https://files.example.com'. */
  allowedOrigins?: string[];
}

export declare class Alimi {
  constructor(options: AlimiOptions);
  /**
   * The href for a link taken from an event (e.g. data.downloadUrl), or null when it must not become one. The
   * browser's URL parser resolves it against the page; only http: and https: URLs without credentials whose origin
   * is the page's own or one of allowedOrigins pass. Text with leading or trailing whitespace or a control
   * character is refused, so javascript:, data:, //evil.com, /\evil.com and the like never do.
   * Throws a TypeError when an entry of allowedOrigins is not a URL.
   */
  static safeLink(url: unknown, options?: SafeLinkOptions): string | null;
  /** The last unread count received, or null before the first. */
  readonly unread: Unread | null;
  readonly state: ConnectionState['state'];
  readonly leader: boolean;
  /** The cursor after the last message received (shared by the tabs). */
  readonly cursor: string | null;

  on<K extends keyof Handlers>(type: K, fn: (value: Handlers[K]) => void): () => void;
  /**
   * An event type, e.g. 'excel.export.completed'; or 'event:' + a type, for events of exactly that type even when
   * it is one of the names above (a producer may name a type 'ready' or 'state').
   */
  on<D = unknown>(type: string, fn: (event: AlimiEvent<D>) => void): () => void;

  timeline<D = unknown>(options?: { before?: string; limit?: number; type?: string; scopes?: string }): Promise<TimelinePage<D>>;
  history<D = unknown>(options?: { before?: string; limit?: number; type?: string; scopes?: string }): AsyncGenerator<TimelineItem<D>>;
  markRead(what: { eventId: string } | { upTo: string | 'latest' }): Promise<Unread>;
  preferences(): Promise<Preferences>;
  /** Replaces the admin's mutes; every node applies them at once. Rejects with the problem (400, 403) naming the field. */
  savePreferences(mutes: Mute[]): Promise<Preferences>;
  resetPreferences(): Promise<Preferences>;
  use(transport: Transport): void;
  close(): void;
}

