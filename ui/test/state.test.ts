/**
 * The UI state reducer and store: every transition is a pure function of the
 * previous state and an action.
 */
import { describe, expect, it, vi } from 'vitest';

import type { BridgeStatus } from '../src/bridge';
import type { DocumentSummary, Presence } from '../src/ipc';
import {
  createStore,
  effectiveSort,
  initialState,
  listFiltered,
  listRequest,
  presentMembers,
  reduce,
  requestKey,
  selectedDocument,
  type Action,
  type UiState,
} from '../src/state';

const doc = (id: string, updatedAt: number, title = id): DocumentSummary => ({ id, title, updatedAt, chars: 0, role: null });
const ada: Presence = { name: 'Ada', color: '#e6194b', cursor: { anchor: 1, head: 1 }, typing: false };

function run(...actions: Action[]): UiState {
  return actions.reduce(reduce, initialState());
}

describe('filters', () => {
  it('ask the engine for what the filter row says, and only while one is set', () => {
    let s = run();
    expect(listFiltered(s)).toBe(false);
    expect(listRequest(s)).toEqual({});
    s = run({ type: 'filters/set', filters: { sharing: 'shared', role: 'read', since: '7d' } }, { type: 'view/set', view: 'trash' });
    expect(listFiltered(s)).toBe(true);
    expect(listRequest(s)).toEqual({ sharing: 'shared', role: 'read', since: '7d', inTrash: true });
    s = reduce(s, { type: 'filters/set', filters: { sharing: 'mine' } });
    expect(s.filters.role).toBe('any');
    s = reduce(s, { type: 'filters/set', filters: { sort: 'title' } });
    expect(listRequest(s).sort).toBe('title');
  });

  it('sort by relevance only with a query', () => {
    let s = run();
    expect(effectiveSort(s)).toBe('updated');
    s = reduce(s, { type: 'search/query', query: 'cat' });
    expect(effectiveSort(s)).toBe('relevance');
  });

  it('keep only the answer to the current filters', () => {
    const older = run({ type: 'filters/set', filters: { since: '1d' } });
    const olderKey = requestKey(older);
    let s = reduce(older, { type: 'filters/set', filters: { since: '30d' } });
    s = reduce(s, { type: 'filtered/loaded', key: olderKey, documents: [doc('a', 1)] });
    expect(s.filtered).toBeNull();
    s = reduce(s, { type: 'filtered/loaded', key: requestKey(s), documents: [doc('b', 1)] });
    expect(s.filtered?.documents.map((d) => d.id)).toEqual(['b']);
    s = reduce(s, { type: 'search/query', query: 'x' });
    expect(reduce(s, { type: 'search/results', query: 'x', results: [], key: olderKey }).search.results).toBeNull();
    expect(reduce(s, { type: 'search/results', query: 'x', results: [], key: requestKey(s) }).search.results).toEqual([]);
  });
});

describe('reduce', () => {
  it('lists documents newest first and marks the list loaded', () => {
    const s = run({ type: 'documents/loaded', documents: [doc('a', 1), doc('b', 3), doc('c', 2)] });
    expect(s.documents.map((d) => d.id)).toEqual(['b', 'c', 'a']);
    expect(s.loaded).toBe(true);
  });

  it('does not mutate the previous state', () => {
    const before = run({ type: 'documents/loaded', documents: [doc('a', 1)] });
    const frozen = structuredClone(before);
    reduce(before, { type: 'document/added', document: doc('b', 2) });
    reduce(before, { type: 'document/trashed', id: 'a' });
    expect(before).toEqual(frozen);
  });

  it('selects a new document and shows it in the list', () => {
    const s = run(
      { type: 'documents/loaded', documents: [doc('a', 1)] },
      { type: 'panel/toggle', panel: 'settings' },
      { type: 'document/added', document: doc('b', 2) },
    );
    expect(s.selectedId).toBe('b');
    expect(s.documents.map((d) => d.id)).toEqual(['b', 'a']);
    expect(s.panel).toBe('none');
  });

  it('takes documents listed by id into the list, keeping the others as they were', () => {
    const [a, b] = [doc('a', 3), doc('b', 1)];
    const before = run({ type: 'documents/loaded', documents: [a, b] }, { type: 'select', id: 'b' });
    const after = reduce(before, {
      type: 'documents/arrived',
      documents: [doc('new', 2, 'From Bob'), { ...b, title: 'B again', updatedAt: 5 }],
    });
    expect(after.documents.map((d) => d.id)).toEqual(['b', 'a', 'new']);
    expect(after.documents[0]?.title).toBe('B again');
    expect(after.documents[1]).toBe(a);
    expect(after.selectedId).toBe('b');
    expect(reduce(after, { type: 'documents/arrived', documents: [] })).toBe(after);
  });

  it('renames in place', () => {
    const s = run({ type: 'documents/loaded', documents: [doc('a', 1, 'Old')] }, { type: 'document/renamed', id: 'a', title: 'New' });
    expect(selectedDocument({ ...s, selectedId: 'a' })?.title).toBe('New');
  });

  it('trashing the selected document clears the selection, its panel and presences', () => {
    const s = run(
      { type: 'documents/loaded', documents: [doc('a', 1), doc('b', 2)] },
      { type: 'select', id: 'a' },
      { type: 'panel/toggle', panel: 'history' },
      { type: 'presence', docId: 'a', peer: 'p1', presence: ada },
      { type: 'document/trashed', id: 'a' },
    );
    expect(s.selectedId).toBeNull();
    expect(s.panel).toBe('none');
    expect(s.presences).toEqual({});
    expect(s.documents.map((d) => d.id)).toEqual(['b']);
  });

  it('drops a selection that disappears from a refreshed list', () => {
    const s = run(
      { type: 'documents/loaded', documents: [doc('a', 1)] },
      { type: 'select', id: 'a' },
      { type: 'documents/loaded', documents: [doc('b', 1)] },
    );
    expect(s.selectedId).toBeNull();
  });

  it('keeps the newest search results and ignores answers to older queries', () => {
    const hit = { id: 'a', title: 'A', snippet: 'x', highlights: [] as [number, number][] };
    let s = run({ type: 'search/query', query: 'ca' }, { type: 'search/query', query: 'cat' });
    s = reduce(s, { type: 'search/results', query: 'ca', results: [hit] });
    expect(s.search.results).toBeNull();
    s = reduce(s, { type: 'search/results', query: 'cat', results: [hit] });
    expect(s.search.results).toEqual([hit]);
    s = reduce(s, { type: 'search/query', query: '  ' });
    expect(s.search.results).toBeNull();
  });

  it('tracks presences per document and forgets peers that leave', () => {
    let s = run(
      { type: 'documents/loaded', documents: [doc('a', 1)] },
      { type: 'select', id: 'a' },
      { type: 'presence', docId: 'a', peer: 'p1', presence: ada },
      { type: 'presence', docId: 'a', peer: 'p2', presence: { ...ada, name: 'Bo' } },
    );
    expect(presentMembers(s).map((p) => p.name)).toEqual(['Ada', 'Bo']);
    s = reduce(s, { type: 'presence', docId: 'a', peer: 'p1', presence: null });
    s = reduce(s, { type: 'presence', docId: 'a', peer: 'p2', presence: null });
    expect(s.presences).toEqual({});
    expect(reduce(s, { type: 'presence', docId: 'a', peer: 'zz', presence: null })).toBe(s);
  });

  it('opens document panels only with a document selected, and toggles them', () => {
    let s = run({ type: 'panel/toggle', panel: 'history' });
    expect(s.panel).toBe('none');
    s = reduce(s, { type: 'panel/toggle', panel: 'settings' });
    expect(s.panel).toBe('settings');
    s = run({ type: 'documents/loaded', documents: [doc('a', 1)] }, { type: 'select', id: 'a' }, { type: 'panel/toggle', panel: 'share' });
    expect(s.panel).toBe('share');
    expect(reduce(s, { type: 'panel/toggle', panel: 'share' }).panel).toBe('none');
    expect(reduce(s, { type: 'panel/close' }).panel).toBe('none');
  });

  it('keeps sync status, save status, errors and theme', () => {
    const save: BridgeStatus = { id: 'a', readOnly: false, unsent: 2, sending: true, error: null, refused: 0 };
    const s = run(
      { type: 'sync/status', status: { mode: 'relayed', peers: 2, pending: 5 } },
      { type: 'save/status', status: save },
      { type: 'error/show', message: 'boom' },
      { type: 'theme/set', theme: 'dark' },
    );
    expect(s.sync).toEqual({ mode: 'relayed', peers: 2, pending: 5 });
    expect(s.saves.a).toEqual(save);
    expect(s.error).toBe('boom');
    expect(s.theme).toBe('dark');
    expect(reduce(s, { type: 'error/dismiss' }).error).toBeNull();
  });

  it('sorts the trash by deletion time and removes restored documents from it', () => {
    const s = run(
      { type: 'trash/loaded', trash: [{ ...doc('a', 1), deletedAt: 5 }, { ...doc('b', 1), deletedAt: 9 }] },
      { type: 'document/added', document: doc('a', 10) },
    );
    expect(s.trash.map((d) => d.id)).toEqual(['b']);
  });

  it('keeps a catch-up per document until all of it is received', () => {
    let s = run({ type: 'catch-up', docId: 'a', received: 1, total: 4 }, { type: 'catch-up', docId: 'b', received: 0, total: 2 });
    expect(s.catchUps).toEqual({ a: { received: 1, total: 4 }, b: { received: 0, total: 2 } });
    s = reduce(s, { type: 'catch-up', docId: 'a', received: 3, total: 4 });
    expect(s.catchUps.a).toEqual({ received: 3, total: 4 });
    s = reduce(s, { type: 'catch-up', docId: 'a', received: 4, total: 4 });
    expect(s.catchUps).toEqual({ b: { received: 0, total: 2 } });
    // More than announced also ends it.
    s = reduce(s, { type: 'catch-up', docId: 'b', received: 3, total: 2 });
    expect(s.catchUps).toEqual({});
  });

  it('ignores a finished or empty catch-up it was not tracking', () => {
    const before = run({ type: 'catch-up', docId: 'a', received: 1, total: 4 });
    expect(reduce(before, { type: 'catch-up', docId: 'z', received: 5, total: 5 })).toBe(before);
    expect(reduce(before, { type: 'catch-up', docId: 'z', received: 0, total: 0 })).toBe(before);
    expect(run({ type: 'catch-up', docId: 'a', received: 0, total: 0 }).catchUps).toEqual({});
  });

  it('tracks the file being imported until the import is done', () => {
    let s = run({ type: 'import/progress', done: 0, total: 2, name: 'a.md' });
    expect(s.importing).toEqual({ done: 0, total: 2, name: 'a.md' });
    s = reduce(s, { type: 'import/progress', done: 1, total: 2, name: 'b.md' });
    expect(s.importing).toEqual({ done: 1, total: 2, name: 'b.md' });
    s = reduce(s, { type: 'import/done' });
    expect(s.importing).toBeNull();
    expect(initialState().importing).toBeNull();
    expect(initialState().catchUps).toEqual({});
  });

  it('does not mutate the previous state on progress', () => {
    const before = run({ type: 'catch-up', docId: 'a', received: 1, total: 4 }, { type: 'import/progress', done: 0, total: 1, name: 'x.md' });
    const frozen = structuredClone(before);
    reduce(before, { type: 'catch-up', docId: 'a', received: 4, total: 4 });
    reduce(before, { type: 'catch-up', docId: 'b', received: 1, total: 2 });
    reduce(before, { type: 'import/done' });
    expect(before).toEqual(frozen);
  });
});

describe('createStore', () => {
  it('notifies subscribers on change only', () => {
    const store = createStore(initialState());
    const listener = vi.fn();
    const stop = store.subscribe(listener);
    store.dispatch({ type: 'select', id: null });
    expect(listener).not.toHaveBeenCalled();
    store.dispatch({ type: 'error/show', message: 'x' });
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener.mock.calls[0]?.[1].error).toBeNull();
    stop();
    store.dispatch({ type: 'error/dismiss' });
    expect(listener).toHaveBeenCalledTimes(1);
    expect(store.getState().error).toBeNull();
  });
});
