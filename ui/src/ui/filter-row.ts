/**
 * The filter row under the search box: sharing, role, age, trash and order. Plain
 * labelled `<select>`s and a checkbox, so the keyboard and screen readers work as
 * everywhere else. It applies to search results and to the plain list alike. Built
 * once; `render` only sets values that changed, so a keystroke in the search box
 * leaves it alone.
 */
import type { Filters, SidebarView, UiState } from '../state';
import { effectiveSort } from '../state';
import { h } from './dom';

export interface FilterRowActions {
  setFilters(filters: Partial<Filters>): void;
  setView(view: SidebarView): void;
}

type Choice<V extends string> = readonly (readonly [V, string])[];

const SHARING: Choice<Filters['sharing']> = [
  ['any', 'Any'],
  ['shared', 'Shared'],
  ['mine', 'Only mine'],
];
const ROLE: Choice<Filters['role']> = [
  ['any', 'Any'],
  ['read', 'Read'],
  ['write', 'Write'],
];
const SINCE: Choice<Filters['since']> = [
  ['any', 'Any time'],
  ['1d', '1 day'],
  ['7d', '7 days'],
  ['30d', '30 days'],
];
const SORT: Choice<Filters['sort']> = [
  ['relevance', 'Relevance'],
  ['updated', 'Updated'],
  ['title', 'Title'],
];

export class FilterRow {
  readonly el: HTMLElement;
  private readonly sharing: HTMLSelectElement;
  private readonly role: HTMLSelectElement;
  private readonly since: HTMLSelectElement;
  private readonly sort: HTMLSelectElement;
  private readonly relevance: HTMLOptionElement;
  private readonly inTrash: HTMLInputElement;

  constructor(actions: FilterRowActions) {
    const select = <V extends string>(name: string, label: string, choices: Choice<V>, set: (v: V) => Partial<Filters>) => {
      const el = h(
        'select',
        { name, 'aria-label': label, on: { change: () => actions.setFilters(set(el.value as V)) } },
        ...choices.map(([value, text]) => h('option', { value }, text)),
      );
      return el;
    };
    this.sharing = select('sharing', 'Sharing', SHARING, (sharing) => ({ sharing }));
    this.role = select('role', 'Role', ROLE, (role) => ({ role }));
    this.since = select('since', 'Changed since', SINCE, (since) => ({ since }));
    this.sort = select('sort', 'Sort by', SORT, (sort) => ({ sort }));
    this.relevance = this.sort.options[0] as HTMLOptionElement;
    this.inTrash = h('input', {
      type: 'checkbox',
      name: 'in-trash',
      on: { change: () => actions.setView(this.inTrash.checked ? 'trash' : 'documents') },
    });
    const field = (text: string, control: HTMLElement) => h('label', { class: 'filter' }, h('span', {}, text), control);
    this.el = h(
      'div',
      { class: 'filter-row', role: 'group', 'aria-label': 'Filters' },
      field('Sharing', this.sharing),
      field('Role', this.role),
      field('Changed', this.since),
      field('Sort', this.sort),
      h('label', { class: 'filter check' }, this.inTrash, h('span', {}, 'In trash')),
    );
  }

  render(state: UiState): void {
    const f = state.filters;
    setValue(this.sharing, f.sharing);
    setValue(this.role, f.role);
    setValue(this.since, f.since);
    // A role belongs to shared documents only.
    this.role.disabled = f.sharing === 'mine';
    // Best match needs a query; without one the list shows what it is sorted by.
    const noQuery = state.search.query.trim() === '';
    if (this.relevance.disabled !== noQuery) this.relevance.disabled = noQuery;
    setValue(this.sort, effectiveSort(state));
    const trash = state.view === 'trash';
    if (this.inTrash.checked !== trash) this.inTrash.checked = trash;
  }
}

function setValue(el: HTMLSelectElement, value: string): void {
  if (el.value !== value) el.value = value;
}
