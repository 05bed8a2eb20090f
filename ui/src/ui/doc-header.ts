/**
 * The bar above the editor: the title (edit it in place to rename) and the buttons
 * for history, sharing and the trash.
 */
import type { DocumentSummary } from '../ipc';
import { h } from './dom';
import { trashIcon } from './icons';
import { shortcutLabel } from './shortcuts';

export interface DocHeaderActions {
  rename(id: string, title: string): void;
  toggleHistory(): void;
  toggleShare(): void;
  trash(id: string): void;
  /** The title was confirmed with Enter: back to the text. */
  doneEditingTitle(): void;
}

export class DocHeader {
  readonly el: HTMLElement;
  readonly title: HTMLInputElement;
  private readonly badge: HTMLElement;
  private doc: DocumentSummary | null = null;

  constructor(actions: DocHeaderActions, mac: boolean) {
    this.title = h('input', { class: 'title-input', type: 'text', 'aria-label': 'Title', placeholder: 'Untitled' });
    const commit = () => {
      const doc = this.doc;
      if (!doc) return;
      const title = this.title.value.trim();
      if (title === doc.title) return;
      if (title === '') {
        this.title.value = doc.title;
        return;
      }
      actions.rename(doc.id, title);
    };
    this.title.addEventListener('change', commit);
    this.title.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        // Keep the Enter from reaching the editor that gets the focus next.
        e.preventDefault();
        this.title.blur();
        actions.doneEditingTitle();
      }
      if (e.key === 'Escape' && this.doc) {
        this.title.value = this.doc.title;
        this.title.blur();
      }
    });
    this.badge = h('span', { class: 'badge', hidden: true }, 'Read-only');
    this.el = h(
      'header',
      { class: 'doc-header', hidden: true },
      this.title,
      this.badge,
      h('button', { title: `History (${shortcutLabel('H', mac, true)})`, on: { click: () => actions.toggleHistory() } }, 'History'),
      h('button', { title: `Share (${shortcutLabel('S', mac, true)})`, on: { click: () => actions.toggleShare() } }, 'Share'),
      h('button', { class: 'icon', title: 'Move to trash', 'aria-label': 'Move to trash', on: { click: () => this.doc && actions.trash(this.doc.id) } }, trashIcon()),
    );
  }

  /** Shows `doc` (or hides the bar); leaves the title alone while it is being edited. */
  show(doc: DocumentSummary | null, readOnly: boolean): void {
    this.doc = doc;
    this.el.hidden = doc === null;
    if (!doc) return;
    if (document.activeElement !== this.title) this.title.value = doc.title;
    this.title.readOnly = readOnly;
    this.badge.hidden = !readOnly;
  }

  /** Puts the cursor in the title with it selected (after creating a document). */
  editTitle(): void {
    this.title.focus();
    this.title.select();
  }
}
