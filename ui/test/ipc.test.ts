// @vitest-environment happy-dom
/**
 * The IPC boundary: byte conversion, and `tauriEngine()` against Tauri's own IPC mock
 * (command names, argument shapes, events, errors).
 */
import { emit } from '@tauri-apps/api/event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';

import { EngineError, errorMessage, fromWire, insideTauri, tauriEngine, toWire } from '../src/ipc';
import { tick } from './helpers';

afterEach(() => clearMocks());

describe('byte conversion', () => {
  it('round-trips a real Yjs update', () => {
    const doc = new Y.Doc();
    doc.getText('body').insert(0, 'héllo 🙂 界');
    const update = Y.encodeStateAsUpdate(doc);
    const wire = toWire(update);
    expect(Array.isArray(wire)).toBe(true);
    expect(JSON.parse(JSON.stringify(wire))).toEqual(wire);
    const back = fromWire(JSON.parse(JSON.stringify(wire)));
    expect(back).toEqual(update);
    const copy = new Y.Doc();
    Y.applyUpdate(copy, back);
    expect(copy.getText('body').toString()).toBe('héllo 🙂 界');
  });

  it('handles empty and boundary bytes', () => {
    expect(toWire(new Uint8Array())).toEqual([]);
    expect(fromWire([0, 255])).toEqual(new Uint8Array([0, 255]));
  });

  it('rejects anything that is not bytes', () => {
    expect(() => fromWire('abc')).toThrow(TypeError);
    expect(() => fromWire([1, 256])).toThrow(/byte 1/);
    expect(() => fromWire([1.5])).toThrow(TypeError);
    expect(() => fromWire([-1])).toThrow(TypeError);
    expect(() => fromWire(['1'])).toThrow(TypeError);
  });

  it('turns any rejection into a message', () => {
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage(new Error('err'))).toBe('err');
    expect(errorMessage({ message: 'obj' })).toBe('obj');
    expect(errorMessage({ kind: 'NotFound' })).toBe('{"kind":"NotFound"}');
  });
});

describe('tauriEngine', () => {
  it('calls the snake_case commands with camelCase arguments', async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === 'open_document') return { state: [0, 0], readOnly: true };
      if (cmd === 'share') return 'quire://join/x';
      return null;
    });
    const engine = tauriEngine();
    expect(insideTauri()).toBe(true);
    const opened = await engine.openDocument('d1');
    expect(opened.state).toBeInstanceOf(Uint8Array);
    expect(opened).toEqual({ state: new Uint8Array([0, 0]), readOnly: true });
    await engine.applyUpdate('d1', new Uint8Array([1, 2, 3]));
    await engine.share('d1', true);
    await engine.diff('d1', 2, null);
    await engine.setPresence('d1', { cursor: { anchor: 1, head: 4 }, typing: true });
    await engine.setSettings({ displayName: 'Ada', color: '#e6194b' });
    await engine.renameDocument('d1', 'T');
    expect(calls).toEqual([
      ['open_document', { id: 'd1' }],
      ['apply_update', { id: 'd1', update: [1, 2, 3] }],
      ['share', { id: 'd1', readOnly: true }],
      ['diff', { id: 'd1', from: 2, to: null }],
      ['set_presence', { id: 'd1', presence: { cursor: { anchor: 1, head: 4 }, typing: true } }],
      ['set_settings', { settings: { displayName: 'Ada', color: '#e6194b' } }],
      ['rename_document', { id: 'd1', title: 'T' }],
    ]);
  });

  it('rejects with EngineError carrying the command and message', async () => {
    mockIPC(() => {
      throw 'document is in the trash';
    });
    const err = await tauriEngine().openDocument('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ command: 'open_document', message: 'document is in the trash' });
  });

  it('delivers doc-update, presence and sync-status events, converting bytes', async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const engine = tauriEngine();
    const updates: [string, Uint8Array, string][] = [];
    const presences: unknown[] = [];
    const statuses: unknown[] = [];
    const stopUpdates = engine.onDocUpdate((id, u, origin) => updates.push([id, u, origin]));
    engine.onPresence((id, peer, p) => presences.push([id, peer, p]));
    engine.onSyncStatus((s) => statuses.push(s));
    await tick();
    await emit('doc-update', { id: 'd1', update: [7, 8], origin: 'relay' });
    await emit('doc-update', { id: 'd1', update: 'garbage', origin: 'peer' });
    await emit('presence', { id: 'd1', peer: 'p', presence: null });
    await emit('sync-status', { mode: 'lan', peers: 1, pending: 0 });
    await tick();
    expect(updates).toEqual([['d1', new Uint8Array([7, 8]), 'relay']]);
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('doc-update for d1 dropped'));
    logged.mockRestore();
    expect(presences).toEqual([['d1', 'p', null]]);
    expect(statuses).toEqual([{ mode: 'lan', peers: 1, pending: 0 }]);
    stopUpdates();
    await emit('doc-update', { id: 'd1', update: [9], origin: 'peer' });
    await tick();
    expect(updates).toHaveLength(1);
  });

  it('unsubscribes even before listen has resolved', async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const seen: unknown[] = [];
    tauriEngine().onSyncStatus((s) => seen.push(s))();
    await tick();
    await emit('sync-status', { mode: 'lan', peers: 1, pending: 0 });
    await tick();
    expect(seen).toEqual([]);
  });
});
