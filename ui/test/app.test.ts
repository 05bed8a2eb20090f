// @vitest-environment happy-dom
/**
 * The whole front end in a DOM (happy-dom) against the in-memory engine: first-run
 * empty state, the document list, opening a document into CodeMirror, edits flowing
 * both ways, search, shortcuts, trash, and the page shown outside Tauri.
 */
import { EditorView } from '@codemirror/view';
import { afterEach, describe, expect, it } from 'vitest';

import { startApp, type App } from '../src/app';
import { MemoryEngine } from '../src/demo/memory-engine';
import { renderNoEngine } from '../src/ui/no-engine';
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
function editor(): EditorView {
  const el = $('.cm-editor');
  const view = el && EditorView.findFromDOM(el as HTMLElement);
  if (!view) throw new Error('no editor');
  return view;
}

afterEach(unmount);

describe('app', () => {
  it('welcomes a first run with an empty state', async () => {
    mount(new MemoryEngine());
    await until(() => $('.empty-state') !== null);
    expect($('.empty-state h1')?.textContent).toBe('Welcome to Quire');
    expect($('.list-empty')?.textContent).toBe('No documents yet.');
    expect($('.status-bar')?.textContent).toContain('Offline');
  });

  it('lists a document arriving from elsewhere by its id, not by listing every document', async () => {
    const engine = new MemoryEngine();
    for (let n = 0; n < 50; n++) engine.create(`Note ${n}`, 'text');
    const api = engine.connect();
    let listedAll = 0;
    const listDocuments = api.listDocuments.bind(api);
    api.listDocuments = async (filter) => {
      if (!filter) listedAll++;
      return listDocuments(filter);
    };
    document.body.replaceChildren();
    root = document.createElement('div');
    document.body.append(root);
    const app = startApp(root, api);
    await until(() => app.store.getState().documents.length === 50);
    const firstList = listedAll;
    // Bob's document reaches this device: its first update is all the window hears.
    const fromBob = engine.create('From Bob', 'hello');
    engine.peerEdit(fromBob, (t) => t.insert(0, '> '));
    await until(() => app.store.getState().documents.some((d) => d.id === fromBob), 5000);
    expect(app.store.getState().documents).toHaveLength(51);
    expect(app.store.getState().documents.find((d) => d.id === fromBob)?.title).toBe('From Bob');
    expect(listedAll).toBe(firstList);
  });

  it('opens a document into the editor and syncs edits both ways', async () => {
    const engine = new MemoryEngine();
    const id = engine.create('Notes', '# Notes\n');
    const app = mount(engine);
    await until(() => titles().length === 1);
    $<HTMLButtonElement>('.doc-open')!.click();
    await until(() => $('.cm-content') !== null);
    expect(editor().state.doc.toString()).toBe('# Notes\n');
    expect($<HTMLInputElement>('.title-input')!.value).toBe('Notes');

    editor().dispatch({ changes: { from: 8, insert: 'typed here' } });
    await until(() => engine.text(id) === '# Notes\ntyped here');
    await until(() => app.store.getState().saves[id]?.unsent === 0);
    expect($('.status-bar')?.textContent).toContain('Saved');

    engine.peerEdit(id, (t) => t.insert(0, '> from a peer\n'));
    await until(() => editor().state.doc.toString() === '> from a peer\n# Notes\ntyped here');
    expect(engine.received).toHaveLength(1);
  });

  it('creates a document with Ctrl+N and renames it from the title', async () => {
    const engine = new MemoryEngine();
    const app = mount(engine);
    await until(() => app.store.getState().loaded);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'n', ctrlKey: true, bubbles: true }));
    await until(() => titles().length === 1);
    const title = $<HTMLInputElement>('.title-input')!;
    title.value = 'Plans';
    title.dispatchEvent(new Event('change'));
    await until(() => titles()[0] === 'Plans');
    const [listed] = await engine.connect().listDocuments();
    expect(listed?.title).toBe('Plans');
  });

  it('searches with highlighted snippets, rendering text as text', async () => {
    const engine = new MemoryEngine();
    engine.create('<img src=x onerror=alert(1)>', 'the quick brown fox');
    engine.create('Other', 'nothing here');
    const app = mount(engine);
    await until(() => titles().length === 2);
    const search = $<HTMLInputElement>('.search')!;
    search.value = 'quick';
    search.dispatchEvent(new Event('input'));
    await until(() => app.store.getState().search.results !== null);
    expect(titles()).toEqual(['<img src=x onerror=alert(1)>']);
    expect($$('.doc-list img')).toHaveLength(0);
    expect($$('.snippet mark').map((m) => m.textContent)).toEqual(['quick']);
  });

  it('moves a document to the trash and restores it', async () => {
    const engine = new MemoryEngine();
    engine.create('Keep');
    engine.create('Bin');
    const app = mount(engine);
    await until(() => titles().length === 2);
    const bin = $$('.doc-item').find((li) => li.textContent?.includes('Bin'))!;
    bin.querySelector<HTMLButtonElement>('.icon')!.click();
    await until(() => titles().length === 1);
    app.store.dispatch({ type: 'view/set', view: 'trash' });
    await until(() => app.store.getState().trash.length === 1);
    $$('.doc-item.trashed button').find((b) => b.textContent === 'Restore')!.click();
    await until(() => app.store.getState().documents.length === 2);
  });

  it('shows read-only documents as read-only', async () => {
    const engine = new MemoryEngine();
    const id = engine.create('Theirs', 'look only', true);
    const app = mount(engine);
    await until(() => titles().length === 1);
    app.store.dispatch({ type: 'select', id });
    await until(() => $('.cm-content') !== null);
    expect(editor().state.readOnly).toBe(true);
    // Still focusable, so it can be selected and copied from; edits are refused instead
    // (see app-links-menu.test.ts).
    expect($('.cm-content')?.getAttribute('contenteditable')).toBe('true');
    expect($<HTMLInputElement>('.title-input')!.readOnly).toBe(true);
  });
});

describe('outside Tauri', () => {
  it('explains that the desktop app is needed', () => {
    const el = document.createElement('div');
    renderNoEngine(el);
    expect(el.querySelector('h1')?.textContent).toBe('Quire needs its desktop app');
    expect(el.textContent).toContain('npx tauri dev');
  });
});
