/**
 * The sidebar: new document, search (results with matches marked), the filter row,
 * the document list or the trash, and joining a shared document from a link. The
 * search box is built once and kept, so typing never loses focus. The list below it
 * is virtual (only the rows on screen are in the DOM) and redrawn only when what it
 * lists changed. While the search index is rebuilt (after an upgrade) a line under
 * the search box says how far it is.
 */
import type { DocumentSummary, SearchHit, TrashedDocument } from '../ipc';
import { listFiltered, requestKey, type Filters, type SidebarView, type UiState } from '../state';
import { h, relativeTime } from './dom';
import { FilterRow } from './filter-row';
import { trashIcon } from './icons';
import { shortcutLabel } from './shortcuts';
import { renderSnippet } from './snippet';
import { VirtualList } from './virtual-list';

/**
 * Height of one row of the list (documents, search hits and the trash alike), in CSS
 * pixels; styles.css sizes `.doc-list .doc-item` to match.
 */
export const ROW_HEIGHT_PX = 64;

export interface SidebarActions {
  create(): void;
  select(id: string): void;
  trash(id: string): void;
  restore(id: string): void;
  setQuery(query: string): void;
  setView(view: SidebarView): void;
  setFilters(filters: Partial<Filters>): void;
  join(link: string): Promise<void>;
  openSettings(): void;
}

export class Sidebar {
  readonly el: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly list: HTMLElement;
  private readonly tabs: Record<SidebarView, HTMLButtonElement>;
  private readonly joinForm: HTMLFormElement;
  private readonly joinLink: HTMLInputElement;
  private readonly rows: VirtualList<ListEntry>;
  private readonly filterRow: FilterRow;
  private readonly indexStatus: HTMLElement;
  /** What the list showed last (null before the first render). */
  private shown: ListShown | null = null;

  constructor(
    private readonly actions: SidebarActions,
    mac: boolean,
  ) {
    this.search = h('input', {
      type: 'search',
      class: 'search',
      placeholder: `Search (${shortcutLabel('K', mac)})`,
      'aria-label': 'Search documents',
      on: { input: () => actions.setQuery(this.search.value) },
    });
    this.search.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        this.search.value = '';
        actions.setQuery('');
      }
    });
    this.tabs = {
      documents: h('button', { class: 'tab', on: { click: () => actions.setView('documents') } }, 'Documents'),
      trash: h('button', { class: 'tab', on: { click: () => actions.setView('trash') } }, 'Trash'),
    };
    this.filterRow = new FilterRow(actions);
    this.indexStatus = h('p', { class: 'search-status', role: 'status', hidden: true });
    this.list = h('ul', { class: 'doc-list', role: 'list' });
    this.rows = new VirtualList<ListEntry>(this.list, {
      rowHeight: ROW_HEIGHT_PX,
      key: entryKey,
      build: (e, selected) => this.row(e, selected),
    });
    const link = h('input', { type: 'text', placeholder: 'Paste an invite link', 'aria-label': 'Invite link' });
    this.joinLink = link;
    this.joinForm = h(
      'form',
      {
        class: 'join-form',
        hidden: true,
        on: {
          submit: (e) => {
            e.preventDefault();
            const value = link.value.trim();
            if (!value) return;
            // A refused link stays in the form; the app has already said why.
            actions.join(value).then(
              () => {
                link.value = '';
                this.joinForm.hidden = true;
              },
              () => {},
            );
          },
        },
      },
      link,
      h('button', { type: 'submit' }, 'Join'),
    );
    this.el = h(
      'aside',
      { class: 'sidebar' },
      h(
        'header',
        { class: 'sidebar-header' },
        h('span', { class: 'brand' }, 'Quire'),
        h('button', { class: 'primary', title: `New document (${shortcutLabel('N', mac)})`, on: { click: () => actions.create() } }, '+ New'),
      ),
      this.search,
      this.indexStatus,
      this.filterRow.el,
      h('nav', { class: 'tabs' }, this.tabs.documents, this.tabs.trash),
      this.list,
      h(
        'footer',
        { class: 'sidebar-footer' },
        this.joinForm,
        h('button', { class: 'link', on: { click: () => this.toggleJoin(link) } }, 'Join with a link…'),
        h('button', { class: 'link', on: { click: () => actions.openSettings() } }, 'Settings'),
      ),
    );
  }

  /** Puts the cursor in the search box. */
  focusSearch(): void {
    this.search.focus();
    this.search.select();
  }

  render(state: UiState): void {
    if (this.search.value !== state.search.query) this.search.value = state.search.query;
    for (const view of ['documents', 'trash'] as const) {
      this.tabs[view].classList.toggle('active', state.view === view && state.search.results === null);
      this.tabs[view].setAttribute('aria-pressed', String(state.view === view));
    }
    this.filterRow.render(state);
    this.renderIndexStatus(state.reindex);
    this.renderList(listShown(state));
  }

  private renderIndexStatus(reindex: UiState['reindex']): void {
    const text = reindex === null ? '' : `Reindexing… ${reindex.done} of ${reindex.total}`;
    if (this.indexStatus.textContent !== text) this.indexStatus.textContent = text;
    this.indexStatus.hidden = reindex === null;
  }

  /** Opens the join form with `link` filled in (empty: ready to paste one). */
  offerJoin(link: string): void {
    this.joinForm.hidden = false;
    this.joinLink.value = link;
    this.joinLink.focus();
    this.joinLink.select();
  }

  private toggleJoin(input: HTMLInputElement): void {
    this.joinForm.hidden = !this.joinForm.hidden;
    if (!this.joinForm.hidden) input.focus();
  }

  /**
   * Redraws the list only when what it shows changed: a save status, a keystroke or
   * the sync status leaves it alone. Within one mode, only changed rows are rebuilt.
   */
  private renderList(shown: ListShown): void {
    const last = this.shown;
    this.shown = shown;
    if (last && sameListShown(last, shown)) return;
    const modeChanged = last?.mode !== shown.mode;
    const empty = emptyMessage(shown);
    if (empty !== null) {
      this.rows.reset();
      this.list.append(h('li', { class: 'list-empty' }, empty));
      return;
    }
    if (modeChanged || (last && emptyMessage(last) !== null)) this.rows.reset();
    this.rows.set(shown.items, shown.selectedId);
  }

  private row(entry: ListEntry, selected: boolean): HTMLElement {
    switch (entry.kind) {
      case 'document':
        return this.documentRow(entry.doc, selected);
      case 'hit':
        return this.hitRow(entry.hit, selected);
      case 'trashed-hit':
        return this.trashedHitRow(entry.hit);
      case 'trashed':
        return this.trashedRow(entry.doc);
    }
  }

  private documentRow(d: DocumentSummary, selected: boolean): HTMLElement {
    return h(
      'li',
      { class: `doc-item${selected ? ' selected' : ''}` },
      h(
        'button',
        { class: 'doc-open', 'aria-current': selected ? 'true' : undefined, on: { click: () => this.actions.select(d.id) } },
        h('span', { class: 'doc-title' }, d.title || 'Untitled'),
        h(
          'span',
          { class: 'doc-meta' },
          relativeTime(d.updatedAt),
          d.role === 'read' && h('span', { class: 'badge' }, 'read-only'),
          d.role === 'write' && h('span', { class: 'badge' }, 'shared'),
        ),
      ),
      h('button', { class: 'icon', title: 'Move to trash', 'aria-label': `Move ${d.title || 'Untitled'} to trash`, on: { click: () => this.actions.trash(d.id) } }, trashIcon()),
    );
  }

  private hitRow(hit: SearchHit, selected: boolean): HTMLElement {
    return h(
      'li',
      { class: `doc-item hit${selected ? ' selected' : ''}` },
      h(
        'button',
        { class: 'doc-open', on: { click: () => this.actions.select(hit.id) } },
        h('span', { class: 'doc-title' }, hit.title || 'Untitled'),
        renderSnippet(hit.snippet, hit.highlights),
      ),
    );
  }

  /** A match in a document in the trash: it can be brought back, not opened. */
  private trashedHitRow(hit: SearchHit): HTMLElement {
    return h(
      'li',
      { class: 'doc-item hit trashed' },
      h('span', { class: 'doc-open' }, h('span', { class: 'doc-title' }, hit.title || 'Untitled'), renderSnippet(hit.snippet, hit.highlights)),
      h('button', { class: 'small', on: { click: () => this.actions.restore(hit.id) } }, 'Restore'),
    );
  }

  private trashedRow(d: TrashedDocument): HTMLElement {
    return h(
      'li',
      { class: 'doc-item trashed' },
      h('span', { class: 'doc-open' }, h('span', { class: 'doc-title' }, d.title || 'Untitled'), h('span', { class: 'doc-meta' }, `deleted ${relativeTime(d.deletedAt)}`)),
      h('button', { class: 'small', on: { click: () => this.actions.restore(d.id) } }, 'Restore'),
    );
  }
}

/** One row of the list: a document, a search hit or a document in the trash. */
type ListEntry =
  | { kind: 'document'; doc: DocumentSummary }
  | { kind: 'hit'; hit: SearchHit }
  | { kind: 'trashed-hit'; hit: SearchHit }
  | { kind: 'trashed'; doc: TrashedDocument };

/** What the list shows, built only from the parts of the state it depends on. */
interface ListShown {
  mode: 'documents' | 'results' | 'trash' | 'filtered' | 'filtered-trash' | 'trash-results';
  /** The state's array this came from (compared by reference to skip redraws). */
  source: readonly unknown[];
  items: readonly ListEntry[];
  selectedId: string | null;
  /** For the "nothing matches" line. */
  query: string;
  loaded: boolean;
}

/** Wrappers per source object, so an unchanged item keeps its wrapper (and its row). */
const entries = new WeakMap<object, ListEntry>();
function entry<T extends object>(value: T, make: (value: T) => ListEntry): ListEntry {
  let e = entries.get(value);
  if (!e) {
    e = make(value);
    entries.set(value, e);
  }
  return e;
}

/** Builds entries once per source array. */
const shownItems = new WeakMap<readonly unknown[], readonly ListEntry[]>();
function itemsOf<T extends object>(source: readonly T[], make: (value: T) => ListEntry): readonly ListEntry[] {
  let items = shownItems.get(source);
  if (!items) {
    items = source.map((v) => entry(v, make));
    shownItems.set(source, items);
  }
  return items;
}

/** The filtered list has no answer yet for the current filters: keep the last one shown. */
const NOTHING: readonly DocumentSummary[] = [];

function listShown(state: UiState): ListShown {
  const common = { selectedId: state.selectedId, query: state.search.query.trim(), loaded: state.loaded };
  const trash = state.view === 'trash';
  if (state.search.results !== null) {
    const source = state.search.results;
    if (trash) return { ...common, mode: 'trash-results', source, items: itemsOf(source, (hit) => ({ kind: 'trashed-hit', hit })) };
    return { ...common, mode: 'results', source, items: itemsOf(source, (hit) => ({ kind: 'hit', hit })) };
  }
  if (listFiltered(state)) {
    const source = state.filtered?.documents ?? NOTHING;
    const loaded = state.filtered !== null && state.filtered.key === requestKey(state);
    if (trash) {
      const items = itemsOf(source, (doc) => ({ kind: 'trashed', doc: { ...doc, deletedAt: doc.deletedAt ?? doc.updatedAt } }));
      return { ...common, loaded, mode: 'filtered-trash', source, items };
    }
    return { ...common, loaded, mode: 'filtered', source, items: itemsOf(source, (doc) => ({ kind: 'document', doc })) };
  }
  if (trash) {
    const source = state.trash;
    return { ...common, mode: 'trash', source, items: itemsOf(source, (doc) => ({ kind: 'trashed', doc })) };
  }
  const source = state.documents;
  return { ...common, mode: 'documents', source, items: itemsOf(source, (doc) => ({ kind: 'document', doc })) };
}

function sameListShown(a: ListShown, b: ListShown): boolean {
  return (
    a.mode === b.mode &&
    a.source === b.source &&
    a.selectedId === b.selectedId &&
    a.loaded === b.loaded &&
    (!a.mode.endsWith('results') || a.items.length > 0 || a.query === b.query)
  );
}

/** The line shown instead of an empty list, or null when there are rows. */
function emptyMessage(shown: ListShown): string | null {
  if (shown.items.length > 0) return null;
  switch (shown.mode) {
    case 'results':
    case 'trash-results':
      return `Nothing matches “${shown.query}”.`;
    case 'trash':
      return 'The trash is empty.';
    case 'documents':
      return shown.loaded ? 'No documents yet.' : null;
    case 'filtered':
    case 'filtered-trash':
      return shown.loaded ? 'No documents match these filters.' : null;
  }
}

function entryKey(e: ListEntry): string {
  return e.kind === 'hit' || e.kind === 'trashed-hit' ? e.hit.id : e.doc.id;
}
