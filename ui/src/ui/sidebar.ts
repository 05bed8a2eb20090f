/**
 * The sidebar: new document, search (results with matches marked), the document list
 * or the trash, and joining a shared document from a link. The search box is built
 * once and kept, so typing never loses focus; only the list below it is redrawn.
 */
import type { DocumentSummary } from '../ipc';
import type { SidebarView, UiState } from '../state';
import { h, relativeTime, replaceChildren } from './dom';
import { trashIcon } from './icons';
import { shortcutLabel } from './shortcuts';
import { renderSnippet } from './snippet';

export interface SidebarActions {
  create(): void;
  select(id: string): void;
  trash(id: string): void;
  restore(id: string): void;
  setQuery(query: string): void;
  setView(view: SidebarView): void;
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
    this.list = h('ul', { class: 'doc-list', role: 'list' });
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
    if (state.search.results !== null) this.renderResults(state);
    else if (state.view === 'trash') this.renderTrash(state);
    else this.renderDocuments(state);
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

  private renderDocuments(state: UiState): void {
    if (state.loaded && state.documents.length === 0) {
      replaceChildren(this.list, h('li', { class: 'list-empty' }, 'No documents yet.'));
      return;
    }
    replaceChildren(this.list, ...state.documents.map((d) => this.item(d, state.selectedId === d.id)));
  }

  private item(d: DocumentSummary, selected: boolean): HTMLElement {
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

  private renderResults(state: UiState): void {
    const results = state.search.results ?? [];
    if (results.length === 0) {
      replaceChildren(this.list, h('li', { class: 'list-empty' }, `Nothing matches “${state.search.query.trim()}”.`));
      return;
    }
    replaceChildren(
      this.list,
      ...results.map((hit) =>
        h(
          'li',
          { class: `doc-item${state.selectedId === hit.id ? ' selected' : ''}` },
          h(
            'button',
            { class: 'doc-open', on: { click: () => this.actions.select(hit.id) } },
            h('span', { class: 'doc-title' }, hit.title || 'Untitled'),
            renderSnippet(hit.snippet, hit.highlights),
          ),
        ),
      ),
    );
  }

  private renderTrash(state: UiState): void {
    if (state.trash.length === 0) {
      replaceChildren(this.list, h('li', { class: 'list-empty' }, 'The trash is empty.'));
      return;
    }
    replaceChildren(
      this.list,
      ...state.trash.map((d) =>
        h(
          'li',
          { class: 'doc-item trashed' },
          h('span', { class: 'doc-open' }, h('span', { class: 'doc-title' }, d.title || 'Untitled'), h('span', { class: 'doc-meta' }, `deleted ${relativeTime(d.deletedAt)}`)),
          h('button', { class: 'small', on: { click: () => this.actions.restore(d.id) } }, 'Restore'),
        ),
      ),
    );
  }
}
