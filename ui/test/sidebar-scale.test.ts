// @vitest-environment happy-dom
/**
 * The sidebar with 10,000 documents: only the rows on screen are in the DOM, a
 * change that is not about the list (a save status, a keystroke) leaves the DOM
 * alone, and a changed title rebuilds only its own row.
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { DocumentSummary, SearchHit } from '../src/ipc';
import { createStore, initialState, type Store } from '../src/state';
import { ROW_HEIGHT_PX, Sidebar } from '../src/ui/sidebar';
import { FALLBACK_VIEWPORT_PX, OVERSCAN_ROWS } from '../src/ui/virtual-list';

const COUNT = 10_000;
/** The most rows a screen (plus overscan) can hold. */
const SCREENFUL = Math.ceil(FALLBACK_VIEWPORT_PX / ROW_HEIGHT_PX) + 2 * OVERSCAN_ROWS;

afterEach(() => document.body.replaceChildren());

function documents(n: number): DocumentSummary[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `doc-${i}`,
    title: `Note ${String(i).padStart(5, '0')}`,
    updatedAt: 1_000_000 + n - i,
    chars: 10,
    role: null,
  }));
}

function mount(): { sidebar: Sidebar; store: Store; list: HTMLElement } {
  const store = createStore(initialState());
  const sidebar = new Sidebar(
    {
      create() {},
      select: (id) => store.dispatch({ type: 'select', id }),
      trash() {},
      restore() {},
      setQuery: (query) => store.dispatch({ type: 'search/query', query }),
      setView() {},
      setFilters: (filters) => store.dispatch({ type: 'filters/set', filters }),
      join: async () => {},
      openSettings() {},
    },
    false,
  );
  document.body.append(sidebar.el);
  store.subscribe((state) => sidebar.render(state));
  sidebar.render(store.getState());
  store.dispatch({ type: 'documents/loaded', documents: documents(COUNT) });
  return { sidebar, store, list: sidebar.el.querySelector('.doc-list') as HTMLElement };
}

const rows = (list: HTMLElement) => [...list.querySelectorAll<HTMLElement>('.doc-item')];
const titles = (list: HTMLElement) => rows(list).map((r) => r.querySelector('.doc-title')?.textContent);

/** Counts every change to the list's DOM from now on. */
function watch(list: HTMLElement): () => Promise<number> {
  let changes = 0;
  const observer = new MutationObserver((records) => (changes += records.length));
  observer.observe(list, { subtree: true, childList: true, characterData: true, attributes: true });
  return async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    changes += observer.takeRecords().length;
    observer.disconnect();
    return changes;
  };
}

describe('the document list with 10,000 documents', () => {
  it('keeps only a screenful of rows in the DOM, the first ones first', () => {
    const { list } = mount();
    const shown = rows(list);
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThanOrEqual(SCREENFUL);
    expect(titles(list).slice(0, 3)).toEqual(['Note 00000', 'Note 00001', 'Note 00002']);
    // The scroll height is that of all 10,000 rows.
    const spacers = [...list.querySelectorAll<HTMLElement>('.list-spacer')];
    const spacerHeight = spacers.reduce((sum, s) => sum + parseFloat(s.style.height || '0'), 0);
    expect(spacerHeight + shown.length * ROW_HEIGHT_PX).toBe(COUNT * ROW_HEIGHT_PX);
  });

  it('shows the rows further down once scrolled there', async () => {
    const { list } = mount();
    list.scrollTop = 5000 * ROW_HEIGHT_PX;
    list.dispatchEvent(new Event('scroll'));
    await new Promise((resolve) => requestAnimationFrame(() => resolve(null)));
    expect(rows(list).length).toBeLessThanOrEqual(SCREENFUL);
    expect(titles(list)).toContain('Note 05000');
    expect(titles(list)).not.toContain('Note 00000');
  });

  it('is not touched by a save status or the sync status', async () => {
    const { store, list } = mount();
    const before = rows(list);
    const changes = watch(list);
    for (let i = 0; i < 20; i++) {
      store.dispatch({ type: 'save/status', status: { id: 'doc-0', readOnly: false, unsent: i % 2, sending: i % 2 === 1, error: null, refused: 0 } });
    }
    store.dispatch({ type: 'sync/status', status: { mode: 'lan', peers: 1, pending: 3 } });
    expect(await changes()).toBe(0);
    expect(rows(list)).toEqual(before);
  });

  it('rebuilds only the row whose title changed', async () => {
    const { store, list } = mount();
    const before = rows(list);
    store.dispatch({ type: 'document/renamed', id: 'doc-2', title: 'Renamed' });
    const after = rows(list);
    expect(titles(list).slice(0, 3)).toEqual(['Note 00000', 'Note 00001', 'Renamed']);
    expect(after.length).toBe(before.length);
    const rebuilt = after.filter((row, i) => row !== before[i]);
    expect(rebuilt.map((r) => r.querySelector('.doc-title')?.textContent)).toEqual(['Renamed']);
  });

  it('moves an edited document to the top, keeping every other row', () => {
    const { store, list } = mount();
    const before = new Set(rows(list));
    store.dispatch({ type: 'documents/touched', ids: ['doc-5'], at: 2_000_000 });
    expect(titles(list).slice(0, 2)).toEqual(['Note 00005', 'Note 00000']);
    const rebuilt = rows(list).filter((row) => !before.has(row));
    expect(rebuilt.map((r) => r.querySelector('.doc-title')?.textContent)).toEqual(['Note 00005']);
  });

  it('rebuilds only the two rows whose selection changed', () => {
    const { store, list } = mount();
    store.dispatch({ type: 'select', id: 'doc-1' });
    const before = rows(list);
    store.dispatch({ type: 'select', id: 'doc-3' });
    const rebuilt = rows(list).filter((row, i) => row !== before[i]);
    expect(rebuilt.map((r) => r.querySelector('.doc-title')?.textContent)).toEqual(['Note 00001', 'Note 00003']);
    expect(list.querySelector('.doc-item.selected .doc-title')?.textContent).toBe('Note 00003');
  });

  it('lists many search results the same way, and typing in the box does not redraw them', async () => {
    const { sidebar, store, list } = mount();
    const hits: SearchHit[] = Array.from({ length: 2000 }, (_, i) => ({ id: `doc-${i}`, title: `Hit ${i}`, snippet: 'a topic here', highlights: [[2, 7]] }));
    const search = sidebar.el.querySelector('input.search') as HTMLInputElement;
    search.value = 'topic';
    search.dispatchEvent(new Event('input'));
    store.dispatch({ type: 'search/results', query: 'topic', results: hits });
    expect(rows(list).length).toBeLessThanOrEqual(SCREENFUL);
    expect(titles(list)[0]).toBe('Hit 0');
    expect(list.querySelector('mark')?.textContent).toBe('topic');
    const changes = watch(list);
    search.value = 'topics';
    search.dispatchEvent(new Event('input'));
    expect(await changes()).toBe(0);
    // Clearing the query brings the document list back.
    search.value = '';
    search.dispatchEvent(new Event('input'));
    expect(titles(list)[0]).toBe('Note 00000');
    expect(rows(list).length).toBeLessThanOrEqual(SCREENFUL);
  });
});
