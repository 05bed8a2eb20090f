// @vitest-environment happy-dom
/**
 * Search and the document list with the filter row, against the in-memory engine:
 * each filter and each order narrows or reorders what is listed, with and without a
 * query; the "Reindexing… N of M" line follows the engine's report; and highlights,
 * which arrive as UTF-16 ranges, mark exactly the matched characters in CJK, emoji and
 * other scripts.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { startApp, type App } from '../src/app';
import { MemoryEngine } from '../src/demo/memory-engine';
import { renderSnippet, segments } from '../src/ui/snippet';
import { unmount, until } from './helpers';

let root: HTMLElement;
function mount(engine: MemoryEngine): App {
  document.body.replaceChildren();
  root = document.createElement('div');
  document.body.append(root);
  return startApp(root, engine.connect());
}
const $ = <T extends Element = HTMLElement>(sel: string) => root.querySelector<T>(sel);
const $$ = (sel: string) => [...root.querySelectorAll<HTMLElement>(sel)];
const titles = () => $$('.doc-list .doc-title').map((e) => e.textContent);
const sorted = (list: (string | null)[]) => [...list].sort();

/** The filter control labelled `label`. */
function control<T extends HTMLElement>(label: string): T {
  const el = $$('.filter-row select, .filter-row input').find(
    (c) => c.getAttribute('aria-label') === label || c.closest('label')?.textContent?.trim() === label,
  );
  if (!el) throw new Error(`no filter control ${label}`);
  return el as T;
}

function choose(label: string, value: string): void {
  const select = control<HTMLSelectElement>(label);
  select.value = value;
  select.dispatchEvent(new Event('change'));
}

function type(query: string): void {
  const search = $<HTMLInputElement>('.search')!;
  search.value = query;
  search.dispatchEvent(new Event('input'));
}

const DAY = 86_400_000;

/**
 * Five documents, every body mentioning "garden": one of mine (changed an hour ago),
 * one shared to write, one joined read-only, one changed 10 days ago, one trashed.
 */
function garden(): MemoryEngine {
  const engine = new MemoryEngine();
  const now = Date.now();
  const mine = engine.create('Banana', 'a garden of mine');
  engine.setUpdatedAt(mine, now - 3_600_000);
  const write = engine.create('apple', 'the shared garden plan');
  engine.setRole(write, 'write');
  engine.setUpdatedAt(write, now - 2 * 3_600_000);
  const read = engine.create('Cherry', 'their garden, read only', true);
  engine.setUpdatedAt(read, now - 3 * 3_600_000);
  const old = engine.create('Damson', 'an old garden');
  engine.setUpdatedAt(old, now - 10 * DAY);
  const trashed = engine.create('Elder', 'a trashed garden');
  void engine.connect().deleteDocument(trashed);
  return engine;
}

afterEach(unmount);

describe('the filter row', () => {
  it('has a labelled control for every filter and the order', async () => {
    mount(garden());
    await until(() => titles().length === 4);
    expect($('.filter-row')?.getAttribute('role')).toBe('group');
    for (const label of ['Sharing', 'Role', 'Changed since', 'Sort by']) {
      expect(control(label).tagName).toBe('SELECT');
    }
    expect(control<HTMLInputElement>('In trash').type).toBe('checkbox');
    // Best match needs a query; without one the order shown is newest first.
    expect(control<HTMLSelectElement>('Sort by').value).toBe('updated');
    expect(control<HTMLSelectElement>('Sort by').options[0]?.disabled).toBe(true);
  });

  it('narrows and orders the plain list, each filter and each sort', async () => {
    const app = mount(garden());
    await until(() => titles().length === 4);
    expect(titles()).toEqual(['Banana', 'apple', 'Cherry', 'Damson']);

    choose('Sharing', 'shared');
    await until(() => titles().length === 2);
    expect(titles()).toEqual(['apple', 'Cherry']);
    choose('Role', 'read');
    await until(() => titles().length === 1);
    expect(titles()).toEqual(['Cherry']);
    choose('Role', 'write');
    await until(() => titles()[0] === 'apple');
    expect(titles()).toEqual(['apple']);
    choose('Sharing', 'mine');
    await until(() => titles().length === 2);
    expect(titles()).toEqual(['Banana', 'Damson']);
    expect(control<HTMLSelectElement>('Role').disabled).toBe(true);
    expect(app.store.getState().filters.role).toBe('any');
    choose('Sharing', 'any');

    choose('Changed since', '7d');
    await until(() => titles().length === 3);
    expect(titles()).toEqual(['Banana', 'apple', 'Cherry']);
    choose('Changed since', '30d');
    await until(() => titles().length === 4);
    choose('Changed since', 'any');

    choose('Sort by', 'title');
    await until(() => titles()[0] === 'apple');
    expect(titles()).toEqual(['apple', 'Banana', 'Cherry', 'Damson']);
    choose('Sort by', 'updated');
    await until(() => titles()[0] === 'Banana');
    expect(titles()).toEqual(['Banana', 'apple', 'Cherry', 'Damson']);

    const inTrash = control<HTMLInputElement>('In trash');
    inTrash.checked = true;
    inTrash.dispatchEvent(new Event('change'));
    await until(() => titles().length === 1 && titles()[0] === 'Elder');
    expect(app.store.getState().view).toBe('trash');
    expect($$('.doc-item.trashed button').map((b) => b.textContent)).toEqual(['Restore']);
  });

  it('narrows and orders search results the same way', async () => {
    const app = mount(garden());
    await until(() => titles().length === 4);
    type('garden');
    await until(() => app.store.getState().search.results?.length === 4);
    expect(sorted(titles())).toEqual(['Banana', 'Cherry', 'Damson', 'apple']);
    expect(control<HTMLSelectElement>('Sort by').value).toBe('relevance');
    expect(control<HTMLSelectElement>('Sort by').options[0]?.disabled).toBe(false);

    choose('Sharing', 'mine');
    await until(() => titles().length === 2);
    expect(sorted(titles())).toEqual(['Banana', 'Damson']);
    choose('Sharing', 'any');
    choose('Role', 'read');
    await until(() => titles().length === 1);
    expect(titles()).toEqual(['Cherry']);
    choose('Role', 'any');
    choose('Changed since', '1d');
    await until(() => titles().length === 3);
    expect(sorted(titles())).toEqual(['Banana', 'Cherry', 'apple']);
    choose('Changed since', 'any');
    choose('Sort by', 'title');
    await until(() => titles().length === 4 && titles()[0] === 'apple');
    expect(titles()).toEqual(['apple', 'Banana', 'Cherry', 'Damson']);

    const inTrash = control<HTMLInputElement>('In trash');
    inTrash.checked = true;
    inTrash.dispatchEvent(new Event('change'));
    await until(() => titles().length === 1);
    expect(titles()).toEqual(['Elder']);
    expect($$('.doc-item.trashed mark').map((m) => m.textContent)).toEqual(['garden']);

    // Clearing the query keeps the filters: the trash, by title.
    type('');
    await until(() => app.store.getState().search.results === null && titles().length === 1);
    expect(titles()).toEqual(['Elder']);
  });

  it('says the index is being rebuilt, with progress, until it is done', async () => {
    const engine = garden();
    engine.reindexing({ done: 3, total: 10 });
    mount(engine);
    const status = () => $('.search-status');
    await until(() => status()?.hidden === false);
    expect(status()?.textContent).toBe('Reindexing… 3 of 10');
    expect(status()?.getAttribute('role')).toBe('status');
    engine.reindexing({ done: 7, total: 10 });
    await until(() => status()?.textContent === 'Reindexing… 7 of 10');
    // Search answers meanwhile.
    type('garden');
    await until(() => titles().length === 4);
    engine.reindexing(null);
    await until(() => status()?.hidden === true);
  });
});

describe('highlights', () => {
  /** The UTF-16 ranges of every `needle` in `text`, as the app sends them. */
  const rangesOf = (text: string, needle: string): [number, number][] => {
    const out: [number, number][] = [];
    for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) out.push([i, i + needle.length]);
    return out;
  };

  it('mark exactly the matched characters in CJK, emoji, Arabic and accented text', () => {
    for (const [text, needle] of [
      ['…東京で寿司を食べた。寿司!', '寿司'],
      ['party 🎉🎉 time 🎉', '🎉'],
      ['𠀋𠀋 rare CJK 𠀋', '𠀋'],
      ['مرحبا بالعالم', 'بالعالم'],
      ['Straße café naïve', 'café'],
    ] as const) {
      const marks = [...renderSnippet(text, rangesOf(text, needle)).querySelectorAll('mark')].map((m) => m.textContent);
      expect(marks.length, text).toBeGreaterThan(0);
      for (const mark of marks) expect(mark, text).toBe(needle.repeat(mark!.length / needle.length));
      expect(renderSnippet(text, rangesOf(text, needle)).textContent).toBe(text);
    }
  });

  it('never split an emoji when a range ends inside one', () => {
    // 🎉 is two UTF-16 units (1 and 2); ranges that cut it widen to the whole emoji.
    expect(segments('a🎉b', [[0, 2]])).toEqual([
      { text: 'a🎉', hit: true },
      { text: 'b', hit: false },
    ]);
    expect(segments('a🎉b', [[2, 4]])).toEqual([
      { text: 'a', hit: false },
      { text: '🎉b', hit: true },
    ]);
  });
});
