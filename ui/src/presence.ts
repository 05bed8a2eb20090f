/**
 * Presence between the engine and the editor. y-codemirror.next draws remote cursors
 * from a y-protocols `Awareness`; the engine speaks in plain offsets per peer id. A
 * `PresenceLink` translates both ways for one open document:
 * - engine → editor: each peer becomes a synthetic awareness client whose cursor is
 *   stored as Yjs relative positions (so it moves with concurrent edits);
 * - editor → engine: the local selection and a "typing" flag go to `setPresence`,
 *   at most once per `PRESENCE_MIN_INTERVAL_MS`.
 */
import { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';

import { ENGINE_ORIGIN, type BridgedDoc } from './bridge';
import { errorMessage, type Cursor, type EngineApi, type LocalPresence, type Presence } from './ipc';

/** Least time between two presence messages to the engine (the engine's own limit). */
export const PRESENCE_MIN_INTERVAL_MS = 50;
/** How long after the last keystroke we still show "typing". */
export const TYPING_IDLE_MS = 1500;

/** What y-codemirror.next reads from an awareness state. */
interface AwarenessUser {
  name: string;
  color: string;
  colorLight: string;
}

/** A stable awareness client id for a peer id, never `avoid` (our own client id). */
export function peerClientId(peer: string, avoid: number): number {
  // FNV-1a, kept within 31 bits like Yjs client ids.
  let hash = 0x811c9dc5;
  for (let i = 0; i < peer.length; i++) {
    hash ^= peer.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  const id = (hash >>> 1) || 1;
  return id === avoid ? (id % 0x7fffffff) + 1 : id;
}

/** The user field y-codemirror.next draws cursors with. */
export function awarenessUser(name: string, color: string): AwarenessUser {
  return { name, color, colorLight: `${color}33` };
}

/** An offset cursor → relative positions (JSON) in `text`, clamped to its length. */
export function relativeCursor(text: Y.Text, cursor: Cursor): { anchor: unknown; head: unknown } {
  const clamp = (n: number) => Math.max(0, Math.min(Math.floor(n), text.length));
  return {
    anchor: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, clamp(cursor.anchor))),
    head: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, clamp(cursor.head))),
  };
}

/** Relative positions (from an awareness state) → an offset cursor, if they resolve in `text`. */
export function absoluteCursor(text: Y.Text, relative: unknown): Cursor | null {
  if (!relative || typeof relative !== 'object') return null;
  const { anchor, head } = relative as { anchor?: unknown; head?: unknown };
  if (!anchor || !head || !text.doc) return null;
  const a = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(anchor), text.doc);
  const h = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(head), text.doc);
  if (!a || !h || a.type !== text || h.type !== text) return null;
  return { anchor: a.index, head: h.index };
}

export class PresenceLink {
  readonly awareness: Awareness;
  private readonly peers = new Map<string, number>();
  private typing = false;
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private sendTimer: ReturnType<typeof setTimeout> | null = null;
  private lastSent = 0;
  private lastPayload = '';
  private readonly detach: () => void;

  constructor(
    private readonly engine: EngineApi,
    private readonly bridged: BridgedDoc,
    user: { name: string; color: string },
    private readonly onError: (message: string) => void = () => {},
  ) {
    this.awareness = new Awareness(bridged.doc);
    this.awareness.setLocalStateField('user', awarenessUser(user.name, user.color));
    const onAwareness = (_: unknown, origin: unknown) => {
      if (origin === 'local') this.schedule();
    };
    const onUpdate = (_: Uint8Array, origin: unknown) => {
      if (origin !== ENGINE_ORIGIN) this.markTyping();
    };
    this.awareness.on('change', onAwareness);
    bridged.doc.on('update', onUpdate);
    this.detach = () => {
      this.awareness.off('change', onAwareness);
      bridged.doc.off('update', onUpdate);
    };
  }

  /** Shows (or, with `null`, removes) another member's presence. */
  remote(peer: string, presence: Presence | null): void {
    const client = this.peers.get(peer) ?? peerClientId(peer, this.awareness.clientID);
    const existed = this.awareness.states.has(client);
    if (presence === null) {
      this.peers.delete(peer);
      if (!existed) return;
      this.awareness.states.delete(client);
      this.awareness.meta.delete(client);
      this.awareness.emit('change', [{ added: [], updated: [], removed: [client] }, ENGINE_ORIGIN]);
      return;
    }
    this.peers.set(peer, client);
    this.awareness.states.set(client, {
      user: awarenessUser(presence.name, presence.color),
      cursor: presence.cursor ? relativeCursor(this.bridged.text, presence.cursor) : null,
      typing: presence.typing,
    });
    // The engine times peers out; keep y-protocols from expiring them on its own clock.
    this.awareness.meta.set(client, { clock: 0, lastUpdated: Number.POSITIVE_INFINITY });
    const change = existed
      ? { added: [], updated: [client], removed: [] }
      : { added: [client], updated: [], removed: [] };
    this.awareness.emit('change', [change, ENGINE_ORIGIN]);
  }

  /** Changes the name and colour others see on our cursor. */
  setUser(user: { name: string; color: string }): void {
    this.awareness.setLocalStateField('user', awarenessUser(user.name, user.color));
  }

  /** What this device shows now. */
  local(): LocalPresence {
    const state = this.awareness.getLocalState();
    return { cursor: absoluteCursor(this.bridged.text, state?.cursor), typing: this.typing };
  }

  /**
   * Leaves the document: its cursor goes away at the other members, and the engine
   * treats the document as idle again (its presence repeated rarely).
   */
  destroy(): void {
    this.detach();
    if (this.typingTimer) clearTimeout(this.typingTimer);
    if (this.sendTimer) clearTimeout(this.sendTimer);
    this.awareness.destroy();
    if (this.lastPayload !== '') {
      this.lastPayload = '';
      this.engine.setPresence(this.bridged.id, { cursor: null, typing: false }).catch(() => {});
    }
  }

  private markTyping(): void {
    if (this.typingTimer) clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => {
      this.typing = false;
      this.schedule();
    }, TYPING_IDLE_MS);
    if (!this.typing) {
      this.typing = true;
      this.schedule();
    }
  }

  /** Sends the local presence, no more often than the engine accepts. */
  private schedule(): void {
    if (this.sendTimer) return;
    const wait = Math.max(0, this.lastSent + PRESENCE_MIN_INTERVAL_MS - Date.now());
    this.sendTimer = setTimeout(() => {
      this.sendTimer = null;
      const presence = this.local();
      const payload = JSON.stringify(presence);
      if (payload === this.lastPayload) return;
      this.lastPayload = payload;
      this.lastSent = Date.now();
      this.engine.setPresence(this.bridged.id, presence).catch((err: unknown) => {
        this.onError(`Could not share your cursor: ${errorMessage(err)}`);
      });
    }, wait);
  }
}
