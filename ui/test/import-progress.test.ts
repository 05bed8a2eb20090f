// @vitest-environment happy-dom
/**
 * Importing Markdown files and the progress line in the status bar, against the
 * in-memory engine: files imported through `App.importFiles`, the hidden file picker
 * (Ctrl+O and the native menu's "import"), files dropped on the sidebar, the 32 MiB
 * limit and engine refusals reported in one banner, "Importing 1 of 2: name" while
 * an import runs, and "Catching up NN%" summed over documents catching up with peers.
 */
import { EditorView } from '@codemirror/view';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { startApp, type App } from '../src/app';
import { MemoryEngine } from '../src/demo/memory-engine';
import type { DocumentSummary, EngineApi } from '../src/ipc';
import { initialState } from '../src/state';
import { progressLine } from '../src/ui/status-bar';
import { tick, unmount, until } from './helpers';

const MiB = 1024 * 1024;

let root: HTMLElement;
/** Starts the app on a fresh window of `engine`; `api` lets a test spy on or stub calls. */
function mount(engine: MemoryEngine, api: EngineApi = engine.connect()): App {
  document.body.replaceChildren();
  root = document.createElement('div');
  document.body.append(root);
  return startApp(root, api);
}
const $ = <T extends Element = HTMLElement>(sel: string) => root.querySelector<T>(sel);
const $$ = (sel: string) => [...root.querySelectorAll<HTMLElement>(sel)];
const titles = () => $$('.doc-list .doc-title').map((e) => e.textContent);
const banner = () => $('.banner')!;
const statusBar = () => $('.status-bar')!;
/** The progress line in the status bar, if shown. */
const progress = () => $('.status-bar .progress');
const progressBar = () => $<HTMLProgressElement>('.status-bar .progress progress');
const press = (key: string, mods: KeyboardEventInit = { ctrlKey: true }) => {
  const e = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...mods });
  window.dispatchEvent(e);
  return e;
};
const md = (name: string, text: string) => new File([text], name, { type: 'text/markdown' });
/** A small file that says it is `size` bytes long. */
function sized(name: string, size: number): File {
  const file = md(name, 'small really');
  Object.defineProperty(file, 'size', { value: size });
  return file;
}
function editor(): EditorView {
  const el = $('.cm-editor');
  const view = el && EditorView.findFromDOM(el as HTMLElement);
  if (!view) throw new Error('no editor');
  return view;
}
/** Which document titles the engine holds, sorted. */
async function engineTitles(engine: MemoryEngine): Promise<string[]> {
  return (await engine.connect().listDocuments()).map((d) => d.title).sort();
}
/** A promise and the function that resolves it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}
/** Makes `api.importDocument` wait for the returned gates, one per call, in order. */
function holdImports(api: EngineApi, count: number) {
  const gates = Array.from({ length: count }, gate);
  const real = api.importDocument;
  let calls = 0;
  const spy = vi.spyOn(api, 'importDocument').mockImplementation(async (fileName, text) => {
    const g = gates[calls++];
    if (g) await g.wait;
    return real(fileName, text);
  });
  return { gates, spy };
}
/** Starts the app on an engine with no documents and waits for the list to load. */
async function started(engine = new MemoryEngine(), api: EngineApi = engine.connect()) {
  const app = mount(engine, api);
  await until(() => app.store.getState().loaded);
  return { engine, api, app };
}
/** A drop event carrying `files`, as a browser fires it on a drop target. */
function dropOf(files: File[]): Event {
  const e = new Event('drop', { bubbles: true, cancelable: true });
  Object.defineProperty(e, 'dataTransfer', { value: { files, types: ['Files'] } });
  return e;
}

afterEach(async () => {
  vi.restoreAllMocks();
  await unmount();
});

describe('importing Markdown files', () => {
  it('adds each file as a document titled by its heading, else its name, and opens the last', async () => {
    const { engine, app } = await started();
    await app.importFiles([
      md('meeting.md', '# Weekly meeting\n\n- agenda\n'),
      md('todo.list.md', 'buy milk\nno heading here\n'),
    ]);

    await until(() => titles().length === 2);
    expect([...titles()].sort()).toEqual(['Weekly meeting', 'todo.list']);
    expect(await engineTitles(engine)).toEqual(['Weekly meeting', 'todo.list']);
    // The last file imported is open, with its text.
    await until(() => $('.cm-content') !== null && editor().state.doc.toString() === 'buy milk\nno heading here\n');
    expect($<HTMLInputElement>('.title-input')!.value).toBe('todo.list');
    const open = app.store.getState().selectedId;
    expect(app.store.getState().documents.find((d) => d.id === open)?.title).toBe('todo.list');
    // Nothing is left in the status bar, and nothing went wrong.
    expect(progress()).toBeNull();
    expect(statusBar().textContent).not.toContain('Importing');
    expect(app.store.getState().importing).toBeNull();
    expect(banner().hidden).toBe(true);
  });

  it('keeps the text of the first file too', async () => {
    const { engine, app } = await started();
    await app.importFiles([md('a.md', '# First\nalpha\n'), md('b.md', '# Second\nbeta\n')]);
    const first = (await engine.connect().listDocuments()).find((d) => d.title === 'First')!;
    expect(engine.text(first.id)).toBe('# First\nalpha\n');
    $$('.doc-list .doc-open').find((b) => b.textContent?.includes('First'))!.click();
    await until(() => $('.cm-content') !== null && editor().state.doc.toString() === '# First\nalpha\n');
  });

  it('shows "Importing 1 of 2: name" with a progress bar while the first file is being imported', async () => {
    const engine = new MemoryEngine();
    const api = engine.connect();
    const { gates, spy } = holdImports(api, 2);
    const { app } = await started(engine, api);

    const done = app.importFiles([md('first.md', '# One\n'), md('second.md', '# Two\n')]);
    await until(() => spy.mock.calls.length === 1);
    expect(progress()?.textContent).toBe('Importing 1 of 2: first.md');
    expect(progress()?.getAttribute('role')).toBe('status');
    expect(progressBar()).not.toBeNull();
    expect(progressBar()!.max).toBe(2);
    expect(progressBar()!.value).toBe(0);
    expect(titles()).toEqual([]);

    gates[0]!.open();
    await until(() => spy.mock.calls.length === 2);
    expect(progress()?.textContent).toBe('Importing 2 of 2: second.md');
    expect(progressBar()!.value).toBe(1);
    // The first one is already in the list.
    expect(titles()).toEqual(['One']);

    gates[1]!.open();
    await done;
    await until(() => titles().length === 2);
    expect(progress()).toBeNull();
    expect(progressBar()).toBeNull();
  });

  it('shows "Importing name" for a single file', async () => {
    const engine = new MemoryEngine();
    const api = engine.connect();
    const { gates, spy } = holdImports(api, 1);
    const { app } = await started(engine, api);

    const done = app.importFiles([md('lonely.md', 'just me')]);
    await until(() => spy.mock.calls.length === 1);
    expect(progress()?.textContent).toBe('Importing lonely.md');
    expect(progressBar()).not.toBeNull();
    gates[0]!.open();
    await done;
    expect(progress()).toBeNull();
    await until(() => titles().length === 1);
    expect(titles()).toEqual(['lonely']);
  });

  it('refuses a file over 32 MiB without sending it to the engine, and imports the rest', async () => {
    const engine = new MemoryEngine();
    const api = engine.connect();
    const spy = vi.spyOn(api, 'importDocument');
    const { app } = await started(engine, api);
    const huge = new File([new Uint8Array(33 * MiB)], 'huge.md', { type: 'text/markdown' });
    expect(huge.size).toBe(33 * MiB);

    await app.importFiles([huge, md('small.md', '# Small\nfits\n')]);

    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy).toHaveBeenCalledWith('small.md', '# Small\nfits\n');
    await until(() => titles().length === 1);
    expect(titles()).toEqual(['Small']);
    expect(await engineTitles(engine)).toEqual(['Small']);
    expect(banner().hidden).toBe(false);
    expect(banner().textContent).toContain('huge.md');
    expect(banner().textContent).toContain('32 MiB');
    expect(banner().textContent).not.toContain('small.md');
    // The file that did import is the one open.
    await until(() => $('.cm-content') !== null && editor().state.doc.toString() === '# Small\nfits\n');
    expect(progress()).toBeNull();
  });

  it('takes a file of exactly 32 MiB and refuses one byte more', async () => {
    const engine = new MemoryEngine();
    const api = engine.connect();
    const spy = vi.spyOn(api, 'importDocument');
    const { app } = await started(engine, api);

    await app.importFiles([sized('edge.md', 32 * MiB), sized('over.md', 32 * MiB + 1)]);

    expect(spy.mock.calls.map(([name]) => name)).toEqual(['edge.md']);
    await until(() => titles().length === 1);
    expect(titles()).toEqual(['edge']);
    expect(banner().textContent).toContain('over.md');
    expect(banner().textContent).not.toContain('edge.md');
  });

  it('lists every file that failed in one banner, still importing the others', async () => {
    const engine = new MemoryEngine();
    const api = engine.connect();
    const real = api.importDocument;
    vi.spyOn(api, 'importDocument').mockImplementation(async (name, text) => {
      if (name === 'broken.md') throw new Error('not valid UTF-8');
      return real(name, text);
    });
    const { app } = await started(engine, api);

    await app.importFiles([
      md('good-1.md', '# Good one\n'),
      md('broken.md', 'x'),
      sized('giant.md', 40 * MiB),
      md('good-2.md', '# Good two\n'),
    ]);

    await until(() => titles().length === 2);
    expect([...titles()].sort()).toEqual(['Good one', 'Good two']);
    expect(await engineTitles(engine)).toEqual(['Good one', 'Good two']);
    expect($$('.banner')).toHaveLength(1);
    const message = banner().textContent!;
    expect(message).toContain('Could not import');
    expect(message).toContain('broken.md');
    expect(message).toContain('not valid UTF-8');
    expect(message).toContain('giant.md');
    expect(message).not.toContain('good-1.md');
    expect(message).not.toContain('good-2.md');
    // The last one that imported is open, even though a later one failed.
    const open = app.store.getState().documents.find((d) => d.id === app.store.getState().selectedId);
    expect(open?.title).toBe('Good two');
    expect(progress()).toBeNull();
  });

  it('opens the last file that imported when the last file fails', async () => {
    const engine = new MemoryEngine();
    const api = engine.connect();
    const { app } = await started(engine, api);

    await app.importFiles([md('keep.md', 'kept text'), sized('last.md', 33 * MiB)]);

    await until(() => $('.cm-content') !== null && editor().state.doc.toString() === 'kept text');
    expect($<HTMLInputElement>('.title-input')!.value).toBe('keep');
    expect(banner().textContent).toContain('last.md');
  });

  it('changes nothing when every file fails, except saying so', async () => {
    const engine = new MemoryEngine();
    const mine = engine.create('Mine', 'my text');
    const api = engine.connect();
    const spy = vi.spyOn(api, 'importDocument');
    const app = mount(engine, api);
    await until(() => titles().length === 1);
    app.store.dispatch({ type: 'select', id: mine });
    await until(() => $('.cm-content') !== null);

    await app.importFiles([sized('a.md', 50 * MiB), sized('b.md', 50 * MiB)]);

    expect(spy).not.toHaveBeenCalled();
    expect(titles()).toEqual(['Mine']);
    expect(app.store.getState().selectedId).toBe(mine);
    expect(editor().state.doc.toString()).toBe('my text');
    expect(banner().textContent).toContain('a.md');
    expect(banner().textContent).toContain('b.md');
    expect(progress()).toBeNull();
  });

  it('does nothing for no files', async () => {
    const { app } = await started();
    const before = app.store.getState();
    await app.importFiles([]);
    expect(app.store.getState()).toBe(before);
    expect(progress()).toBeNull();
  });
});

describe('ways to import', () => {
  it('Ctrl+O asks the engine for the system file dialog once, and keeps the browser from opening a file', async () => {
    const { api } = await started();
    const pick = vi.spyOn(api, 'pickAndImport');
    const e = press('o');
    expect(pick).toHaveBeenCalledTimes(1);
    expect(e.defaultPrevented).toBe(true);
  });

  it('the menu\'s "import" asks for the file dialog too, once per keypress that reaches both', async () => {
    const { engine, api } = await started();
    const pick = vi.spyOn(api, 'pickAndImport');
    engine.chooseMenu('import');
    expect(pick).toHaveBeenCalledTimes(1);
    press('o');
    engine.chooseMenu('import');
    expect(pick).toHaveBeenCalledTimes(2);
  });

  it('shows the files picked in the dialog as they are imported, then opens the last', async () => {
    const { engine, api, app } = await started();
    const seen: string[] = [];
    api.onImportProgress(() => seen.push(progress()?.textContent ?? ''));
    engine.choose([
      { name: 'picked.md', text: '# Picked\nfrom the dialog\n' },
      { name: 'plain.md', text: 'no heading' },
    ]);
    press('o');
    await until(() => titles().length === 2);
    expect([...titles()].sort()).toEqual(['Picked', 'plain']);
    expect(await engineTitles(engine)).toEqual(['Picked', 'plain']);
    await until(() => $('.cm-content') !== null && editor().state.doc.toString() === 'no heading');
    expect(seen.length).toBe(2);
    expect(app.store.getState().importing).toBeNull();
    expect(progress()).toBeNull();
  });

  it('lists the files the engine could not import in the banner', async () => {
    const { engine } = await started();
    // As the Rust side reports a file it refused (not UTF-8).
    engine.finishImport(null, ['latin1.md (not UTF-8 at byte 7)']);
    await until(() => !banner().hidden);
    expect(banner().textContent).toContain('latin1.md (not UTF-8 at byte 7)');
    expect(titles()).toEqual([]);
  });

  it('does nothing when the dialog is closed without choosing', async () => {
    const { app } = await started();
    const before = app.store.getState();
    press('o');
    await tick();
    expect(app.store.getState()).toBe(before);
    expect(titles()).toEqual([]);
  });

  it('refuses a dropped file that is not UTF-8 instead of mangling it', async () => {
    const { engine } = await started();
    const latin1 = new File([new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a])], 'cafe.md', { type: 'text/markdown' });
    $('.sidebar')!.dispatchEvent(dropOf([latin1, md('fine.md', '# Fine\n')]));
    await until(() => titles().length === 1);
    expect(titles()).toEqual(['Fine']);
    expect(await engineTitles(engine)).toEqual(['Fine']);
    await until(() => !banner().hidden);
    expect(banner().textContent).toContain('cafe.md');
    expect(banner().textContent).toContain('UTF-8');
  });

  it('imports files dropped on the sidebar', async () => {
    const { engine } = await started();
    const sidebar = $('.sidebar')!;
    const drop = dropOf([md('dropped.md', '# Dropped\n'), md('also.md', 'second')]);
    sidebar.dispatchEvent(drop);
    // The browser must not open the dropped file in the window.
    expect(drop.defaultPrevented).toBe(true);

    await until(() => titles().length === 2);
    expect([...titles()].sort()).toEqual(['Dropped', 'also']);
    expect(await engineTitles(engine)).toEqual(['Dropped', 'also']);
    await until(() => $('.cm-content') !== null && editor().state.doc.toString() === 'second');
  });

  it('accepts files dragged over the sidebar, but not other drags', async () => {
    await started();
    const sidebar = $('.sidebar')!;
    const over = (types: string[]) => {
      const e = new Event('dragover', { bubbles: true, cancelable: true });
      Object.defineProperty(e, 'dataTransfer', { value: { files: [], types } });
      sidebar.dispatchEvent(e);
      return e;
    };
    expect(over(['Files']).defaultPrevented).toBe(true);
    expect(over(['text/plain']).defaultPrevented).toBe(false);
  });

  it('ignores a drop with no files', async () => {
    const { app } = await started();
    const sidebar = $('.sidebar')!;
    const before = app.store.getState();
    const drop = dropOf([]);
    sidebar.dispatchEvent(drop);
    await tick();
    expect(drop.defaultPrevented).toBe(false);
    expect(app.store.getState()).toBe(before);
  });
});

describe('imports and catch-ups that overlap or stall', () => {
  it('queues files added while an import runs, and imports them after', async () => {
    const engine = new MemoryEngine();
    const api = engine.connect();
    const { gates, spy } = holdImports(api, 3);
    const { app } = await started(engine, api);

    const first = app.importFiles([md('a.md', '# A\n'), md('b.md', '# B\n')]);
    await until(() => spy.mock.calls.length === 1);
    const second = app.importFiles([md('c.md', '# C\n')]);
    expect(progress()?.textContent).toBe('Importing 1 of 2: a.md');
    gates[0]!.open();
    await until(() => spy.mock.calls.length === 2);
    expect(progress()?.textContent).toBe('Importing 2 of 3: b.md');
    gates[1]!.open();
    gates[2]!.open();
    await Promise.all([first, second]);
    await until(() => titles().length === 3);
    expect([...titles()].sort()).toEqual(['A', 'B', 'C']);
    expect(progress()).toBeNull();
  });

  it('keeps catch-ups with two peers apart: one finishing leaves the other shown', async () => {
    const { engine } = await started();
    engine.catchUp('doc-1', 1, 4, 'peer-a');
    engine.catchUp('doc-1', 1, 4, 'peer-b');
    expect(progress()?.textContent).toBe('Catching up 25%');
    engine.catchUp('doc-1', 4, 4, 'peer-a');
    expect(progress()?.textContent).toBe('Catching up 25%');
    engine.catchUp('doc-1', 4, 4, 'peer-b');
    expect(progress()).toBeNull();
  });

  it('stops showing a catch-up that went quiet (its peer went away mid-answer)', async () => {
    const { engine } = await started();
    vi.useFakeTimers();
    try {
      engine.catchUp('doc-1', 2, 5, 'peer-a');
      expect(progress()?.textContent).toBe('Catching up 40%');
      vi.advanceTimersByTime(15_000);
      engine.catchUp('doc-1', 3, 5, 'peer-a');
      vi.advanceTimersByTime(15_000);
      // Still news 15 s ago: still shown.
      expect(progress()?.textContent).toBe('Catching up 60%');
      vi.advanceTimersByTime(6_000);
      expect(progress()).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('catch-up progress', () => {
  it('shows "Catching up 40%" with a progress bar, and nothing once caught up', async () => {
    const { engine } = await started();
    expect(progress()).toBeNull();

    engine.catchUp('doc-1', 2, 5);
    expect(progress()?.textContent).toBe('Catching up 40%');
    expect(progress()?.getAttribute('role')).toBe('status');
    expect(progressBar()!.value).toBe(2);
    expect(progressBar()!.max).toBe(5);

    engine.catchUp('doc-1', 4, 5);
    expect(progress()?.textContent).toBe('Catching up 80%');

    engine.catchUp('doc-1', 5, 5);
    expect(progress()).toBeNull();
    expect(progressBar()).toBeNull();
    expect(statusBar().textContent).not.toContain('Catching up');
  });

  it('sums the chunks of documents catching up at once', async () => {
    const { engine } = await started();
    engine.catchUp('doc-a', 1, 4);
    expect(progress()?.textContent).toBe('Catching up 25%');
    engine.catchUp('doc-b', 5, 6);
    // 6 of 10 chunks, not the mean of 25% and 83%.
    expect(progress()?.textContent).toBe('Catching up 60%');
    expect(progressBar()!.value).toBe(6);
    expect(progressBar()!.max).toBe(10);
    expect($$('.status-bar .progress')).toHaveLength(1);

    engine.catchUp('doc-a', 4, 4);
    expect(progress()?.textContent).toBe('Catching up 83%');
    engine.catchUp('doc-b', 6, 6);
    expect(progress()).toBeNull();
  });

  it('shows nothing for a catch-up with nothing to receive', async () => {
    const { engine } = await started();
    engine.catchUp('doc-1', 0, 0);
    expect(progress()).toBeNull();
    expect(statusBar().textContent).not.toContain('NaN');
  });

  it('shows an import over a catch-up, then the catch-up again', async () => {
    const engine = new MemoryEngine();
    const api = engine.connect();
    const { gates, spy } = holdImports(api, 1);
    const { app } = await started(engine, api);
    engine.catchUp('doc-1', 1, 2);
    expect(progress()?.textContent).toBe('Catching up 50%');

    const done = app.importFiles([md('now.md', 'x')]);
    await until(() => spy.mock.calls.length === 1);
    expect(progress()?.textContent).toBe('Importing now.md');
    expect($$('.status-bar .progress')).toHaveLength(1);
    gates[0]!.open();
    await done;
    expect(progress()?.textContent).toBe('Catching up 50%');
  });

  it('stops listening when the window ends', async () => {
    const engine = new MemoryEngine();
    const api = engine.connect();
    const seen: Array<[string, number, number]> = [];
    const stop = api.onCatchUp((id, received, total) => seen.push([id, received, total]));
    engine.catchUp('d', 1, 3);
    stop();
    engine.catchUp('d', 2, 3);
    expect(seen).toEqual([['d', 1, 3]]);
  });
});

describe('progressLine', () => {
  const doc: DocumentSummary = { id: 'd', title: 'D', updatedAt: 1, chars: 0, role: null };
  it('is empty when idle', () => {
    expect(progressLine({ ...initialState(), documents: [doc] })).toBeNull();
  });

  it('counts files from one, with the bar at the files done', () => {
    const state = { ...initialState(), importing: { done: 2, total: 3, name: 'c.md' } };
    expect(progressLine(state)).toEqual({ label: 'Importing 3 of 3: c.md', value: 2, max: 3 });
  });

  it('rounds catch-up percentages down, so it never says 100% before it is done', () => {
    const state = { ...initialState(), catchUps: { d: { received: 199, total: 200 } } };
    expect(progressLine(state)?.label).toBe('Catching up 99%');
  });
});
