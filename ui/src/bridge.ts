/**
 * `DocBridge`: keeps one Y.Doc per open document in step with the engine.
 *
 * - The engine's state is loaded with the transaction origin `ENGINE_ORIGIN`, and so
 *   is every update the engine pushes (`onDocUpdate`); such transactions are never sent back.
 * - Every other transaction is a local edit. Its update is queued, the queue is
 *   merged (`Y.mergeUpdates`) and sent with `applyUpdate`, one call in flight at a
 *   time, so the engine receives local edits strictly in order. A failed call puts
 *   its update back at the head of the queue and is retried with back-off; nothing
 *   is ever dropped, and the status reports the error until a send succeeds.
 *   Resending is safe: applying a Yjs update twice is a no-op.
 * - A read-only document refuses local edits: they are not sent, the refusal is
 *   reported, and the document is reloaded from the engine so the editor never shows
 *   text that was not saved (see `onReplaced`).
 */
import * as Y from 'yjs';

import { errorMessage, type EngineApi, type Unsubscribe } from './ipc';

/** Records a span in the page's performance timeline, where there is one. */
export function measure(name: string, start: number, end: number): void {
  try {
    performance.measure(name, { start, end });
  } catch {
    // Older engines lack the options form; the figure is only for profiling.
  }
}

/** Transaction origin of everything that came from the engine. */
export const ENGINE_ORIGIN = 'engine';

/** Root names shared with the engine (yrs): the Markdown body and the metadata map. */
export const BODY = 'body';
export const META = 'meta';

/** One open document. */
export interface BridgedDoc {
  id: string;
  doc: Y.Doc;
  /** The Markdown body (`Y.Text "body"`). */
  text: Y.Text;
  /** Metadata (`Y.Map "meta"`, key `title`). */
  meta: Y.Map<unknown>;
  readOnly: boolean;
}

/** How saving a document is going. */
export interface BridgeStatus {
  id: string;
  readOnly: boolean;
  /** Local transactions the engine has not acknowledged yet (queued or in flight). */
  unsent: number;
  /** A call to `applyUpdate` is in flight. */
  sending: boolean;
  /** The last problem, until the next successful send (or `null`). */
  error: string | null;
  /** Local edits refused because the document is read-only. */
  refused: number;
}

export interface DocBridgeOptions {
  /** Runs the send step later; edits made before it runs are merged. Default: microtask. */
  schedule?: (run: () => void) => void;
  /** Delay before retry number `attempt` (from 1), in ms. Default: 250 ms doubling to 10 s. */
  retryDelay?: (attempt: number) => number;
}

/** Default back-off: 250 ms, 500 ms, 1 s, … capped at 10 s. */
export const MAX_RETRY_DELAY_MS = 10_000;
function defaultRetryDelay(attempt: number): number {
  return Math.min(250 * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
}

interface Entry {
  bridged: BridgedDoc;
  /** Local updates not yet handed to the engine, oldest first. */
  queue: Uint8Array[];
  /** How many local transactions `queue` holds. */
  queued: number;
  /** Transactions in the call in flight (0: none in flight). */
  inFlight: number;
  scheduled: boolean;
  retryTimer: ReturnType<typeof setTimeout> | null;
  attempt: number;
  error: string | null;
  refused: number;
  closing: boolean;
  destroyed: boolean;
  /** Resolved when nothing is left to send. */
  drained: (() => void)[];
  detach: () => void;
}

export class DocBridge {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<BridgedDoc>>();
  /** Engine updates that arrived while a document was (re)loading. */
  private readonly buffered = new Map<string, Uint8Array[]>();
  private readonly statusListeners = new Set<(status: BridgeStatus) => void>();
  private readonly replacedListeners = new Set<(doc: BridgedDoc) => void>();
  private readonly schedule: (run: () => void) => void;
  private readonly retryDelay: (attempt: number) => number;
  private readonly unsubscribe: Unsubscribe;

  constructor(
    private readonly engine: EngineApi,
    options: DocBridgeOptions = {},
  ) {
    // Wrapped: browsers throw "Illegal invocation" for an unbound queueMicrotask.
    this.schedule = options.schedule ?? ((run) => queueMicrotask(run));
    this.retryDelay = options.retryDelay ?? defaultRetryDelay;
    this.unsubscribe = engine.onDocUpdate((id, update) => this.receive(id, update));
  }

  /** Opens a document (or returns it if already open). */
  open(id: string): Promise<BridgedDoc> {
    const entry = this.entries.get(id);
    if (entry) {
      entry.closing = false;
      return Promise.resolve(entry.bridged);
    }
    const pending = this.loading.get(id);
    if (pending) return pending;
    const load = this.load(id).then((bridged) => {
      this.install(bridged);
      return bridged;
    });
    this.loading.set(id, load);
    const forget = () => this.loading.delete(id);
    load.then(forget, forget);
    return load;
  }

  /** The open document, if any. */
  get(id: string): BridgedDoc | undefined {
    return this.entries.get(id)?.bridged;
  }

  /** The save status of an open document. */
  status(id: string): BridgeStatus | undefined {
    const entry = this.entries.get(id);
    return entry && this.statusOf(entry);
  }

  /** Resolves once every local edit of `id` made so far is acknowledged. */
  flush(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry || this.idle(entry)) return Promise.resolve();
    return new Promise((resolve) => entry.drained.push(resolve));
  }

  /** Retries a failed send now instead of waiting for the back-off. */
  retryNow(id: string): void {
    const entry = this.entries.get(id);
    if (!entry?.retryTimer) return;
    clearTimeout(entry.retryTimer);
    entry.retryTimer = null;
    this.pump(entry);
  }

  /**
   * Closes a document once its edits are saved (retrying as long as it takes), then
   * frees it. Reopening it before then keeps it open.
   */
  async close(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.closing = true;
    await this.flush(id);
    if (entry.closing && this.entries.get(id) === entry) this.teardown(entry);
  }

  /** Hears status changes of every document. */
  onStatus(listener: (status: BridgeStatus) => void): Unsubscribe {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Hears a document being replaced by a fresh copy from the engine (rebind editors). */
  onReplaced(listener: (doc: BridgedDoc) => void): Unsubscribe {
    this.replacedListeners.add(listener);
    return () => this.replacedListeners.delete(listener);
  }

  /** Stops everything at once; unsent edits are lost (for app shutdown and tests). */
  destroy(): void {
    this.unsubscribe();
    for (const entry of this.entries.values()) this.teardown(entry);
    this.statusListeners.clear();
    this.replacedListeners.clear();
  }

  /** Fetches a document's state into a fresh Y.Doc, applying updates that raced it. */
  private async load(id: string): Promise<BridgedDoc> {
    this.buffered.set(id, []);
    try {
      const started = performance.now();
      const opened = await this.engine.openDocument(id);
      const fetched = performance.now();
      const doc = new Y.Doc();
      Y.applyUpdate(doc, opened.state, ENGINE_ORIGIN);
      // Where opening a document spends its time, for the end-to-end scale test and
      // anyone profiling (see `performance.getEntriesByType('measure')`).
      measure('quire:open:ipc', started, fetched);
      measure('quire:open:apply', fetched, performance.now());
      for (const update of this.buffered.get(id) ?? []) {
        Y.applyUpdate(doc, update, ENGINE_ORIGIN);
      }
      return {
        id,
        doc,
        text: doc.getText(BODY),
        meta: doc.getMap(META),
        readOnly: opened.readOnly,
      };
    } finally {
      this.buffered.delete(id);
    }
  }

  private install(bridged: BridgedDoc): Entry {
    const onUpdate = (update: Uint8Array, origin: unknown) => this.local(entry, update, origin);
    bridged.doc.on('update', onUpdate);
    const entry: Entry = {
      bridged,
      queue: [],
      queued: 0,
      inFlight: 0,
      scheduled: false,
      retryTimer: null,
      attempt: 0,
      error: null,
      refused: 0,
      closing: false,
      destroyed: false,
      drained: [],
      detach: () => bridged.doc.off('update', onUpdate),
    };
    this.entries.set(bridged.id, entry);
    this.emitStatus(entry);
    return entry;
  }

  /** An update pushed by the engine. */
  private receive(id: string, update: Uint8Array): void {
    const buffer = this.buffered.get(id);
    if (buffer) {
      buffer.push(update);
      return;
    }
    const entry = this.entries.get(id);
    if (!entry) return;
    try {
      Y.applyUpdate(entry.bridged.doc, update, ENGINE_ORIGIN);
    } catch (err) {
      entry.error = `An update from the engine could not be applied: ${errorMessage(err)}`;
      this.emitStatus(entry);
    }
  }

  /** A transaction on the document's Y.Doc. */
  private local(entry: Entry, update: Uint8Array, origin: unknown): void {
    if (origin === ENGINE_ORIGIN || entry.destroyed) return;
    if (entry.bridged.readOnly) {
      this.refuse(entry);
      return;
    }
    entry.queue.push(update);
    entry.queued += 1;
    this.emitStatus(entry);
    if (!entry.scheduled) {
      entry.scheduled = true;
      this.schedule(() => {
        entry.scheduled = false;
        this.pump(entry);
      });
    }
  }

  /** Sends the queue as one merged update, unless a send is in flight or waiting. */
  private pump(entry: Entry): void {
    if (entry.destroyed || entry.inFlight > 0 || entry.retryTimer || entry.queue.length === 0) {
      return;
    }
    const update = entry.queue.length === 1 ? entry.queue[0]! : Y.mergeUpdates(entry.queue);
    const count = entry.queued;
    entry.queue = [];
    entry.queued = 0;
    entry.inFlight = count;
    this.emitStatus(entry);
    this.engine.applyUpdate(entry.bridged.id, update).then(
      () => {
        if (entry.destroyed) return;
        entry.inFlight = 0;
        entry.attempt = 0;
        entry.error = null;
        this.pump(entry);
        this.settle(entry);
      },
      (err: unknown) => {
        if (entry.destroyed) return;
        entry.inFlight = 0;
        entry.queue.unshift(update);
        entry.queued += count;
        entry.attempt += 1;
        entry.error = `Not saved yet (${errorMessage(err)}); retrying`;
        entry.retryTimer = setTimeout(() => {
          entry.retryTimer = null;
          this.pump(entry);
        }, this.retryDelay(entry.attempt));
        this.emitStatus(entry);
      },
    );
  }

  /** Reports the status and wakes `flush` waiters if nothing is left to send. */
  private settle(entry: Entry): void {
    this.emitStatus(entry);
    if (!this.idle(entry)) return;
    const waiters = entry.drained.splice(0);
    for (const resolve of waiters) resolve();
  }

  private idle(entry: Entry): boolean {
    return entry.queue.length === 0 && entry.inFlight === 0;
  }

  /** A local edit on a read-only document: not sent; the document is reloaded. */
  private refuse(entry: Entry): void {
    entry.refused += 1;
    entry.error = 'This document is read-only here: local changes are not saved.';
    this.emitStatus(entry);
    const id = entry.bridged.id;
    if (this.loading.has(id)) return;
    const reload = this.load(id).then(
      (fresh) => {
        if (entry.destroyed || this.entries.get(id) !== entry) {
          fresh.doc.destroy();
          return entry.bridged;
        }
        const refused = entry.refused;
        const error = entry.error;
        this.teardown(entry);
        const next = this.install(fresh);
        next.refused = refused;
        next.error = error;
        this.emitStatus(next);
        for (const listener of this.replacedListeners) listener(fresh);
        return fresh;
      },
      (err: unknown) => {
        entry.error = `Could not reload the read-only document: ${errorMessage(err)}`;
        this.emitStatus(entry);
        return entry.bridged;
      },
    );
    this.loading.set(id, reload);
    const forget = () => this.loading.delete(id);
    reload.then(forget, forget);
  }

  private teardown(entry: Entry): void {
    entry.destroyed = true;
    entry.detach();
    if (entry.retryTimer) clearTimeout(entry.retryTimer);
    entry.retryTimer = null;
    if (this.entries.get(entry.bridged.id) === entry) this.entries.delete(entry.bridged.id);
    entry.bridged.doc.destroy();
    const waiters = entry.drained.splice(0);
    for (const resolve of waiters) resolve();
  }

  private statusOf(entry: Entry): BridgeStatus {
    return {
      id: entry.bridged.id,
      readOnly: entry.bridged.readOnly,
      unsent: entry.queued + entry.inFlight,
      sending: entry.inFlight > 0,
      error: entry.error,
      refused: entry.refused,
    };
  }

  private emitStatus(entry: Entry): void {
    if (this.statusListeners.size === 0) return;
    const status = this.statusOf(entry);
    for (const listener of this.statusListeners) listener(status);
  }
}
