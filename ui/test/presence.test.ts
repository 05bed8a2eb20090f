/**
 * Presence translation with real Yjs and a real y-protocols Awareness: peer cursors
 * become relative positions that follow edits; local state goes to the engine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';

import { DocBridge } from '../src/bridge';
import { MemoryEngine } from '../src/demo/memory-engine';
import type { EngineApi, LocalPresence } from '../src/ipc';
import { absoluteCursor, peerClientId, PresenceLink, relativeCursor } from '../src/presence';
import { until } from './helpers';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function setup(text: string) {
  const engine = new MemoryEngine();
  const id = engine.create('p', text);
  const sent: LocalPresence[] = [];
  const api: EngineApi = {
    ...engine.connect(),
    setPresence: async (_id, p) => void sent.push(p),
  };
  const bridge = new DocBridge(api);
  const bridged = await bridge.open(id);
  const link = new PresenceLink(api, bridged, { name: 'Me', color: '#112233' });
  cleanups.push(() => link.destroy(), () => bridge.destroy());
  return { engine, id, bridged, link, sent };
}

describe('presence helpers', () => {
  it('maps a peer id to a stable client id that is not ours', () => {
    const a = peerClientId('12D3KooWpeer', 1);
    expect(peerClientId('12D3KooWpeer', 1)).toBe(a);
    expect(peerClientId('12D3KooWother', 1)).not.toBe(a);
    expect(peerClientId('12D3KooWpeer', a)).not.toBe(a);
    expect(a).toBeGreaterThan(0);
    expect(a).toBeLessThanOrEqual(0x7fffffff);
  });

  it('keeps a cursor attached to its text across concurrent edits', () => {
    const doc = new Y.Doc();
    const text = doc.getText('body');
    text.insert(0, 'hello world');
    const rel = relativeCursor(text, { anchor: 6, head: 11 });
    text.insert(0, '🙂 ');
    expect(absoluteCursor(text, rel)).toEqual({ anchor: 9, head: 14 });
    expect(text.toString().slice(9, 14)).toBe('world');
  });

  it('clamps offsets beyond the text and rejects garbage', () => {
    const doc = new Y.Doc();
    const text = doc.getText('body');
    text.insert(0, 'abc');
    expect(absoluteCursor(text, relativeCursor(text, { anchor: -5, head: 99 }))).toEqual({ anchor: 0, head: 3 });
    expect(absoluteCursor(text, null)).toBeNull();
    expect(absoluteCursor(text, { anchor: 1 })).toBeNull();
  });
});

describe('PresenceLink', () => {
  it('shows a remote peer in the awareness and removes it when it leaves', async () => {
    const { link, bridged } = await setup('hello world');
    const changes: unknown[] = [];
    link.awareness.on('change', (c: unknown) => changes.push(c));
    link.remote('peer-a', { name: 'Ada', color: '#e6194b', cursor: { anchor: 0, head: 5 }, typing: true });
    const client = peerClientId('peer-a', link.awareness.clientID);
    const state = link.awareness.getStates().get(client);
    expect(state?.user).toEqual({ name: 'Ada', color: '#e6194b', colorLight: '#e6194b33' });
    expect(absoluteCursor(bridged.text, state?.cursor)).toEqual({ anchor: 0, head: 5 });
    link.remote('peer-a', { name: 'Ada', color: '#e6194b', cursor: null, typing: false });
    expect(link.awareness.getStates().get(client)?.cursor).toBeNull();
    link.remote('peer-a', null);
    expect(link.awareness.getStates().has(client)).toBe(false);
    expect(changes).toEqual([
      { added: [client], updated: [], removed: [] },
      { added: [], updated: [client], removed: [] },
      { added: [], updated: [], removed: [client] },
    ]);
  });

  it('sends the local cursor and typing to the engine, throttled and deduplicated', async () => {
    const { link, bridged, sent } = await setup('hello');
    link.awareness.setLocalStateField('cursor', relativeCursor(bridged.text, { anchor: 2, head: 2 }));
    link.awareness.setLocalStateField('cursor', relativeCursor(bridged.text, { anchor: 3, head: 5 }));
    await until(() => sent.length === 1);
    expect(sent[0]).toEqual({ cursor: { anchor: 3, head: 5 }, typing: false });
    bridged.text.insert(0, 'x');
    await until(() => sent.length === 2);
    expect(sent[1]).toEqual({ cursor: { anchor: 4, head: 6 }, typing: true });
  });

  it('takes the cursor away when the document is closed', async () => {
    const { link, bridged, sent } = await setup('hello');
    link.awareness.setLocalStateField('cursor', relativeCursor(bridged.text, { anchor: 1, head: 1 }));
    await until(() => sent.length === 1);
    link.destroy();
    expect(sent[1]).toEqual({ cursor: null, typing: false });
  });

  it('says nothing on close when it never sent a cursor', async () => {
    const { link, sent } = await setup('hello');
    link.destroy();
    expect(sent).toEqual([]);
  });

  it('does not count engine updates as typing', async () => {
    const { engine, id, link, bridged } = await setup('hello');
    engine.peerEdit(id, (t) => t.insert(0, 'peer '));
    await until(() => bridged.text.toString() === 'peer hello');
    expect(link.local().typing).toBe(false);
  });
});
