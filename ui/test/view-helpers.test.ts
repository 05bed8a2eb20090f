/**
 * Small pure pieces of the views: snippet highlighting, shortcuts, status labels,
 * the line diff of the demo engine, and following the OS theme.
 */
import { describe, expect, it } from 'vitest';

import { lineDiff } from '../src/demo/line-diff';
import { followSystemTheme, systemTheme, type MediaSource } from '../src/theme';
import { commandFor, isCommand, shortcutLabel } from '../src/ui/shortcuts';
import { segments } from '../src/ui/snippet';
import { saveLabel, syncDetail, syncLabel } from '../src/ui/status-bar';
import { versionLabel } from '../src/ui/history-panel';

describe('segments', () => {
  it('splits a snippet into plain and matched runs', () => {
    expect(segments('a cat and a cat', [[2, 5], [12, 15]])).toEqual([
      { text: 'a ', hit: false },
      { text: 'cat', hit: true },
      { text: ' and a ', hit: false },
      { text: 'cat', hit: true },
    ]);
  });

  it('sorts, merges overlaps and clamps out-of-range ranges', () => {
    expect(segments('abcdef', [[4, 99], [1, 3], [2, 4], [5, 2]])).toEqual([
      { text: 'a', hit: false },
      { text: 'bcdef', hit: true },
    ]);
    expect(segments('', [[0, 3]])).toEqual([]);
    expect(segments('plain', [])).toEqual([{ text: 'plain', hit: false }]);
  });

  it('counts offsets in UTF-16 code units like JavaScript strings', () => {
    const snippet = '🙂 界 cat';
    const at = snippet.indexOf('cat');
    expect(segments(snippet, [[at, at + 3]]).find((s) => s.hit)?.text).toBe('cat');
  });
});

describe('shortcuts', () => {
  const chord = (key: string, mods: Partial<Record<'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey', boolean>> = {}) => ({
    key,
    ctrlKey: false,
    metaKey: false,
    shiftKey: false,
    altKey: false,
    ...mods,
  });

  it('maps Ctrl chords on Windows/Linux and Cmd chords on macOS', () => {
    expect(commandFor(chord('n', { ctrlKey: true }), false)).toBe('new');
    expect(commandFor(chord('k', { ctrlKey: true }), false)).toBe('search');
    expect(commandFor(chord('H', { ctrlKey: true, shiftKey: true }), false)).toBe('history');
    // Plain Ctrl/Cmd+H is left alone (on macOS it hides the app).
    expect(commandFor(chord('h', { metaKey: true }), true)).toBeNull();
    expect(commandFor(chord('S', { ctrlKey: true, shiftKey: true }), false)).toBe('share');
    expect(commandFor(chord('n', { metaKey: true }), true)).toBe('new');
    expect(commandFor(chord('n', { ctrlKey: true }), true)).toBeNull();
    expect(commandFor(chord('n', { metaKey: true }), false)).toBeNull();
  });

  it('maps Ctrl/Cmd+J to join and Ctrl/Cmd+, to settings', () => {
    expect(commandFor(chord('j', { ctrlKey: true }), false)).toBe('join');
    expect(commandFor(chord('J', { ctrlKey: true }), false)).toBe('join');
    expect(commandFor(chord(',', { ctrlKey: true }), false)).toBe('settings');
    expect(commandFor(chord('j', { metaKey: true }), true)).toBe('join');
    expect(commandFor(chord(',', { metaKey: true }), true)).toBe('settings');
    expect(commandFor(chord('j', { ctrlKey: true }), true)).toBeNull();
    expect(commandFor(chord(',', { metaKey: true }), false)).toBeNull();
    expect(commandFor(chord('j', { ctrlKey: true, shiftKey: true }), false)).toBeNull();
    expect(commandFor(chord(',', { ctrlKey: true, altKey: true }), false)).toBeNull();
    expect(commandFor(chord('j'), false)).toBeNull();
  });

  it('knows the six command names and nothing else', () => {
    for (const name of ['new', 'search', 'history', 'share', 'join', 'settings']) expect(isCommand(name)).toBe(true);
    for (const name of ['', 'New', 'SETTINGS', 'quit', 'delete', 'join ', 'toString', 'constructor', '__proto__']) {
      expect(isCommand(name)).toBe(false);
    }
  });

  it('ignores other chords', () => {
    expect(commandFor(chord('n'), false)).toBeNull();
    expect(commandFor(chord('s', { ctrlKey: true }), false)).toBeNull();
    expect(commandFor(chord('n', { ctrlKey: true, altKey: true }), false)).toBeNull();
    expect(commandFor(chord('k', { ctrlKey: true, shiftKey: true }), false)).toBeNull();
  });

  it('labels shortcuts per platform', () => {
    expect(shortcutLabel('K', false)).toBe('Ctrl+K');
    expect(shortcutLabel('S', false, true)).toBe('Ctrl+Shift+S');
    expect(shortcutLabel('S', true, true)).toBe('⇧⌘S');
  });
});

describe('status labels', () => {
  it('names each connection mode and counts peers and pending updates', () => {
    expect(['offline', 'lan', 'direct', 'relayed'].map((mode) => syncLabel({ mode, peers: 0, pending: 0 } as never))).toEqual([
      'Offline',
      'LAN',
      'Direct',
      'Relayed',
    ]);
    expect(syncDetail({ mode: 'lan', peers: 1, pending: 0 })).toBe('1 peer');
    expect(syncDetail({ mode: 'relayed', peers: 3, pending: 12 })).toBe('3 peers · 12 to sync');
  });

  it('says whether edits are saved', () => {
    const base = { id: 'a', readOnly: false, unsent: 0, sending: false, error: null, refused: 0 };
    expect(saveLabel(undefined)).toBe('');
    expect(saveLabel(base)).toBe('Saved');
    expect(saveLabel({ ...base, unsent: 2, sending: true })).toBe('Saving…');
    expect(saveLabel({ ...base, unsent: 2, error: 'disk full' })).toBe('Not saved — retrying');
    expect(saveLabel({ ...base, readOnly: true })).toBe('Read-only');
  });

  it('describes versions', () => {
    expect(versionLabel({ number: 3, kind: 'named', name: 'Draft', createdAt: 0, chars: 1 })).toBe('v3 · Draft');
    expect(versionLabel({ number: 4, kind: 'auto', name: null, createdAt: 0, chars: 1 })).toBe('v4 · Automatic');
  });
});

describe('lineDiff (demo engine)', () => {
  it('marks equal, deleted and inserted lines with their numbers', () => {
    expect(lineDiff('a\nb\nc\n', 'a\nB\nc\nd')).toEqual([
      { kind: 'equal', oldLine: 1, newLine: 1, text: 'a\n' },
      { kind: 'delete', oldLine: 2, newLine: null, text: 'b\n' },
      { kind: 'insert', oldLine: null, newLine: 2, text: 'B\n' },
      { kind: 'equal', oldLine: 3, newLine: 3, text: 'c\n' },
      { kind: 'insert', oldLine: null, newLine: 4, text: 'd' },
    ]);
    expect(lineDiff('', '')).toEqual([]);
  });
});

describe('theme', () => {
  function fakeMedia(dark: boolean) {
    const listeners = new Set<(e: MediaQueryListEvent) => void>();
    const query = {
      matches: dark,
      addEventListener: (_: string, l: (e: MediaQueryListEvent) => void) => listeners.add(l),
      removeEventListener: (_: string, l: (e: MediaQueryListEvent) => void) => listeners.delete(l),
    };
    const source = { matchMedia: () => query } as unknown as MediaSource;
    const flip = (to: boolean) => {
      query.matches = to;
      for (const l of listeners) l({ matches: to } as MediaQueryListEvent);
    };
    return { source, flip, listeners };
  }

  it('follows the OS colour scheme and stops when asked', () => {
    const { source, flip, listeners } = fakeMedia(true);
    expect(systemTheme(source)).toBe('dark');
    const seen: string[] = [];
    const stop = followSystemTheme(source, (t) => seen.push(t));
    flip(false);
    flip(true);
    stop();
    expect(listeners.size).toBe(0);
    expect(seen).toEqual(['light', 'dark']);
  });
});
