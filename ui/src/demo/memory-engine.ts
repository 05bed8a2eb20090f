/**
 * An engine that lives in memory: each document is a real Y.Doc, as in the real
 * engine. Used by the tests (as the "engine" the bridge talks to, with knobs to make
 * calls fail or wait) and by the browser demo (`?demo`) when there is no Tauri.
 *
 * Each `connect()` is one window: updates a window sends are pushed to every other
 * window as `doc-update` events (origin `local-other`), never echoed to the sender.
 */
import * as Y from 'yjs';

import {
  EngineError,
  MAX_LISTED_BY_ID,
  type DocumentSummary,
  type EngineApi,
  type ListFilter,
  type Presence,
  type Role,
  type SearchIndexStatus,
  type SearchHit,
  type Settings,
  type SyncStatus,
  type TrashedDocument,
  type UpdateOrigin,
  type VersionSummary,
} from '../ipc';
import { lineDiff } from './line-diff';

interface StoredDoc {
  id: string;
  doc: Y.Doc;
  title: string;
  updatedAt: number;
  deletedAt: number | null;
  readOnly: boolean;
  /** Shared (with this role) or not; a read-only document is shared to read. */
  role: Role;
  versions: (VersionSummary & { text: string })[];
}

/** `7d` and the like in ms, as the engine reads them; NaN for anything else. */
function ageMs(age: string): number {
  const m = /^(\d+)([smhdw])$/.exec(age.trim());
  const unit = { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 }[m?.[2] ?? ''] ?? NaN;
  return Number(m?.[1]) * unit;
}

interface Window {
  docListeners: Set<(id: string, update: Uint8Array, origin: UpdateOrigin) => void>;
  renameListeners: Set<(id: string, title: string) => void>;
  presenceListeners: Set<(id: string, peer: string, presence: Presence | null) => void>;
  syncListeners: Set<(status: SyncStatus) => void>;
  linkListeners: Set<() => void>;
  menuListeners: Set<(command: string) => void>;
  catchUpListeners: Set<(id: string, received: number, total: number, peer?: string) => void>;
  importProgressListeners: Set<(done: number, total: number, name: string) => void>;
  importDoneListeners: Set<(last: string | null, failed: string[]) => void>;
}

/** One update `applyUpdate` accepted. */
export interface Received {
  id: string;
  update: Uint8Array;
}

/** Characters of context on each side of a search match. */
const SNIPPET_CONTEXT = 30;

export class MemoryEngine {
  private readonly docs = new Map<string, StoredDoc>();
  private readonly windows = new Set<Window>();
  private readonly failures: string[] = [];
  private gate: Promise<void> | null = null;
  private readonly inFlight = new Map<string, number>();
  private nextId = 1;
  private settings: Settings = { displayName: 'Me', color: '#4363d8' };
  private sync: SyncStatus = { mode: 'offline', peers: 0, pending: 0 };
  private links: string[] = [];
  private picks: { name: string; text: string }[] = [];

  /** Ends an import from the file dialog, as the engine reports it. */
  finishImport(last: string | null, failed: string[]): void {
    for (const w of this.windows) for (const cb of w.importDoneListeners) cb(last, failed);
  }

  /** What the next file dialog returns (as the user would pick them). */
  choose(files: { name: string; text: string }[]): void {
    this.picks = files;
  }

  /** Every update `applyUpdate` accepted, in the order applied. */
  readonly received: Received[] = [];
  /** `applyUpdate` calls rejected (by `failNextApplies`). */
  failed = 0;
  /** Accepted updates that depended on one not yet received (must stay 0). */
  outOfOrder = 0;
  /** Most `applyUpdate` calls in flight at once from one window for one document. */
  maxInFlight = 0;

  /** Creates a document directly; returns its id. */
  create(title: string, text = '', readOnly = false): string {
    const id = `doc-${this.nextId++}`;
    const doc = new Y.Doc();
    doc.transact(() => {
      doc.getText('body').insert(0, text);
      doc.getMap('meta').set('title', title);
    });
    this.docs.set(id, { id, doc, title, updatedAt: Date.now(), deletedAt: null, readOnly, role: readOnly ? 'read' : null, versions: [] });
    return id;
  }

  /** Marks a document shared with `role` (as joining or sharing would), or not shared. */
  setRole(id: string, role: Role): void {
    this.require(id).role = role;
  }

  /** Makes a document look last changed at `at` (ms since the epoch). */
  setUpdatedAt(id: string, at: number): void {
    this.require(id).updatedAt = at;
  }

  /** What `searchIndexStatus` answers: a rebuild `done` of `total`, or complete (null). */
  reindexing(progress: { done: number; total: number } | null): void {
    this.indexStatus = progress === null ? { rebuilding: false, done: 0, total: 0 } : { rebuilding: true, ...progress };
  }

  private indexStatus: SearchIndexStatus = { rebuilding: false, done: 0, total: 0 };

  /** The engine's copy of a document's body. */
  text(id: string): string {
    return this.require(id).doc.getText('body').toString();
  }

  /** Makes the next `count` `applyUpdate` calls fail with `message`. */
  failNextApplies(count: number, message = 'disk full'): void {
    for (let i = 0; i < count; i++) this.failures.push(message);
  }

  /** Makes `applyUpdate` calls wait until the returned function is called. */
  hold(): () => void {
    let release = () => {};
    this.gate = new Promise((resolve) => {
      release = () => {
        this.gate = null;
        resolve();
      };
    });
    return release;
  }

  /** A peer edits the document: the update lands here and is pushed to every window. */
  peerEdit(id: string, edit: (text: Y.Text) => void, origin: UpdateOrigin = 'peer'): Uint8Array {
    const stored = this.require(id);
    const peer = new Y.Doc();
    Y.applyUpdate(peer, Y.encodeStateAsUpdate(stored.doc));
    const before = Y.encodeStateVector(peer);
    edit(peer.getText('body'));
    const update = Y.encodeStateAsUpdate(peer, before);
    peer.destroy();
    Y.applyUpdate(stored.doc, update, origin);
    stored.updatedAt = Date.now();
    this.broadcast(null, id, update, origin);
    return update;
  }

  /** Tells every window a member's presence changed. */
  presence(id: string, peer: string, presence: Presence | null): void {
    for (const w of this.windows) for (const cb of w.presenceListeners) cb(id, peer, presence);
  }

  /** Changes the connection status every window sees. */
  setSyncStatus(status: SyncStatus): void {
    this.sync = status;
    for (const w of this.windows) for (const cb of w.syncListeners) cb(status);
  }

  /** A `quire://` link opened from outside, as the system hands it to the app. */
  openLink(link: string): void {
    this.links.push(link);
    for (const w of this.windows) for (const cb of w.linkListeners) cb();
  }

  /** A catch-up with a peer advanced. */
  catchUp(id: string, received: number, total: number, peer?: string): void {
    for (const w of this.windows) for (const cb of w.catchUpListeners) cb(id, received, total, peer);
  }

  /** A native menu item chosen. */
  chooseMenu(command: string): void {
    for (const w of this.windows) for (const cb of w.menuListeners) cb(command);
  }

  /** A new window's view of this engine. */
  connect(): EngineApi {
    const w: Window = {
      docListeners: new Set(),
      renameListeners: new Set(),
      presenceListeners: new Set(),
      syncListeners: new Set(),
      linkListeners: new Set(),
      menuListeners: new Set(),
      catchUpListeners: new Set(),
      importProgressListeners: new Set(),
      importDoneListeners: new Set(),
    };
    this.windows.add(w);
    const listen = <T>(set: Set<T>, cb: T) => {
      set.add(cb);
      return () => void set.delete(cb);
    };
    return {
      listDocuments: async (filter) => (filter ? this.filtered(filter) : this.live()).map((d) => this.summary(d)),
      listThese: async (ids) => {
        if (ids.length > MAX_LISTED_BY_ID) {
          throw new EngineError('list_these', `at most ${MAX_LISTED_BY_ID} documents at once, not ${ids.length}`);
        }
        const wanted = new Set(ids);
        return this.live()
          .filter((d) => wanted.has(d.id))
          .map((d) => this.summary(d));
      },
      createDocument: async (title) => this.summary(this.require(this.create(title))),
      importDocument: async (fileName, text) => {
        const heading = /^#\s+(.+)$/m.exec(text)?.[1]?.trim();
        const title = heading || fileName.replace(/\.[^.]*$/, '') || 'Untitled';
        return this.summary(this.require(this.create(title, text.replace(/\r\n/g, '\n'))));
      },
      renameDocument: async (id, title) => {
        const d = this.require(id);
        d.title = title;
        d.doc.getMap('meta').set('title', title);
        for (const other of this.windows) for (const cb of other.renameListeners) cb(id, title);
      },
      deleteDocument: async (id) => void (this.require(id).deletedAt = Date.now()),
      restoreDocument: async (id) => void (this.require(id).deletedAt = null),
      listTrash: async () =>
        [...this.docs.values()]
          .filter((d) => d.deletedAt !== null)
          .map((d): TrashedDocument => ({ ...this.summary(d), deletedAt: d.deletedAt ?? 0 })),
      search: async (query, filter) => this.search(query, filter),
      searchIndexStatus: async () => this.indexStatus,
      openDocument: async (id) => {
        const d = this.require(id);
        return { state: Y.encodeStateAsUpdate(d.doc), readOnly: d.readOnly };
      },
      applyUpdate: (id, update) => this.apply(w, id, update),
      onDocUpdate: (cb) => listen(w.docListeners, cb),
      onDocRenamed: (cb) => listen(w.renameListeners, cb),
      versions: async (id) => this.require(id).versions.map(({ text: _, ...v }) => v),
      versionText: async (id, n) => this.version(id, n).text,
      diff: async (id, from, to) =>
        lineDiff(this.version(id, from).text, to === null ? this.text(id) : this.version(id, to).text),
      restoreVersion: async (id, n) => {
        const old = this.version(id, n).text;
        const d = this.require(id);
        const before = Y.encodeStateVector(d.doc);
        const body = d.doc.getText('body');
        d.doc.transact(() => {
          body.delete(0, body.length);
          body.insert(0, old);
        });
        this.broadcast(null, id, Y.encodeStateAsUpdate(d.doc, before), 'local-other');
        return this.snapshot(d, 'restore', `restored v${n}`);
      },
      createVersion: async (id, name) => this.snapshot(this.require(id), 'named', name),
      share: async (id, readOnly) => `quire://join/${id}?role=${readOnly ? 'read' : 'write'}`,
      join: async (link) => {
        const id = /^quire:\/\/join\/([^?]+)/.exec(link)?.[1];
        if (!id || !this.docs.has(id)) throw new EngineError('join', 'not a valid invite link');
        return id;
      },
      setPresence: async () => {},
      onPresence: (cb) => listen(w.presenceListeners, cb),
      syncStatus: async () => this.sync,
      onSyncStatus: (cb) => listen(w.syncListeners, cb),
      getSettings: async () => this.settings,
      setSettings: async (s) => {
        const bad = (s.relays ?? []).find((r) => !/\/p2p\/[1-9A-HJ-NP-Za-km-z]+$/.test(r));
        if (bad !== undefined) throw new EngineError('set_settings', `${JSON.stringify(bad)} is not a relay address`);
        return (this.settings = { displayName: s.displayName.trim().slice(0, 64), color: s.color, relays: s.relays ?? [] });
      },
      takeLinks: async () => this.links.splice(0),
      onOpenLinks: (cb) => listen(w.linkListeners, cb),
      onMenu: (cb) => listen(w.menuListeners, cb),
      onCatchUp: (cb) => listen(w.catchUpListeners, cb),
      pickAndImport: async () => {
        const files = this.picks.splice(0);
        let last: string | null = null;
        for (const [done, file] of files.entries()) {
          for (const v of this.windows) for (const cb of v.importProgressListeners) cb(done, files.length, file.name);
          last = this.create(/^#\s+(.+)$/m.exec(file.text)?.[1]?.trim() || file.name.replace(/\.[^.]*$/, ''), file.text);
        }
        if (files.length > 0) this.finishImport(last, []);
        return files.length;
      },
      onImportProgress: (cb) => listen(w.importProgressListeners, cb),
      onImportDone: (cb) => listen(w.importDoneListeners, cb),
    };
  }

  private async apply(from: Window, id: string, update: Uint8Array): Promise<void> {
    const key = `${[...this.windows].indexOf(from)}:${id}`;
    const now = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, now);
    this.maxInFlight = Math.max(this.maxInFlight, now);
    try {
      await (this.gate ?? Promise.resolve());
      const failure = this.failures.shift();
      if (failure !== undefined) {
        this.failed++;
        throw new EngineError('apply_update', failure);
      }
      const d = this.require(id);
      if (d.readOnly) throw new EngineError('apply_update', 'document is read-only');
      Y.applyUpdate(d.doc, update, 'ui');
      if (d.doc.store.pendingStructs !== null || d.doc.store.pendingDs !== null) this.outOfOrder++;
      d.updatedAt = Date.now();
      this.received.push({ id, update });
      this.broadcast(from, id, update, 'local-other');
    } finally {
      this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
    }
  }

  /** Pushes an update to every window but `except`, asynchronously like IPC events. */
  private broadcast(except: Window | null, id: string, update: Uint8Array, origin: UpdateOrigin): void {
    for (const w of this.windows) {
      if (w === except) continue;
      queueMicrotask(() => {
        for (const cb of w.docListeners) cb(id, update.slice(), origin);
      });
    }
  }

  private snapshot(d: StoredDoc, kind: VersionSummary['kind'], name: string | null): number {
    const text = d.doc.getText('body').toString();
    const number = d.versions.length + 1;
    d.versions.push({ number, kind, name, createdAt: Date.now(), chars: text.length, text });
    return number;
  }

  /** The documents `filter` lets through, in its order (as the engine does it). */
  private filtered(filter: ListFilter): StoredDoc[] {
    const since = filter.since === undefined ? null : Date.now() - ageMs(filter.since);
    if (Number.isNaN(since)) throw new EngineError('list_documents', `changed since ${filter.since}: not an age`);
    const docs = [...this.docs.values()].filter(
      (d) =>
        (d.deletedAt !== null) === (filter.inTrash ?? false) &&
        (filter.sharing !== 'shared' || d.role !== null) &&
        (filter.sharing !== 'mine' || d.role === null) &&
        (filter.role === undefined || d.role === filter.role) &&
        (since === null || d.updatedAt >= since),
    );
    if (filter.sort === 'title') return docs.sort((a, b) => a.title.localeCompare(b.title) || b.updatedAt - a.updatedAt);
    return docs.sort((a, b) => b.updatedAt - a.updatedAt);
  }

  private search(query: string, filter?: ListFilter): SearchHit[] {
    const needle = query.trim().toLowerCase();
    if (!needle) return [];
    const hits: SearchHit[] = [];
    const docs = filter ? this.filtered(filter) : this.live();
    // Relevance here is simply: newest first (the order `filtered` gives).
    for (const d of docs) {
      const body = d.doc.getText('body').toString();
      const at = body.toLowerCase().indexOf(needle);
      if (at < 0 && !d.title.toLowerCase().includes(needle)) continue;
      const start = Math.max(0, (at < 0 ? 0 : at) - SNIPPET_CONTEXT);
      const end = Math.min(body.length, (at < 0 ? 0 : at + needle.length) + SNIPPET_CONTEXT);
      const prefix = start > 0 ? '…' : '';
      const snippet = prefix + body.slice(start, end) + (end < body.length ? '…' : '');
      const highlights: [number, number][] = [];
      const lower = snippet.toLowerCase();
      for (let i = lower.indexOf(needle); i >= 0; i = lower.indexOf(needle, i + needle.length)) {
        highlights.push([i, i + needle.length]);
      }
      hits.push({ id: d.id, title: d.title, snippet, highlights });
    }
    return hits;
  }

  private live(): StoredDoc[] {
    return [...this.docs.values()].filter((d) => d.deletedAt === null);
  }

  private summary(d: StoredDoc): DocumentSummary {
    return {
      id: d.id,
      title: d.title,
      updatedAt: d.updatedAt,
      chars: d.doc.getText('body').length,
      role: d.role,
      ...(d.deletedAt !== null ? { deletedAt: d.deletedAt } : {}),
    };
  }

  private version(id: string, n: number): StoredDoc['versions'][number] {
    const v = this.require(id).versions[n - 1];
    if (!v) throw new EngineError('version_text', `no version ${n}`);
    return v;
  }

  private require(id: string): StoredDoc {
    const d = this.docs.get(id);
    if (!d) throw new EngineError('open_document', `no document ${id}`);
    return d;
  }
}
