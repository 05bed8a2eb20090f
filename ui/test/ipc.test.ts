// @vitest-environment happy-dom
/**
 * The IPC boundary: byte conversion, and `tauriEngine()` against Tauri's own IPC mock
 * (command names, argument shapes, events, errors).
 */
import type { Channel } from '@tauri-apps/api/core';
import { emit } from '@tauri-apps/api/event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';

import {
  DOC_ID_HEADER,
  EngineError,
  OPENED_READ_ONLY,
  errorMessage,
  fromWire,
  insideTauri,
  parseOpened,
  parseUpdateFrame,
  tauriEngine,
  toWire,
} from '../src/ipc';
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

  it('reads open_document\'s raw answer without copying the state', () => {
    const doc = new Y.Doc();
    doc.getText('body').insert(0, 'héllo 🙂 界');
    const state = Y.encodeStateAsUpdate(doc);
    const raw = new Uint8Array(state.length + 1);
    raw.set(state, 1);
    const writable = parseOpened(raw.buffer);
    expect(writable.readOnly).toBe(false);
    expect(writable.state).toEqual(state);
    expect(writable.state.buffer).toBe(raw.buffer);
    raw[0] = OPENED_READ_ONLY;
    expect(parseOpened(raw.buffer).readOnly).toBe(true);
    const copy = new Y.Doc();
    Y.applyUpdate(copy, writable.state);
    expect(copy.getText('body').toString()).toBe('héllo 🙂 界');
    expect(() => parseOpened(new ArrayBuffer(0))).toThrow(/no bytes/);
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
      // Raw bytes, as tauri::ipc::Response sends them: the read-only flag, then the state.
      if (cmd === 'open_document') return new Uint8Array([OPENED_READ_ONLY, 0, 0]).buffer;
      if (cmd === 'share') return 'quire://join/x';
      return null;
    });
    // Tauri's mock drops invoke's options; record the headers on the way in.
    const internals = (window as unknown as { __TAURI_INTERNALS__: { invoke: (...a: unknown[]) => unknown } }).__TAURI_INTERNALS__;
    const mocked = internals.invoke;
    const headers: unknown[] = [];
    internals.invoke = (cmd, args, options) => {
      if (cmd === 'apply_update') headers.push((options as { headers?: unknown } | undefined)?.headers);
      return mocked(cmd, args, options);
    };
    const engine = tauriEngine();
    expect(insideTauri()).toBe(true);
    const opened = await engine.openDocument('d1');
    expect(opened.state).toBeInstanceOf(Uint8Array);
    expect(opened).toEqual({ state: new Uint8Array([0, 0]), readOnly: true });
    const update = new Uint8Array([1, 2, 3]);
    await engine.applyUpdate('d1', update);
    expect(headers).toEqual([{ [DOC_ID_HEADER]: 'd1' }]);
    await engine.share('d1', true);
    await engine.diff('d1', 2, null);
    await engine.setPresence('d1', { cursor: { anchor: 1, head: 4 }, typing: true });
    await engine.setSettings({ displayName: 'Ada', color: '#e6194b' });
    await engine.renameDocument('d1', 'T');
    expect(calls).toEqual([
      ['open_document', { id: 'd1' }],
      // The update is the body itself, bytes as bytes.
      ['apply_update', update],
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

  it('delivers updates from the raw channel, and presence and sync-status events', async () => {
    let channel: Channel<ArrayBuffer> | null = null;
    mockIPC(
      (cmd, args) => {
        if (cmd === 'watch_updates') channel = (args as { channel: Channel<ArrayBuffer> }).channel;
        return null;
      },
      { shouldMockEvents: true },
    );
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const engine = tauriEngine();
    const updates: [string, Uint8Array, string][] = [];
    const presences: unknown[] = [];
    const statuses: unknown[] = [];
    const stopUpdates = engine.onDocUpdate((id, u, origin) => updates.push([id, u, origin]));
    engine.onPresence((id, peer, p) => presences.push([id, peer, p]));
    engine.onSyncStatus((s) => statuses.push(s));
    await tick();
    expect(channel).not.toBeNull();
    // What the Rust side sends, in order: frames as raw bytes (origin, id length, id, update).
    let index = 0;
    const send = (bytes: number[]) => {
      const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback(id: number, data: unknown): void } }).__TAURI_INTERNALS__;
      internals.runCallback(channel!.id, { message: new Uint8Array(bytes).buffer, index: index++ });
    };
    send([1, 2, 0x64, 0x31, 7, 8]);
    send([9]);
    await emit('presence', { id: 'd1', peer: 'p', presence: null });
    await emit('sync-status', { mode: 'lan', peers: 1, pending: 0 });
    await tick();
    expect(updates).toEqual([['d1', new Uint8Array([7, 8]), 'relay']]);
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('an update from the engine was dropped'));
    logged.mockRestore();
    expect(presences).toEqual([['d1', 'p', null]]);
    expect(statuses).toEqual([{ mode: 'lan', peers: 1, pending: 0 }]);
    stopUpdates();
    send([0, 2, 0x64, 0x31, 9]);
    await tick();
    expect(updates).toHaveLength(1);
  });

  it('reads update frames, refusing ones that do not parse', () => {
    expect(parseUpdateFrame(new Uint8Array([2, 1, 0x78, 5]).buffer)).toEqual({ id: 'x', origin: 'local-other', update: new Uint8Array([5]) });
    expect(parseUpdateFrame(new Uint8Array([0, 0]))).toEqual({ id: '', origin: 'peer', update: new Uint8Array([]) });
    expect(() => parseUpdateFrame(new Uint8Array([3, 0]))).toThrow(TypeError);
    expect(() => parseUpdateFrame(new Uint8Array([0, 5, 0x78]))).toThrow(TypeError);
    expect(() => parseUpdateFrame(new Uint8Array([]))).toThrow(TypeError);
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
