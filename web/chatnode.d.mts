// TypeScript declarations for chatnode.mjs, the browser and Node.js client
// library of chatnode (PROTOCOL.md). Checked by `tsc --noEmit` over
// tests/types/example.ts.

/** An id "<ms>-<seq>": ordered within a room (compareIds). */
export type MessageId = string;

/** Compares two ids numerically: negative, zero or positive. */
export function compareIds(a: MessageId, b: MessageId): number;
/** The names `@name` mentions in a text. */
export function mentionsIn(text: string): string[];
/** A text split into plain runs and `@name` mentions, for rendering as text. */
export function splitMentions(text: string): Array<{ text: string; mention?: string }>;
/** (1.2) A JWT's `exp` (seconds since the epoch); 0 when it has none. */
export function tokenExpiry(token: string): number;
/** A fresh id for a write (a `cid`). */
export function newCid(): string;
/** A same-origin path under /files/, or null. */
export function filePath(url: unknown): string | null;
/** (1.2) A message's link preview as the node sent it, or null. */
export function previewOf(preview: unknown): LinkPreview | null;
/** A message's files as the node sent them (same-origin paths only). */
export function filesOf(list: unknown): FileRef[];

/** What a handler is given, by event name; unknown names give `any`. */
type Handler<Events, K> = (detail: K extends keyof Events ? Events[K] : any) => void;

declare class Emitter<Events> {
  /** Adds a handler; returns a function that removes it. */
  on<K extends string>(type: K, fn: Handler<Events, K>): () => void;
  emit<K extends string>(type: K, detail: K extends keyof Events ? Events[K] : any): void;
}

/** An error the node answered a request with. */
export class ChatError extends Error {
  constructor(event: { code: string; reason?: string; cid?: string });
  /** The protocol's error code: unauthorized, forbidden, not_joined, too_large,
   *  rate_limited, unavailable, bad_request, ...; or closed, left, aborted. */
  code: string;
  /** the error event as the node sent it */
  event: { code: string; reason?: string; cid?: string; [field: string]: unknown };
}

/** (1.2) A file of a message: its url and thumbnail are same-origin paths. */
export interface FileRef {
  file: string;
  name: string;
  size: number;
  mime: string;
  url: string;
  width: number | null;
  height: number | null;
  thumb: string | null;
}

/** (1.2) A link's preview: its image, when any, a same-origin path. */
export interface LinkPreview {
  url: string;
  title: string;
  description: string;
  site: string;
  image: string | null;
}

/** A message as a room holds it: as it now is (edits, deletes, reactions applied). */
export interface Message {
  id: MessageId;
  user: string;
  /** the author's name as their token gave it, shown instead of `user` (1.2); null: none */
  name: string | null;
  /** posted by a bot: a named API key, or a command's answer (1.2) */
  bot: boolean;
  text: string;
  /** ms since the epoch, assigned once by the node */
  ts: number;
  cid?: string;
  /** when it was last edited (ms), or null */
  edited: number | null;
  deleted: boolean;
  /** emoji -> the users who reacted with it */
  reactions: Map<string, string[]>;
  /** (1.2) the message it quotes */
  reply_to: MessageId | null;
  /** (1.2) the thread's root, for a message in a thread */
  thread: MessageId | null;
  files: FileRef[];
  preview: LinkPreview | null;
  /** (1.2) on a thread's root: its replies and when the last came (ms) */
  replies: number;
  last_reply: number | null;
}

/** What the node stored for a write: the event as every client gets it. */
export interface StoredEvent {
  type: string;
  room: string;
  id: MessageId;
  user: string;
  ts: number;
  cid?: string;
  text?: string;
  [field: string]: unknown;
}

/** (1.2) A slash command the node knows (no rooms: it works in every room). */
export interface Command {
  name: string;
  description: string;
  usage: string;
  rooms?: string[];
}

/** (1.2) What became of a slash command sent with send("/name args"): its
 *  answer for the caller alone (`text`), or the id of the message its bot
 *  posted (`id`), or neither. */
export interface CommandEvent {
  type: 'command';
  room: string;
  command: string;
  text?: string;
  id?: MessageId;
  cid?: string;
}

export interface SendOptions {
  cid?: string;
  /** (1.2) the message it quotes */
  replyTo?: MessageId;
  /** (1.2) the thread's root (or a message in the thread) */
  thread?: MessageId;
  /** (1.2) ids of files uploaded to this room with upload(), at most 10 */
  files?: string[];
}

export interface UploadOptions {
  onProgress?: (progress: { loaded: number; total: number }) => void;
  signal?: AbortSignal;
  cid?: string;
}

export interface Uploaded {
  file: string;
  size: number;
  mime: string;
  sha256: string | null;
}

/** What changed a message: the event as the node sent it (edit, delete,
 *  reaction, preview), or a reply counted on a thread's root. */
export interface Change {
  type: string;
  id: MessageId;
  target?: MessageId;
  [field: string]: unknown;
}

export interface ThreadEvents {
  message: { message: Message };
  messages: { added: number };
  change: { message: Message; change: Change };
  read: { read: MessageId | null; unread: number; followed: boolean };
}

/** (1.2) One thread of a room: room.thread(root). */
export class Thread extends Emitter<ThreadEvents> {
  readonly room: Room;
  readonly root: MessageId;
  /** oldest first, de-duplicated by id, shared with the room's */
  readonly messages: Message[];
  /** older messages exist */
  readonly more: boolean;
  readonly followed: boolean;
  readonly read: MessageId | null;
  readonly unread: number;
  markRead(id?: MessageId): void;
  send(text: string, options?: string | SendOptions): Promise<StoredEvent | CommandEvent>;
  /** Resolves with how many older messages were new. */
  loadOlder(limit?: number): Promise<number>;
}

export type ModerationAction = 'mute' | 'unmute' | 'kick' | 'ban' | 'unban';

export interface RoomEvents {
  joined: { members: string[]; read: MessageId | null; unread: number };
  /** a new message; `mine`: this user's own */
  message: { message: Message; mine: boolean };
  change: { message: Message; change: Change };
  messages: { added: number };
  /** someone came or went (user, event), a big room's batch (joins,
   *  leaves), or more names loaded (loaded); `members` as now held */
  presence: { members: string[]; user?: string; event?: 'join' | 'leave'; joins?: string[]; leaves?: string[]; loaded?: string[] };
  typing: { user: string };
  read: { read: MessageId | null; unread: number };
  threads: { threads: Thread[] };
  moderation: { event: Record<string, unknown> };
  kicked: { by: string };
  error: { code: string; reason?: string; error: ChatError };
  left: Record<string, never>;
}

/** One room: its messages, members, typing and read position. */
export class Room extends Emitter<RoomEvents> {
  readonly client: ChatClient;
  readonly name: string;
  /** the node said so, on the current connection */
  readonly joined: boolean;
  /** ascending by id */
  readonly messages: Message[];
  /** older messages exist on the node */
  readonly more: boolean;
  /** the names loaded so far (all of them unless membersMore) */
  readonly members: Set<string>;
  readonly memberCount: number;
  readonly membersMore: boolean;
  /** the user's read position, synced over their sessions */
  readonly read: MessageId | null;
  readonly unread: number;
  /** 'moderator' or 'admin' when the user's token says so */
  readonly role: '' | 'moderator' | 'admin';
  /** the other user of a direct conversation */
  readonly peer: string | null;

  thread(root: MessageId): Thread;
  followedThreads(): Thread[];
  refreshThreads(): void;
  /** Enters the room (now, or once connected); resumes after reconnects. */
  join(): this;
  leave(): void;
  /** Resolves with the stored message once the node has it. */
  send(text: string, options?: string | SendOptions): Promise<StoredEvent | CommandEvent>;
  upload(file: Blob & { name?: string }, options?: UploadOptions): Promise<Uploaded>;
  edit(id: MessageId, text: string): Promise<StoredEvent>;
  delete(id: MessageId): Promise<StoredEvent>;
  react(id: MessageId, emoji: string, on?: boolean): Promise<StoredEvent>;
  markRead(id?: MessageId): void;
  typing(): void;
  loadMembers(limit?: number): Promise<number>;
  memberNames(): string[];
  moderate(action: ModerationAction, user: string, seconds?: number): void;
  loadOlder(limit?: number): Promise<number>;
  lastMessageId(): MessageId | null;
  get(id: MessageId): Message | undefined;
  unreadMessages(): Message[];
}

/** A class with the browser's WebSocket constructor (npm's ws fits). */
export type WebSocketClass = new (url: string) => {
  readyState: number;
  send(data: string): void;
  close(code?: number): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number }) => void) | null;
  onerror: ((event: unknown) => void) | null;
};

export interface ChatClientOptions {
  /** ws:// or wss:// of the node's /ws */
  url: string;
  /** the display name joins use (with tokens: the token's sub) */
  name: string;
  /** a join token, when the node wants them */
  token?: string;
  /** (1.2) returns a fresh token for the same user; called before the
   *  token expires, and the connection goes on with it */
  renewToken?: (() => Promise<string> | string) | null;
  WebSocket?: WebSocketClass;
}

export interface ChatClientEvents {
  status: { status: 'connecting' | 'online' | 'offline'; retryIn?: number; code?: number; attempt?: number; reason?: string };
  welcome: { node: string; session: string; auth?: 'token'; files: { max_bytes: number } | null };
  token: { exp: number };
  error: { code: string; reason?: string; room?: string; error?: ChatError };
  room_update: { room: string; members: number; last_ts: number | null };
  notify: { room: string; level: NotifyLevel };
  conversation: { room: string; peer: string };
}

export type NotifyLevel = 'all' | 'mentions' | 'none';

export interface DirectoryPage {
  rooms: Array<{ room: string; members: number; last_ts: number | null }>;
  next?: string | number | null;
}

/** A connection to a chatnode, with its rooms; reconnects and resumes by itself. */
export class ChatClient extends Emitter<ChatClientEvents> {
  constructor(options: ChatClientOptions);
  readonly url: string;
  readonly name: string;
  readonly token: string;
  /** welcome received on the current socket */
  readonly connected: boolean;
  /** the node this client is connected to */
  readonly node: string | null;
  readonly files: { max_bytes: number } | null;

  connect(): this;
  /** Closes for good: no reconnect; pending writes fail. */
  close(): void;
  reconnectNow(): void;
  /** The room of that name (made on first use; join() enters it). */
  room(name: string): Room;
  /** (1.2) Takes a fresh token for the same user; resolves with its exp. */
  setToken(token: string): Promise<number>;
  directory(options?: { cursor?: string | number; limit?: number; watch?: boolean }): Promise<DirectoryPage>;
  search(room: string, query: string, options?: { before?: MessageId; limit?: number }): Promise<{ messages: StoredEvent[]; more: boolean }>;
  conversations(): Promise<Array<{ room: string; peer: string }>>;
  /** (1.2) The slash commands the node knows. */
  commands(): Promise<Command[]>;
  dm(user: string): Promise<Room>;
  /** (1.2) The deployment's VAPID public key (base64url). */
  pushKey(): Promise<string>;
  enablePush(registration: ServiceWorkerRegistrationLike): Promise<unknown>;
  disablePush(registration: ServiceWorkerRegistrationLike): Promise<void>;
  notifyLevels(): Promise<Record<string, NotifyLevel>>;
  setNotifyLevel(room: string, level: NotifyLevel): boolean;
}

/** What enablePush needs of a service worker registration. */
export interface ServiceWorkerRegistrationLike {
  pushManager?: {
    getSubscription(): Promise<unknown>;
    subscribe(options: { userVisibleOnly: boolean; applicationServerKey: Uint8Array }): Promise<unknown>;
  };
}
