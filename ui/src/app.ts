/**
 * The app: builds the page, connects the store, the bridge and the engine, and keeps
 * the editor showing the selected document. Everything it shows comes from `UiState`;
 * everything it does goes through `EngineApi`.
 */
import { DocBridge, measure, type BridgedDoc } from './bridge';
import { errorMessage, MAX_LISTED_BY_ID, type EngineApi, type Settings } from './ipc';
import { PresenceLink } from './presence';
import {
  createStore,
  initialState,
  listFiltered,
  listRequest,
  requestKey,
  selectedDocument,
  type Filters,
  type Store,
  type UiState,
} from './state';
import { applyTheme, followSystemTheme, systemTheme } from './theme';
import { DocHeader } from './ui/doc-header';
import { h, replaceChildren } from './ui/dom';
import { closeIcon } from './ui/icons';
import { mountEditor, type MountedEditor } from './ui/editor';
import { historyPanel } from './ui/history-panel';
import { settingsPanel } from './ui/settings-panel';
import { sharePanel } from './ui/share-panel';
import { installShortcuts, isCommand, isMac, shortcutLabel, type Command } from './ui/shortcuts';
import { Sidebar } from './ui/sidebar';
import { renderStatusBar } from './ui/status-bar';

/** Wait after the last keystroke in the search box before asking the engine. */
const SEARCH_DEBOUNCE_MS = 150;
/** How often the page asks how far the search index's rebuild is, while it runs. */
const REINDEX_POLL_MS = 500;
/** Wait after the documents changed before asking the engine for the filtered list again. */
const FILTERED_REFRESH_MS = 300;
/** A catch-up with no news for this long is taken as cut short. */
const CATCH_UP_QUIET_MS = 20_000;
/** Largest Markdown file imported (the engine's limit too). */
const MAX_IMPORT_BYTES = 32 * 1024 * 1024;
/** Least time between two updates of the document list caused by edits. */
const LIST_REFRESH_MS = 2000;
/**
 * A menu command this soon after the same keyboard shortcut is that same keypress
 * (some systems give it to both the menu and the page), so it is not run twice.
 */
const SAME_KEYPRESS_MS = 400;
/** What a read-only document says when someone tries to change it. */
export const READ_ONLY_MESSAGE =
  'This document is read-only for you: you joined it with a read-only link. Ask its owner for an edit link to change it.';

interface OpenEditor {
  bridged: BridgedDoc;
  editor: MountedEditor;
  presence: PresenceLink;
}

export class App {
  readonly store: Store;
  private readonly bridge: DocBridge;
  private readonly sidebar: Sidebar;
  private readonly header: DocHeader;
  private readonly banner = h('div', { class: 'banner', role: 'alert', hidden: true });
  private readonly editorHost = h('div', { class: 'editor-host' });
  private readonly panelHost = h('aside', { class: 'panel', hidden: true });
  private readonly statusBar = h('footer', { class: 'status-bar' });
  private readonly mac = isMac();
  private open: OpenEditor | null = null;
  private showing = 0;
  private settings: Settings = { displayName: 'Me', color: '#4363d8' };
  private searchTimer: ReturnType<typeof setTimeout> | null = null;
  private listTimer: ReturnType<typeof setTimeout> | null = null;
  private filteredTimer: ReturnType<typeof setTimeout> | null = null;
  /** Documents changed since the list was last touched. */
  private readonly touched = new Set<string>();
  private lastShortcut: { command: Command; at: number } | null = null;
  private readonly catchUpTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly importQueue: File[] = [];
  private importing = false;

  constructor(
    root: HTMLElement,
    private readonly engine: EngineApi,
  ) {
    this.store = createStore(initialState(systemTheme(window)));
    this.bridge = new DocBridge(engine);
    this.sidebar = new Sidebar(
      {
        create: () => void this.create(),
        select: (id) => this.store.dispatch({ type: 'select', id }),
        trash: (id) => void this.trash(id),
        restore: (id) => void this.restore(id),
        setQuery: (query) => this.setQuery(query),
        setView: (view) => {
          if (view === this.store.getState().view) return;
          this.store.dispatch({ type: 'view/set', view });
          if (view === 'trash') void this.loadTrash();
          this.refilter();
        },
        setFilters: (filters) => this.setFilters(filters),
        join: (link) => this.join(link),
        openSettings: () => this.store.dispatch({ type: 'panel/toggle', panel: 'settings' }),
      },
      this.mac,
    );
    this.header = new DocHeader(
      {
        rename: (id, title) => void this.rename(id, title),
        toggleHistory: () => this.run('history'),
        toggleShare: () => this.run('share'),
        trash: (id) => void this.trash(id),
        doneEditingTitle: () => this.open?.editor.view.focus(),
      },
      this.mac,
    );
    replaceChildren(
      root,
      h(
        'div',
        { class: 'app' },
        this.sidebar.el,
        h('main', { class: 'main' }, this.banner, this.header.el, h('div', { class: 'workspace' }, this.editorHost, this.panelHost)),
        this.statusBar,
      ),
    );
    this.wire();
    this.render(this.store.getState(), null);
    void this.loadInitial();
  }

  private wire(): void {
    const { store, engine, bridge } = this;
    store.subscribe((state, previous) => this.render(state, previous));
    bridge.onStatus((status) => {
      store.dispatch({ type: 'save/status', status });
      if (status.unsent === 0 && !status.error) this.touchSoon(status.id);
    });
    bridge.onReplaced((fresh) => {
      if (this.open?.bridged.id === fresh.id) void this.show(fresh.id);
    });
    engine.onDocUpdate((id) => this.touchSoon(id));
    engine.onDocRenamed((id, title) => store.dispatch({ type: 'document/renamed', id, title }));
    engine.onSyncStatus((status) => store.dispatch({ type: 'sync/status', status }));
    engine.onCatchUp((docId, received, total, peer) => {
      store.dispatch({ type: 'catch-up', docId, peer, received, total });
      // A catch-up cut short (the peer went away) sends no last chunk: stop showing
      // it once it has been quiet for a while.
      const key = `${docId} ${peer ?? ''}`;
      clearTimeout(this.catchUpTimers.get(key));
      this.catchUpTimers.set(
        key,
        setTimeout(() => {
          this.catchUpTimers.delete(key);
          store.dispatch({ type: 'catch-up', docId, peer, received: total, total });
        }, CATCH_UP_QUIET_MS),
      );
    });
    engine.onImportProgress((done, total, name) => store.dispatch({ type: 'import/progress', done, total, name }));
    engine.onImportDone((last, failed) => void this.importDone(last, failed));
    // Markdown files dropped on the sidebar are imported.
    this.sidebar.el.addEventListener('dragover', (e) => {
      if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
    });
    this.sidebar.el.addEventListener('drop', (e) => {
      const files = [...(e.dataTransfer?.files ?? [])];
      if (files.length === 0) return;
      e.preventDefault();
      void this.importFiles(files);
    });
    engine.onPresence((docId, peer, presence) => {
      store.dispatch({ type: 'presence', docId, peer, presence });
      if (this.open?.bridged.id === docId) this.open.presence.remote(peer, presence);
    });
    followSystemTheme(window, (theme) => store.dispatch({ type: 'theme/set', theme }));
    installShortcuts(
      window,
      (command) => {
        this.lastShortcut = { command, at: Date.now() };
        this.run(command);
      },
      this.mac,
    );
    engine.onMenu((command) => {
      const last = this.lastShortcut;
      if (!isCommand(command)) return;
      if (last && last.command === command && Date.now() - last.at < SAME_KEYPRESS_MS) return;
      this.run(command);
    });
    engine.onOpenLinks(() => void this.takeLinks());
    // The app comes forward when a link arrives: a backstop for one that came while
    // the listener above was still being registered.
    window.addEventListener('focus', () => void this.takeLinks());
    window.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && store.getState().panel !== 'none') store.dispatch({ type: 'panel/close' });
    });
  }

  private async loadInitial(): Promise<void> {
    await Promise.all([
      this.attempt('Could not list documents', async () => {
        this.store.dispatch({ type: 'documents/loaded', documents: await this.engine.listDocuments() });
      }),
      this.attempt('Could not read the connection status', async () => {
        this.store.dispatch({ type: 'sync/status', status: await this.engine.syncStatus() });
      }),
      this.attempt('Could not load settings', async () => {
        this.settings = await this.engine.getSettings();
        this.open?.presence.setUser({ name: this.settings.displayName, color: this.settings.color });
      }),
      this.takeLinks(),
      this.watchIndex(),
    ]);
  }

  /**
   * Shows how far the search index's rebuild is while it runs (after an upgrade),
   * asking every REINDEX_POLL_MS; when it is done, asks the current search again, as
   * it may now find more.
   */
  private async watchIndex(): Promise<void> {
    const status = await this.engine.searchIndexStatus().catch(() => null);
    if (status === null) return;
    if (status.rebuilding) {
      this.store.dispatch({ type: 'reindex/status', progress: { done: status.done, total: status.total } });
      setTimeout(() => void this.watchIndex(), REINDEX_POLL_MS);
      return;
    }
    if (this.store.getState().reindex === null) return;
    this.store.dispatch({ type: 'reindex/status', progress: null });
    this.searchNow();
  }

  /** Offers to join from the newest invite link opened from outside, if any. */
  private async takeLinks(): Promise<void> {
    const links = await this.attempt('Could not read the opened link', () => this.engine.takeLinks());
    const link = links?.at(-1);
    if (!link) return;
    this.sidebar.offerJoin(link);
    if (links && links.length > 1) {
      const others = links.length - 1;
      this.store.dispatch({
        type: 'error/show',
        message: `${links.length} invite links were opened at once; the newest is ready to join. Open the other ${others === 1 ? 'one' : others} again to join ${others === 1 ? 'it' : 'them'}.`,
      });
    }
  }

  /** Runs an engine call, showing its failure in the banner. */
  private async attempt<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      this.store.dispatch({ type: 'error/show', message: `${what}: ${errorMessage(err)}` });
      return undefined;
    }
  }

  private run(command: Command): void {
    switch (command) {
      case 'new':
        void this.create();
        break;
      case 'import':
        void this.attempt('Could not import', () => this.engine.pickAndImport());
        break;
      case 'search':
        this.sidebar.focusSearch();
        break;
      case 'history':
        this.store.dispatch({ type: 'panel/toggle', panel: 'history' });
        break;
      case 'share':
        this.store.dispatch({ type: 'panel/toggle', panel: 'share' });
        break;
      case 'join':
        this.sidebar.offerJoin('');
        break;
      case 'settings':
        this.store.dispatch({ type: 'panel/toggle', panel: 'settings' });
        break;
    }
  }

  private async create(): Promise<void> {
    const doc = await this.attempt('Could not create a document', () => this.engine.createDocument('Untitled'));
    if (!doc) return;
    this.store.dispatch({ type: 'document/added', document: doc });
    this.header.editTitle();
  }

  /** An import from the file dialog ended: list what came in, open the last, say what failed. */
  private async importDone(last: string | null, failed: string[]): Promise<void> {
    this.store.dispatch({ type: 'import/done' });
    if (failed.length > 0) this.store.dispatch({ type: 'error/show', message: `Could not import ${failed.join(', ')}` });
    if (last === null) return;
    await this.attempt('Could not list documents', async () => {
      this.store.dispatch({ type: 'documents/loaded', documents: await this.engine.listDocuments() });
    });
    this.store.dispatch({ type: 'select', id: last });
  }

  /**
   * Imports Markdown files (dropped on the sidebar) one by one, showing which; opens the last one imported.
   * Files added while an import runs join its queue.
   */
  async importFiles(files: File[]): Promise<void> {
    this.importQueue.push(...files);
    if (this.importing || this.importQueue.length === 0) return;
    this.importing = true;
    let last: string | null = null;
    const failed: string[] = [];
    for (let done = 0; this.importQueue.length > 0; done++) {
      const file = this.importQueue.shift() as File;
      this.store.dispatch({ type: 'import/progress', done, total: done + 1 + this.importQueue.length, name: file.name });
      try {
        if (file.size > MAX_IMPORT_BYTES) throw new Error(`it is over the ${MAX_IMPORT_BYTES / (1024 * 1024)} MiB import limit`);
        const doc = await this.engine.importDocument(file.name, await readUtf8(file));
        this.store.dispatch({ type: 'document/added', document: doc });
        last = doc.id;
      } catch (err) {
        failed.push(`${file.name} (${errorMessage(err)})`);
      }
    }
    this.importing = false;
    this.store.dispatch({ type: 'import/done' });
    if (failed.length > 0) this.store.dispatch({ type: 'error/show', message: `Could not import ${failed.join(', ')}` });
    if (last !== null) this.store.dispatch({ type: 'select', id: last });
  }

  private async rename(id: string, title: string): Promise<void> {
    await this.attempt('Could not rename', async () => {
      await this.engine.renameDocument(id, title);
      this.store.dispatch({ type: 'document/renamed', id, title });
    });
  }

  private async trash(id: string): Promise<void> {
    await this.attempt('Could not move to the trash', async () => {
      await this.engine.deleteDocument(id);
      this.store.dispatch({ type: 'document/trashed', id });
      await this.loadTrash();
    });
  }

  private async restore(id: string): Promise<void> {
    await this.attempt('Could not restore', async () => {
      await this.engine.restoreDocument(id);
      this.store.dispatch({ type: 'documents/loaded', documents: await this.engine.listDocuments() });
      await this.loadTrash();
    });
  }

  private async loadTrash(): Promise<void> {
    await this.attempt('Could not list the trash', async () => {
      this.store.dispatch({ type: 'trash/loaded', trash: await this.engine.listTrash() });
    });
  }

  private async join(link: string): Promise<void> {
    const id = await this.engine.join(link).catch((err: unknown) => {
      this.store.dispatch({ type: 'error/show', message: `Could not join: ${errorMessage(err)}` });
      throw err;
    });
    this.store.dispatch({ type: 'documents/loaded', documents: await this.engine.listDocuments() });
    this.store.dispatch({ type: 'select', id });
  }

  private setQuery(query: string): void {
    const hadQuery = this.store.getState().search.query.trim() !== '';
    this.store.dispatch({ type: 'search/query', query });
    if (this.searchTimer) clearTimeout(this.searchTimer);
    if (query.trim() === '') {
      // Back to the plain list: with a sort that needs no query, it may be filtered.
      if (hadQuery) this.loadFiltered();
      return;
    }
    this.searchTimer = setTimeout(() => this.searchNow(), SEARCH_DEBOUNCE_MS);
  }

  /** Asks the engine for the current query under the current filters. */
  private searchNow(): void {
    const state = this.store.getState();
    const query = state.search.query;
    if (query.trim() === '') return;
    const key = requestKey(state);
    void this.attempt('Search failed', async () => {
      const results = await this.engine.search(query, listRequest(state));
      this.store.dispatch({ type: 'search/results', query, results, key });
    });
  }

  private setFilters(filters: Partial<Filters>): void {
    this.store.dispatch({ type: 'filters/set', filters });
    this.refilter();
  }

  /** The filters or the view changed: ask again for what is shown. */
  private refilter(): void {
    if (this.store.getState().search.query.trim() !== '') this.searchNow();
    else this.loadFiltered();
  }

  /** Asks the engine for the list under the current filters, when any is set. */
  private loadFiltered(): void {
    const state = this.store.getState();
    if (!listFiltered(state)) return;
    const key = requestKey(state);
    void this.attempt('Could not list documents', async () => {
      const documents = await this.engine.listDocuments(listRequest(state));
      this.store.dispatch({ type: 'filtered/loaded', key, documents });
    });
  }

  /** The documents changed (an edit, a new one, the trash): the filtered list follows, soon. */
  private refilterSoon(): void {
    if (this.filteredTimer) return;
    this.filteredTimer = setTimeout(() => {
      this.filteredTimer = null;
      this.loadFiltered();
    }, FILTERED_REFRESH_MS);
  }

  /**
   * Moves documents that changed to the top of the list with a fresh time, at most
   * every LIST_REFRESH_MS, without asking the engine for the whole list (10,000
   * documents cost WebKit seconds per refresh). Documents the list does not know
   * yet (arrived from elsewhere) are asked for by id; only more than
   * MAX_LISTED_BY_ID of them at once make it ask for the whole list.
   */
  private touchSoon(id: string): void {
    this.touched.add(id);
    if (this.listTimer) return;
    this.listTimer = setTimeout(() => {
      this.listTimer = null;
      const ids = [...this.touched];
      this.touched.clear();
      const known = new Set(this.store.getState().documents.map((d) => d.id));
      const unknown = ids.filter((id) => !known.has(id));
      if (unknown.length > MAX_LISTED_BY_ID) {
        this.engine.listDocuments().then(
          (documents) => this.store.dispatch({ type: 'documents/loaded', documents }),
          () => {},
        );
        return;
      }
      if (unknown.length > 0) {
        this.engine.listThese(unknown).then(
          (documents) => this.store.dispatch({ type: 'documents/arrived', documents }),
          () => {},
        );
      }
      this.store.dispatch({ type: 'documents/touched', ids, at: Date.now() });
    }, LIST_REFRESH_MS);
  }

  private render(state: UiState, previous: UiState | null): void {
    if (previous && listFiltered(state) && (state.documents !== previous.documents || state.trash !== previous.trash)) {
      this.refilterSoon();
    }
    const doc = selectedDocument(state);
    const readOnly = doc?.role === 'read' || (doc ? state.saves[doc.id]?.readOnly === true : false);
    this.sidebar.render(state);
    this.header.show(doc, readOnly);
    renderStatusBar(this.statusBar, state);
    this.banner.hidden = state.error === null;
    if (state.error !== null && state.error !== previous?.error) {
      replaceChildren(
        this.banner,
        h('span', {}, state.error),
        h('button', { class: 'icon', 'aria-label': 'Dismiss', on: { click: () => this.store.dispatch({ type: 'error/dismiss' }) } }, closeIcon()),
      );
    }
    if (state.theme !== previous?.theme) {
      applyTheme(document.documentElement, state.theme);
      this.open?.editor.setTheme(state.theme);
    }
    if (state.selectedId !== (previous?.selectedId ?? null) || (state.loaded && !previous?.loaded)) {
      void this.show(state.selectedId);
    }
    if (state.panel !== previous?.panel || state.selectedId !== previous?.selectedId) this.renderPanel(state, readOnly);
  }

  private renderPanel(state: UiState, readOnly: boolean): void {
    const doc = selectedDocument(state);
    const onError = (message: string) => this.store.dispatch({ type: 'error/show', message });
    let content: HTMLElement | null = null;
    if (state.panel === 'settings') {
      content = settingsPanel({
        engine: this.engine,
        onError,
        onSaved: (settings) => {
          this.settings = settings;
          this.open?.presence.setUser({ name: settings.displayName, color: settings.color });
        },
      });
    } else if (doc && state.panel === 'history') {
      content = historyPanel({ engine: this.engine, docId: doc.id, readOnly, onError });
    } else if (doc && state.panel === 'share') {
      content = sharePanel({ engine: this.engine, docId: doc.id, title: doc.title, readOnly, onError });
    }
    this.panelHost.hidden = content === null;
    const close = h('button', { class: 'icon close', 'aria-label': 'Close panel', on: { click: () => this.store.dispatch({ type: 'panel/close' }) } }, closeIcon());
    if (content) replaceChildren(this.panelHost, close, content);
    else this.panelHost.replaceChildren();
  }

  /** Shows document `id` in the editor (or the empty state), closing the previous one. */
  private async show(id: string | null): Promise<void> {
    const token = ++this.showing;
    const previous = this.open;
    this.open = null;
    if (previous) {
      previous.editor.destroy();
      previous.presence.destroy();
      if (previous.bridged.id !== id) void this.bridge.close(previous.bridged.id);
    }
    if (id === null) {
      this.renderEmpty();
      return;
    }
    replaceChildren(this.editorHost, h('p', { class: 'placeholder' }, 'Opening…'));
    const bridged = await this.attempt('Could not open the document', () => this.bridge.open(id));
    if (!bridged || token !== this.showing) return;
    const state = this.store.getState();
    const onError = (message: string) => this.store.dispatch({ type: 'error/show', message });
    const presence = new PresenceLink(this.engine, bridged, { name: this.settings.displayName, color: this.settings.color }, onError);
    for (const [peer, p] of Object.entries(state.presences[id] ?? {})) presence.remote(peer, p);
    this.editorHost.replaceChildren();
    const mountStarted = performance.now();
    const editor = mountEditor(this.editorHost, bridged.text, presence.awareness, {
      readOnly: bridged.readOnly,
      theme: state.theme,
      onRefusedEdit: () => this.store.dispatch({ type: 'error/show', message: READ_ONLY_MESSAGE }),
    });
    measure('quire:open:editor', mountStarted, performance.now());
    this.open = { bridged, editor, presence };
    const status = this.bridge.status(id);
    if (status) this.store.dispatch({ type: 'save/status', status });
    if (document.activeElement !== this.header.title) editor.view.focus();
  }

  private renderEmpty(): void {
    const state = this.store.getState();
    const mod = (key: string) => shortcutLabel(key, this.mac);
    const firstRun = state.loaded && state.documents.length === 0;
    replaceChildren(
      this.editorHost,
      h(
        'div',
        { class: 'empty-state' },
        h('h1', {}, firstRun ? 'Welcome to Quire' : 'No document open'),
        h(
          'p',
          {},
          firstRun
            ? 'Write Markdown notes that live on your devices and sync directly between them — no server needed.'
            : 'Pick a document on the left, or start a new one.',
        ),
        h('button', { class: 'primary', on: { click: () => void this.create() } }, `New document (${mod('N')})`),
        h('p', { class: 'muted' }, `Search with ${mod('K')} · history ${shortcutLabel('H', this.mac, true)} · share ${shortcutLabel('S', this.mac, true)}`),
      ),
    );
  }
}

/** A file's text; a file that is not UTF-8 is refused rather than mangled. */
async function readUtf8(file: File): Promise<string> {
  const bytes = await file.arrayBuffer();
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error('it is not UTF-8 text');
  }
}

/** Starts the app in `root` against `engine`. */
export function startApp(root: HTMLElement, engine: EngineApi): App {
  return new App(root, engine);
}
