// @vitest-environment happy-dom
/**
 * The app against the in-memory engine, for what reaches it from outside the page:
 * invite links opened from the system (`open-links`), native menu commands (`menu`,
 * and not running a command twice when one keypress reaches both the page and the
 * menu), the join and settings shortcuts, refused edits in a read-only document, and
 * the data folder and the team relays in the settings panel.
 */
import { EditorView } from '@codemirror/view';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { READ_ONLY_MESSAGE, startApp, type App } from '../src/app';
import { MemoryEngine } from '../src/demo/memory-engine';
import type { EngineApi } from '../src/ipc';
import { tick, unmount, until } from './helpers';

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
const linkInput = () => $<HTMLInputElement>('input[aria-label="Invite link"]')!;
const joinForm = () => $<HTMLFormElement>('.join-form')!;
const banner = () => $('.banner')!;
const panel = () => $('.panel')!;
const press = (key: string, mods: KeyboardEventInit = { ctrlKey: true }) =>
  window.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...mods }));
function editor(): EditorView {
  const el = $('.cm-editor');
  const view = el && EditorView.findFromDOM(el as HTMLElement);
  if (!view) throw new Error('no editor');
  return view;
}
/** An invite link the memory engine accepts, for document `id`. */
const inviteFor = (engine: MemoryEngine, id: string) => engine.connect().share(id, false);

afterEach(async () => {
  vi.restoreAllMocks();
  await unmount();
});

describe('invite links opened from outside', () => {
  it('offers to join a link opened before the app started, without joining', async () => {
    const engine = new MemoryEngine();
    const id = engine.create('Shared', 'hello from the owner');
    engine.create('Mine');
    const link = await inviteFor(engine, id);
    engine.openLink(link);
    const api = engine.connect();
    const join = vi.spyOn(api, 'join');
    const app = mount(engine, api);

    await until(() => app.store.getState().loaded && linkInput().value === link);
    expect(joinForm().hidden).toBe(false);
    expect(document.activeElement).toBe(linkInput());
    await tick();
    expect(join).not.toHaveBeenCalled();
    expect(app.store.getState().selectedId).toBeNull();
    expect([...titles()].sort()).toEqual(['Mine', 'Shared']);
    expect($('.cm-content')).toBeNull();
    // Each link is handed over once.
    expect(await engine.connect().takeLinks()).toEqual([]);
  });

  it('offers the newest of several links', async () => {
    const engine = new MemoryEngine();
    const a = engine.create('A');
    const b = engine.create('B');
    engine.openLink(await inviteFor(engine, a));
    engine.openLink(await inviteFor(engine, b));
    const app = mount(engine);
    await until(() => app.store.getState().loaded && linkInput().value !== '');
    expect(linkInput().value).toBe(await inviteFor(engine, b));
  });

  it('offers to join a link opened while the app runs, leaving the open document alone', async () => {
    const engine = new MemoryEngine();
    const mine = engine.create('Mine', 'my text');
    const theirs = engine.create('Theirs', 'their text');
    const api = engine.connect();
    const join = vi.spyOn(api, 'join');
    const app = mount(engine, api);
    await until(() => titles().length === 2);
    expect(joinForm().hidden).toBe(true);
    app.store.dispatch({ type: 'select', id: mine });
    await until(() => $('.cm-content') !== null);

    const link = await inviteFor(engine, theirs);
    engine.openLink(link);
    await until(() => linkInput().value === link);
    expect(joinForm().hidden).toBe(false);
    expect(document.activeElement).toBe(linkInput());
    await tick();
    expect(join).not.toHaveBeenCalled();
    expect(app.store.getState().selectedId).toBe(mine);
    expect(editor().state.doc.toString()).toBe('my text');
    expect(titles()).toHaveLength(2);
  });

  it('joins the offered link when the user presses Join', async () => {
    const engine = new MemoryEngine();
    const id = engine.create('Shared', 'hello from the owner');
    const link = await inviteFor(engine, id);
    engine.openLink(link);
    const api = engine.connect();
    const join = vi.spyOn(api, 'join');
    const app = mount(engine, api);
    await until(() => linkInput().value === link);

    joinForm().querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(() => app.store.getState().selectedId === id && $('.cm-content') !== null);
    expect(join).toHaveBeenCalledExactlyOnceWith(link);
    expect(editor().state.doc.toString()).toBe('hello from the owner');
    await until(() => joinForm().hidden);
    expect(linkInput().value).toBe('');
  });

  it('keeps the form open and says why when the link is not accepted', async () => {
    const engine = new MemoryEngine();
    engine.openLink('quire://join/nothing-here?role=write');
    const app = mount(engine);
    await until(() => linkInput().value !== '');

    joinForm().querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(() => !banner().hidden);
    expect(banner().textContent).toContain('Could not join');
    expect(joinForm().hidden).toBe(false);
    expect(linkInput().value).toBe('quire://join/nothing-here?role=write');
    expect(app.store.getState().selectedId).toBeNull();
  });
});

describe('join and settings commands', () => {
  it('Ctrl+J opens the join form empty and focused', async () => {
    const engine = new MemoryEngine();
    engine.openLink('quire://join/old?role=read');
    const app = mount(engine);
    await until(() => app.store.getState().loaded && linkInput().value !== '');
    press('j');
    expect(joinForm().hidden).toBe(false);
    expect(linkInput().value).toBe('');
    expect(document.activeElement).toBe(linkInput());
  });

  it('menu "join" opens the join form empty and focused', async () => {
    const engine = new MemoryEngine();
    const app = mount(engine);
    await until(() => app.store.getState().loaded);
    expect(joinForm().hidden).toBe(true);
    engine.chooseMenu('join');
    expect(joinForm().hidden).toBe(false);
    expect(linkInput().value).toBe('');
    expect(document.activeElement).toBe(linkInput());
  });

  it('Ctrl+, toggles the settings panel', async () => {
    const engine = new MemoryEngine();
    const app = mount(engine);
    await until(() => app.store.getState().loaded);
    expect(panel().hidden).toBe(true);
    press(',');
    expect(panel().hidden).toBe(false);
    expect(panel().querySelector('.settings-panel h2')?.textContent).toBe('Settings');
    press(',');
    expect(panel().hidden).toBe(true);
  });
});

describe('native menu', () => {
  it('"new" creates a document', async () => {
    const engine = new MemoryEngine();
    const app = mount(engine);
    await until(() => app.store.getState().loaded);
    engine.chooseMenu('new');
    await until(() => titles().length === 1);
    expect(await engine.connect().listDocuments()).toHaveLength(1);
  });

  it('runs one keypress that reaches both the page and the menu once', async () => {
    const engine = new MemoryEngine();
    const app = mount(engine);
    await until(() => app.store.getState().loaded);
    press('n');
    engine.chooseMenu('new');
    await until(() => titles().length >= 1);
    await tick(5);
    expect(titles()).toHaveLength(1);
    expect(await engine.connect().listDocuments()).toHaveLength(1);
  });

  it('still runs the menu command when the keypress was a different command', async () => {
    const engine = new MemoryEngine();
    const app = mount(engine);
    await until(() => app.store.getState().loaded);
    press('n');
    engine.chooseMenu('search');
    expect(document.activeElement).toBe($('.search'));
    await until(() => titles().length === 1);
  });

  it('runs the menu command again once the same-keypress window has passed', async () => {
    const engine = new MemoryEngine();
    const app = mount(engine);
    await until(() => app.store.getState().loaded);
    const start = Date.now();
    const now = vi.spyOn(Date, 'now').mockReturnValue(start);
    press('n');
    await until(() => titles().length === 1);
    now.mockReturnValue(start + 1000);
    engine.chooseMenu('new');
    await until(() => titles().length === 2);
    expect(await engine.connect().listDocuments()).toHaveLength(2);
  });

  it('"settings" opens the settings panel, and again closes it', async () => {
    const engine = new MemoryEngine();
    const app = mount(engine);
    await until(() => app.store.getState().loaded);
    engine.chooseMenu('settings');
    expect(panel().hidden).toBe(false);
    expect(panel().querySelector('.settings-panel')).not.toBeNull();
    engine.chooseMenu('settings');
    expect(panel().hidden).toBe(true);
  });

  it('ignores a command it does not know', async () => {
    const engine = new MemoryEngine();
    engine.create('Only');
    const app = mount(engine);
    await until(() => titles().length === 1);
    const before = app.store.getState();
    for (const command of ['delete-everything', 'New', 'toString', '__proto__', '']) engine.chooseMenu(command);
    await tick(5);
    expect(app.store.getState()).toBe(before);
    expect(await engine.connect().listDocuments()).toHaveLength(1);
    expect(panel().hidden).toBe(true);
    expect(joinForm().hidden).toBe(true);
    expect(banner().hidden).toBe(true);
  });
});

describe('read-only documents', () => {
  async function openDoc(readOnly: boolean) {
    const engine = new MemoryEngine();
    const id = engine.create('Theirs', 'look only', readOnly);
    const app = mount(engine);
    await until(() => titles().length === 1);
    app.store.dispatch({ type: 'select', id });
    await until(() => $('.cm-content') !== null);
    return { engine, id, app, content: $('.cm-content')! };
  }
  const typing = () => new InputEvent('beforeinput', { inputType: 'insertText', data: 'x', bubbles: true, cancelable: true });
  function pasting(text: string): Event {
    const e = new Event('paste', { bubbles: true, cancelable: true });
    Object.defineProperty(e, 'clipboardData', { value: { getData: (type: string) => (type === 'text/plain' ? text : '') } });
    return e;
  }

  it('stays focusable', async () => {
    const { content } = await openDoc(true);
    expect(content.getAttribute('contenteditable')).toBe('true');
    editor().focus();
    expect(editor().hasFocus).toBe(true);
  });

  it('refuses typing and says why', async () => {
    const { engine, id, content } = await openDoc(true);
    expect(banner().hidden).toBe(true);
    const e = typing();
    content.dispatchEvent(e);
    expect(e.defaultPrevented).toBe(true);
    expect(banner().hidden).toBe(false);
    expect(banner().textContent).toContain(READ_ONLY_MESSAGE);
    await tick();
    expect(editor().state.doc.toString()).toBe('look only');
    expect(engine.text(id)).toBe('look only');
    expect(engine.received).toHaveLength(0);
  });

  it('refuses a paste and says why, again after the message was dismissed', async () => {
    const { engine, id, content } = await openDoc(true);
    content.dispatchEvent(typing());
    expect(banner().hidden).toBe(false);
    banner().querySelector<HTMLButtonElement>('button[aria-label="Dismiss"]')!.click();
    expect(banner().hidden).toBe(true);

    const e = pasting('pasted ');
    content.dispatchEvent(e);
    expect(e.defaultPrevented).toBe(true);
    expect(banner().hidden).toBe(false);
    expect(banner().textContent).toContain(READ_ONLY_MESSAGE);
    await tick();
    expect(editor().state.doc.toString()).toBe('look only');
    expect(engine.text(id)).toBe('look only');
  });

  it('lets a writable document take the same paste, without the message', async () => {
    const { engine, id, content } = await openDoc(false);
    expect(editor().state.selection.main.head).toBe(0);
    const e = typing();
    content.dispatchEvent(e);
    expect(e.defaultPrevented).toBe(false);
    // happy-dom fires selectionchange synchronously while CodeMirror draws the pasted
    // text's selection, which a browser never does; unfocused, nothing is drawn.
    content.blur();
    content.dispatchEvent(pasting('pasted '));
    expect(editor().state.doc.toString()).toBe('pasted look only');
    await until(() => engine.text(id) === 'pasted look only');
    expect(banner().hidden).toBe(true);
  });
});

describe('settings panel', () => {
  it('shows the data folder the engine reports', async () => {
    const engine = new MemoryEngine();
    const api = engine.connect();
    const folder = '/home/me/.local/share/quire';
    vi.spyOn(api, 'getSettings').mockResolvedValue({ displayName: 'Ann', color: '#112233', dataFolder: folder });
    const app = mount(engine, api);
    await until(() => app.store.getState().loaded);
    engine.chooseMenu('settings');
    await until(() => $('.data-folder')?.textContent === folder);
    expect(panel().hidden).toBe(false);
    expect($<HTMLInputElement>('input[aria-label="Display name"]')!.value).toBe('Ann');
  });

  it('keeps the team relays, one per line, and refuses one that is not an address', async () => {
    const engine = new MemoryEngine();
    const api = engine.connect();
    const app = mount(engine, api);
    await until(() => app.store.getState().loaded);
    engine.chooseMenu('settings');
    const relays = () => $<HTMLTextAreaElement>('textarea[aria-label="Relays"]')!;
    await until(() => relays() !== null);
    const relay = '/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN';
    relays().value = `  ${relay}  \n\n`;
    $<HTMLFormElement>('.settings-form')!.requestSubmit();
    await until(() => $('.settings-panel [aria-live]')?.textContent === 'Saved.');
    expect((await api.getSettings()).relays).toEqual([relay]);
    expect(relays().value).toBe(relay);

    relays().value = `${relay}\nnot an address`;
    $<HTMLFormElement>('.settings-form')!.requestSubmit();
    await until(() => !banner().hidden);
    expect(banner().textContent).toContain('not an address');
    expect((await api.getSettings()).relays).toEqual([relay]);
  });
});
