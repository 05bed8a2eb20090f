/**
 * The contract between the UI and the Quire engine (the Tauri side, src-tauri/).
 *
 * `EngineApi` is what the rest of the UI talks to; `tauriEngine()` implements it over
 * Tauri's `invoke` (commands) and `listen` (events). Command and event names are the
 * wire contract: snake_case commands, kebab-case events, camelCase fields. A document's
 * bytes cross IPC as raw bytes, not JSON: `open_document` answers with an
 * `ArrayBuffer` (`parseOpened`) and `apply_update` takes the update as the request
 * body with the document id in a header, so neither costs a JSON array of numbers.
 * Updates the engine pushes come over one raw `Channel` (`watch_updates`), each a
 * frame of origin, id and update bytes (`parseUpdateFrame`); other events are JSON.
 *
 * Offsets (presence cursors, search highlights) are UTF-16 code units, i.e. JavaScript
 * string indices, which is also what Yjs and CodeMirror count.
 */
import { Channel, invoke, type InvokeArgs, type InvokeOptions } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

/** This device's role in a shared document; `null` for a document never shared. */
export type Role = 'read' | 'write' | null;

/** A document as listed in the sidebar. */
export interface DocumentSummary {
  id: string;
  title: string;
  /** Last change, ms since the epoch. */
  updatedAt: number;
  /** Body length in characters. */
  chars: number;
  role: Role;
  /** When it went to the trash (ms since the epoch), in a listing of the trash. */
  deletedAt?: number;
}

/**
 * Which documents a search or a listing covers, and in what order (the sidebar's
 * filter row). A field left out means "any". The engine refuses what it does not know.
 */
export interface ListFilter {
  /** Shared (from here or joined from a link), or shared with no one. */
  sharing?: 'shared' | 'mine';
  /** This device's role in a shared document. */
  role?: 'read' | 'write';
  /** Changed within this long: `1d`, `7d`, `30d` (number and unit: s, m, h, d, w). */
  since?: string;
  /** The trash instead of the live documents. */
  inTrash?: boolean;
  /** Best match first (a listing without a query: most recently changed), newest first, or by title. */
  sort?: 'relevance' | 'updated' | 'title';
}

/** Whether search covers every document, or how far the rebuild of its index is. */
export interface SearchIndexStatus {
  rebuilding: boolean;
  /** Documents indexed so far (while rebuilding). */
  done: number;
  /** Documents to index in all (while rebuilding). */
  total: number;
}

/** A document in the trash. */
export interface TrashedDocument extends DocumentSummary {
  /** When it went to the trash, ms since the epoch. */
  deletedAt: number;
}

/** One search result. */
export interface SearchHit {
  id: string;
  title: string;
  /** A passage of the body around the matches ("…" where cut). */
  snippet: string;
  /** `[start, end)` ranges of `snippet` that matched, in UTF-16 code units. */
  highlights: [number, number][];
}

/** A document's full state, as `openDocument` returns it. */
export interface OpenedDocument {
  /** Yjs/yrs v1 update encoding the whole document. */
  state: Uint8Array;
  /** True when this device may only read (a read-only invite). */
  readOnly: boolean;
}

/** Where an update the engine pushes came from. */
export type UpdateOrigin = 'peer' | 'relay' | 'local-other';

/** A version as listed in the history panel. */
export interface VersionSummary {
  /** Number within the document, from 1. */
  number: number;
  kind: 'auto' | 'named' | 'restore';
  name: string | null;
  /** When it was taken, ms since the epoch. */
  createdAt: number;
  chars: number;
}

/** One line of a line-level diff (the text includes its line break, if any). */
export interface DiffLine {
  kind: 'equal' | 'insert' | 'delete';
  /** 1-based line in the old text, for equal and delete lines. */
  oldLine: number | null;
  /** 1-based line in the new text, for equal and insert lines. */
  newLine: number | null;
  text: string;
}

/** A cursor or selection in the body, in UTF-16 code units. */
export interface Cursor {
  anchor: number;
  head: number;
}

/** What this device shows the other members of a document. */
export interface LocalPresence {
  cursor: Cursor | null;
  typing: boolean;
}

/** What another member shows. */
export interface Presence extends LocalPresence {
  name: string;
  /** CSS colour, `#rrggbb`. */
  color: string;
}

/** How this device is connected. */
export interface SyncStatus {
  mode: 'offline' | 'lan' | 'direct' | 'relayed';
  /** Connected peers. */
  peers: number;
  /** Local updates no peer is known to have yet. */
  pending: number;
}

/** User settings. */
export interface Settings {
  displayName: string;
  /** CSS colour, `#rrggbb`. */
  color: string;
  /** Where the documents are kept (reported by the engine; not settable here). */
  dataFolder?: string;
  /** Team relays whose mailboxes keep updates for offline members (addresses ending in /p2p/<peer id>). */
  relays?: string[];
}

/** Stops listening. */
export type Unsubscribe = () => void;

/** Everything the UI asks of the engine. All methods reject with `EngineError`. */
export interface EngineApi {
  /** Live documents; with a filter, those that pass it, in its order. */
  listDocuments(filter?: ListFilter): Promise<DocumentSummary[]>;
  /**
   * These documents as the list shows them, at most `MAX_LISTED_BY_ID` ids: the
   * live ones (an unknown or trashed id is left out). What the list asks for when
   * documents it does not know arrive from elsewhere, instead of every document.
   */
  listThese(ids: string[]): Promise<DocumentSummary[]>;
  createDocument(title: string): Promise<DocumentSummary>;
  /** A new document from the text of a Markdown file (titled by its first heading, else the file name). */
  importDocument(fileName: string, text: string): Promise<DocumentSummary>;
  /**
   * Asks for Markdown files in the system's file dialog and imports them; resolves
   * with how many were imported. Progress and the outcome arrive as events.
   */
  pickAndImport(): Promise<number>;
  /** An import from the file dialog reached file `done + 1` of `total` (event `import-progress`). */
  onImportProgress(cb: (done: number, total: number, name: string) => void): Unsubscribe;
  /** An import from the file dialog ended: the last document imported, and "name (why)" per failure (event `import-done`). */
  onImportDone(cb: (last: string | null, failed: string[]) => void): Unsubscribe;
  renameDocument(id: string, title: string): Promise<void>;
  /** Moves a document to the trash. */
  deleteDocument(id: string): Promise<void>;
  /** Brings a document back from the trash. */
  restoreDocument(id: string): Promise<void>;
  listTrash(): Promise<TrashedDocument[]>;
  /** Documents matching `query` (live ones without a filter), best first unless the filter sorts otherwise. */
  search(query: string, filter?: ListFilter): Promise<SearchHit[]>;
  /** Whether search covers every document yet (after an upgrade its index is rebuilt in the background). */
  searchIndexStatus(): Promise<SearchIndexStatus>;

  openDocument(id: string): Promise<OpenedDocument>;
  /** Hands the engine an update made in the UI's Y.Doc; resolves once it is durable. */
  applyUpdate(id: string, update: Uint8Array): Promise<void>;
  /** Updates that did not come from this window (frames on the `watch_updates` channel). */
  onDocUpdate(cb: (id: string, update: Uint8Array, origin: UpdateOrigin) => void): Unsubscribe;
  /** A document's title changed, here or on a peer (event `doc-renamed`). */
  onDocRenamed(cb: (id: string, title: string) => void): Unsubscribe;

  versions(id: string): Promise<VersionSummary[]>;
  versionText(id: string, number: number): Promise<string>;
  /** Line diff from version `from` to version `to` (`null`: the current text). */
  diff(id: string, from: number, to: number | null): Promise<DiffLine[]>;
  /** Makes the text equal to version `number` again; returns the version recording it. */
  restoreVersion(id: string, number: number): Promise<number>;
  /** Takes a named version now; returns its number. */
  createVersion(id: string, name: string): Promise<number>;

  /** An invite link (`quire://…`) granting read or write access. */
  share(id: string, readOnly: boolean): Promise<string>;
  /** Joins a shared document from an invite link; returns its id. */
  join(link: string): Promise<string>;

  setPresence(id: string, presence: LocalPresence): Promise<void>;
  /** Another member's presence changed; `null` when they left (event `presence`). */
  onPresence(cb: (id: string, peer: string, presence: Presence | null) => void): Unsubscribe;
  syncStatus(): Promise<SyncStatus>;
  /** Connection changes (event `sync-status`). */
  onSyncStatus(cb: (status: SyncStatus) => void): Unsubscribe;
  /** A catch-up with `peer` advanced: chunks of its answer applied (event `catch-up`). */
  onCatchUp(cb: (id: string, received: number, total: number, peer?: string) => void): Unsubscribe;

  getSettings(): Promise<Settings>;
  /** Saves settings; resolves with what was kept (the engine may trim the name). */
  setSettings(settings: Settings): Promise<Settings>;

  /** `quire://` links opened from outside (a clicked invite), oldest first; each is returned once. */
  takeLinks(): Promise<string[]>;
  /** Links are waiting to be taken (event `open-links`). */
  onOpenLinks(cb: () => void): Unsubscribe;
  /** A native menu item was chosen; its command name (event `menu`). */
  onMenu(cb: (command: string) => void): Unsubscribe;
}

/** A failed engine call, with the engine's message. */
/** Most ids in one `listThese` (the engine refuses more; the list asks for every document then). */
export const MAX_LISTED_BY_ID = 1000;

export class EngineError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/** Bytes as they cross IPC: a plain array of 0–255. */
export type WireBytes = number[];

/** `Uint8Array` → `number[]` for IPC. */
export function toWire(bytes: Uint8Array): WireBytes {
  return Array.from(bytes);
}

/**
 * `number[]` from IPC → `Uint8Array`. Rejects anything that is not an array of
 * integers 0–255, so a contract mismatch fails loudly instead of corrupting a doc.
 */
export function fromWire(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (!Array.isArray(value)) {
    throw new TypeError(`expected bytes as number[], got ${typeof value}`);
  }
  const out = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const b: unknown = value[i];
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) {
      throw new TypeError(`byte ${i} is not an integer 0-255: ${String(b)}`);
    }
    out[i] = b;
  }
  return out;
}

/** A message from whatever a command rejected with (Tauri passes the error as is). */
export function errorMessage(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (raw instanceof Error) return raw.message;
  if (raw && typeof raw === 'object' && 'message' in raw) return String(raw.message);
  try {
    return JSON.stringify(raw);
  } catch {
    return String(raw);
  }
}

/** True inside the Tauri webview (where IPC exists). */
export function insideTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

/** The header of `apply_update` that names the document (src-tauri/src/wire.rs). */
export const DOC_ID_HEADER = 'quire-doc-id';
/** Flag bit of `open_document`'s first byte: this device may only read. */
export const OPENED_READ_ONLY = 1;

/**
 * `open_document`'s raw answer: one flags byte, then the document's state. The state
 * is a view into the same buffer, not a copy.
 */
export function parseOpened(raw: unknown): OpenedDocument {
  let bytes: Uint8Array;
  if (raw instanceof ArrayBuffer) bytes = new Uint8Array(raw);
  else if (raw instanceof Uint8Array) bytes = raw;
  else bytes = fromWire(raw);
  if (bytes.length < 1) throw new TypeError('open_document answered with no bytes');
  return { state: bytes.subarray(1), readOnly: ((bytes[0] ?? 0) & OPENED_READ_ONLY) !== 0 };
}

/** `invoke` with errors normalised to `EngineError`. */
async function call<T>(command: string, args?: InvokeArgs, options?: InvokeOptions): Promise<T> {
  try {
    return await invoke<T>(command, args, options);
  } catch (raw) {
    throw new EngineError(command, errorMessage(raw));
  }
}

/**
 * Subscribes to a Tauri event and returns a synchronous unsubscribe, even though
 * `listen` resolves later: unsubscribing before it resolves still detaches.
 */
function subscribe<T>(event: string, handler: (payload: T) => void): Unsubscribe {
  let unlisten: UnlistenFn | null = null;
  let stopped = false;
  listen<T>(event, (e) => {
    if (!stopped) handler(e.payload);
  }).then(
    (fn) => {
      if (stopped) fn();
      else unlisten = fn;
    },
    (err: unknown) => console.error(`listen(${event}) failed: ${errorMessage(err)}`),
  );
  return () => {
    stopped = true;
    unlisten?.();
    unlisten = null;
  };
}

/** Frame byte 0 of an update on the channel: where it came from (src-tauri/src/update_channel.rs). */
const FRAME_ORIGINS: readonly UpdateOrigin[] = ['peer', 'relay', 'local-other'];

/** One frame of the update channel: origin byte, id length byte, id, update. */
export interface UpdateFrame {
  id: string;
  origin: UpdateOrigin;
  update: Uint8Array;
}

/**
 * Reads a frame of the update channel; the update is a view into the frame, not a
 * copy. Throws on a frame that does not parse.
 */
export function parseUpdateFrame(raw: unknown): UpdateFrame {
  const bytes = raw instanceof ArrayBuffer ? new Uint8Array(raw) : raw instanceof Uint8Array ? raw : fromWire(raw);
  const origin = FRAME_ORIGINS[bytes[0] ?? 255];
  const idLength = bytes[1];
  if (origin === undefined || idLength === undefined || bytes.length < 2 + idLength) {
    throw new TypeError(`not an update frame (${bytes.length} bytes)`);
  }
  const id = new TextDecoder().decode(bytes.subarray(2, 2 + idLength));
  return { id, origin, update: bytes.subarray(2 + idLength) };
}

type UpdateListener = (id: string, update: Uint8Array, origin: UpdateOrigin) => void;

/** Opens the raw channel the engine sends document updates by. */
function watchUpdates(): Set<UpdateListener> {
  const listeners = new Set<UpdateListener>();
  const channel = new Channel<ArrayBuffer>((raw) => {
    let frame: UpdateFrame;
    try {
      frame = parseUpdateFrame(raw);
    } catch (err) {
      console.error(`an update from the engine was dropped: ${errorMessage(err)}`);
      return;
    }
    for (const listener of listeners) listener(frame.id, frame.update, frame.origin);
  });
  call('watch_updates', { channel }).catch((err: unknown) => console.error(`watch_updates failed: ${errorMessage(err)}`));
  return listeners;
}

interface PresencePayload {
  id: string;
  peer: string;
  presence: Presence | null;
}

/** The engine over Tauri IPC. */
export function tauriEngine(): EngineApi {
  /** The listeners of the update channel, once it is open (the engine keeps the newest). */
  let updateListeners: Set<UpdateListener> | null = null;
  return {
    listDocuments: (filter) => call('list_documents', { filter: filter ?? null }),
    listThese: (ids) => call('list_these', { ids }),
    createDocument: (title) => call('create_document', { title }),
    importDocument: (fileName, text) => call('import_document', { fileName, text }),
    pickAndImport: () => call('import_files'),
    onImportProgress: (cb) =>
      subscribe<{ done: number; total: number; name: string }>('import-progress', (p) => cb(p.done, p.total, p.name)),
    onImportDone: (cb) => subscribe<{ last: string | null; failed: string[] }>('import-done', (p) => cb(p.last, p.failed)),
    renameDocument: (id, title) => call('rename_document', { id, title }),
    deleteDocument: (id) => call('delete_document', { id }),
    restoreDocument: (id) => call('restore_document', { id }),
    listTrash: () => call('list_trash'),
    search: (query, filter) => call('search', { query, filter: filter ?? null }),
    searchIndexStatus: () => call('search_index_status'),

    openDocument: async (id) => parseOpened(await call<unknown>('open_document', { id })),
    applyUpdate: (id, update) => call('apply_update', update, { headers: { [DOC_ID_HEADER]: id } }),
    onDocUpdate: (cb) => {
      updateListeners ??= watchUpdates();
      const listeners = updateListeners;
      listeners.add(cb);
      return () => void listeners.delete(cb);
    },
    onDocRenamed: (cb) => subscribe<{ id: string; title: string }>('doc-renamed', (p) => cb(p.id, p.title)),

    versions: (id) => call('versions', { id }),
    versionText: (id, number) => call('version_text', { id, number }),
    diff: (id, from, to) => call('diff', { id, from, to }),
    restoreVersion: (id, number) => call('restore_version', { id, number }),
    createVersion: (id, name) => call('create_version', { id, name }),

    share: (id, readOnly) => call('share', { id, readOnly }),
    join: (link) => call('join', { link }),

    setPresence: (id, presence) => call('set_presence', { id, presence }),
    onPresence: (cb) =>
      subscribe<PresencePayload>('presence', (p) => cb(p.id, p.peer, p.presence)),
    syncStatus: () => call('sync_status'),
    onSyncStatus: (cb) => subscribe<SyncStatus>('sync-status', cb),
    onCatchUp: (cb) =>
      subscribe<{ id: string; peer: string; received: number; total: number }>('catch-up', (p) =>
        cb(p.id, p.received, p.total, p.peer),
      ),

    getSettings: () => call('get_settings'),
    setSettings: (settings) => call('set_settings', { settings }),

    takeLinks: () => call('take_links'),
    onOpenLinks: (cb) => subscribe<null>('open-links', () => cb()),
    onMenu: (cb) => subscribe<string>('menu', cb),
  };
}
