/**
 * UI state: one plain object, changed only by `reduce(state, action)`, a pure
 * function, so every transition is testable without a DOM. `createStore` adds the
 * smallest possible subscribe/dispatch around it.
 */
import type { BridgeStatus } from './bridge';
import type { DocumentSummary, ListFilter, Presence, SearchHit, SyncStatus, TrashedDocument } from './ipc';

export type Theme = 'light' | 'dark';
/** The panel beside the editor, if any. */
export type Panel = 'none' | 'history' | 'share' | 'settings';
/** What the sidebar lists. */
export type SidebarView = 'documents' | 'trash';

/** The filter row's choices (the trash is the sidebar's view, not one of these). */
export interface Filters {
  sharing: 'any' | 'shared' | 'mine';
  role: 'any' | 'read' | 'write';
  /** Changed within: `1d`, `7d` or `30d`. */
  since: 'any' | '1d' | '7d' | '30d';
  /** `relevance` is best match first with a query, and most recently changed first without one. */
  sort: 'relevance' | 'updated' | 'title';
}

export const DEFAULT_FILTERS: Filters = { sharing: 'any', role: 'any', since: 'any', sort: 'relevance' };

export interface UiState {
  /** Live documents, most recently changed first. */
  documents: DocumentSummary[];
  /** False until the first list arrives (so "no documents" means first run). */
  loaded: boolean;
  trash: TrashedDocument[];
  view: SidebarView;
  selectedId: string | null;
  /** `results` is null while there is no query. */
  search: { query: string; results: SearchHit[] | null };
  filters: Filters;
  /**
   * The list the engine gave for the filters (while any is set, see `listFiltered`),
   * and the request it answered (`requestKey`); null before the first answer.
   */
  filtered: { key: string; documents: DocumentSummary[] } | null;
  /** How far the search index's rebuild is (after an upgrade); null when it is complete. */
  reindex: { done: number; total: number } | null;
  sync: SyncStatus;
  /** Other members' presence, by document id then peer id. */
  presences: Record<string, Record<string, Presence>>;
  /** Save status of open documents, by id. */
  saves: Record<string, BridgeStatus>;
  /** The message in the error banner. */
  error: string | null;
  theme: Theme;
  panel: Panel;
  /** Catch-ups still coming in, by document id (and peer, when known): chunks applied of all. */
  catchUps: Record<string, Progress>;
  /** Files being imported: which one of how many, and its name; null when idle. */
  importing: { done: number; total: number; name: string } | null;
}

/** How far a long operation is. */
export interface Progress {
  received: number;
  total: number;
}

export type Action =
  | { type: 'documents/loaded'; documents: DocumentSummary[] }
  | { type: 'document/added'; document: DocumentSummary }
  | { type: 'document/renamed'; id: string; title: string }
  | { type: 'documents/touched'; ids: string[]; at: number }
  /** Documents listed by id (new here, or changed): the others keep their objects. */
  | { type: 'documents/arrived'; documents: DocumentSummary[] }
  | { type: 'document/trashed'; id: string }
  | { type: 'trash/loaded'; trash: TrashedDocument[] }
  | { type: 'view/set'; view: SidebarView }
  | { type: 'select'; id: string | null }
  | { type: 'search/query'; query: string }
  | { type: 'search/results'; query: string; results: SearchHit[]; key?: string }
  | { type: 'filters/set'; filters: Partial<Filters> }
  | { type: 'filtered/loaded'; key: string; documents: DocumentSummary[] }
  | { type: 'reindex/status'; progress: { done: number; total: number } | null }
  | { type: 'sync/status'; status: SyncStatus }
  | { type: 'presence'; docId: string; peer: string; presence: Presence | null }
  | { type: 'save/status'; status: BridgeStatus }
  | { type: 'error/show'; message: string }
  | { type: 'error/dismiss' }
  | { type: 'theme/set'; theme: Theme }
  | { type: 'panel/toggle'; panel: Exclude<Panel, 'none'> }
  | { type: 'panel/close' }
  | { type: 'catch-up'; docId: string; peer?: string; received: number; total: number }
  | { type: 'import/progress'; done: number; total: number; name: string }
  | { type: 'import/done' };

export function initialState(theme: Theme = 'light'): UiState {
  return {
    documents: [],
    loaded: false,
    trash: [],
    view: 'documents',
    selectedId: null,
    search: { query: '', results: null },
    filters: DEFAULT_FILTERS,
    filtered: null,
    reindex: null,
    sync: { mode: 'offline', peers: 0, pending: 0 },
    presences: {},
    saves: {},
    error: null,
    theme,
    panel: 'none',
    catchUps: {},
    importing: null,
  };
}

/** Most recently changed first; ties by title so the order is stable. */
function sorted(documents: DocumentSummary[]): DocumentSummary[] {
  return [...documents].sort((a, b) => b.updatedAt - a.updatedAt || a.title.localeCompare(b.title));
}

/** Drops a key from a record without mutating it. */
function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const { [key]: _, ...rest } = record;
  return rest;
}

/** Panels that need a selected document. */
const DOCUMENT_PANELS: readonly Panel[] = ['history', 'share'];

export function reduce(state: UiState, action: Action): UiState {
  switch (action.type) {
    case 'documents/loaded': {
      const documents = sorted(action.documents);
      const stillThere = documents.some((d) => d.id === state.selectedId);
      return {
        ...state,
        documents,
        loaded: true,
        selectedId: stillThere ? state.selectedId : null,
        panel: stillThere || !DOCUMENT_PANELS.includes(state.panel) ? state.panel : 'none',
      };
    }
    case 'document/added': {
      const others = state.documents.filter((d) => d.id !== action.document.id);
      return {
        ...state,
        documents: sorted([...others, action.document]),
        trash: state.trash.filter((d) => d.id !== action.document.id),
        loaded: true,
        view: 'documents',
        selectedId: action.document.id,
        panel: 'none',
      };
    }
    case 'document/renamed': {
      const known = state.documents.find((d) => d.id === action.id);
      if (!known || known.title === action.title) return state;
      return {
        ...state,
        documents: state.documents.map((d) => (d.id === action.id ? { ...d, title: action.title } : d)),
      };
    }
    case 'documents/touched': {
      // Changed documents move to the top with their new time; the others keep their
      // objects (so the list leaves their rows alone).
      const ids = new Set(action.ids);
      const touched: DocumentSummary[] = [];
      const rest: DocumentSummary[] = [];
      for (const d of state.documents) {
        if (ids.has(d.id)) touched.push(d.updatedAt >= action.at ? d : { ...d, updatedAt: action.at });
        else rest.push(d);
      }
      if (touched.length === 0) return state;
      return { ...state, documents: [...sorted(touched), ...rest] };
    }
    case 'documents/arrived': {
      if (action.documents.length === 0) return state;
      const arrived = new Map(action.documents.map((d) => [d.id, d]));
      const rest = state.documents.filter((d) => !arrived.has(d.id));
      return { ...state, documents: sorted([...rest, ...arrived.values()]), loaded: true };
    }
    case 'document/trashed': {
      const selected = state.selectedId === action.id;
      return {
        ...state,
        documents: state.documents.filter((d) => d.id !== action.id),
        search: {
          ...state.search,
          results: state.search.results?.filter((h) => h.id !== action.id) ?? null,
        },
        selectedId: selected ? null : state.selectedId,
        panel: selected && DOCUMENT_PANELS.includes(state.panel) ? 'none' : state.panel,
        presences: without(state.presences, action.id),
        saves: without(state.saves, action.id),
      };
    }
    case 'trash/loaded':
      return { ...state, trash: [...action.trash].sort((a, b) => b.deletedAt - a.deletedAt) };
    case 'view/set':
      return { ...state, view: action.view };
    case 'select':
      if (action.id === state.selectedId) return state;
      return { ...state, selectedId: action.id, panel: action.id === null ? 'none' : state.panel };
    case 'search/query': {
      const empty = action.query.trim() === '';
      return {
        ...state,
        search: { query: action.query, results: empty ? null : state.search.results },
      };
    }
    case 'search/results':
      // A slow answer to an older query (or older filters) must not replace the current one's.
      if (action.query !== state.search.query || state.search.query.trim() === '') return state;
      if (action.key !== undefined && action.key !== requestKey(state)) return state;
      return { ...state, search: { query: action.query, results: action.results } };
    case 'filters/set': {
      const filters = { ...state.filters, ...action.filters };
      // A role belongs to shared documents only.
      if (filters.sharing === 'mine') filters.role = 'any';
      return { ...state, filters };
    }
    case 'filtered/loaded':
      if (action.key !== requestKey(state)) return state;
      return { ...state, filtered: { key: action.key, documents: action.documents } };
    case 'reindex/status': {
      const p = action.progress;
      if (p === null) return state.reindex === null ? state : { ...state, reindex: null };
      if (state.reindex?.done === p.done && state.reindex.total === p.total) return state;
      return { ...state, reindex: { done: p.done, total: p.total } };
    }
    case 'sync/status':
      return { ...state, sync: action.status };
    case 'presence': {
      const forDoc = state.presences[action.docId] ?? {};
      const next =
        action.presence === null
          ? without(forDoc, action.peer)
          : { ...forDoc, [action.peer]: action.presence };
      if (next === forDoc) return state;
      const presences =
        Object.keys(next).length === 0
          ? without(state.presences, action.docId)
          : { ...state.presences, [action.docId]: next };
      return { ...state, presences };
    }
    case 'save/status':
      return { ...state, saves: { ...state.saves, [action.status.id]: action.status } };
    case 'error/show':
      return { ...state, error: action.message };
    case 'error/dismiss':
      return { ...state, error: null };
    case 'theme/set':
      return { ...state, theme: action.theme };
    case 'panel/toggle':
      if (DOCUMENT_PANELS.includes(action.panel) && state.selectedId === null) return state;
      return { ...state, panel: state.panel === action.panel ? 'none' : action.panel };
    case 'panel/close':
      return { ...state, panel: 'none' };
    case 'catch-up': {
      const key = action.peer === undefined ? action.docId : `${action.docId} ${action.peer}`;
      const done = action.total <= 0 || action.received >= action.total;
      const catchUps = done
        ? without(state.catchUps, key)
        : { ...state.catchUps, [key]: { received: action.received, total: action.total } };
      return catchUps === state.catchUps ? state : { ...state, catchUps };
    }
    case 'import/progress':
      return { ...state, importing: { done: action.done, total: action.total, name: action.name } };
    case 'import/done':
      return { ...state, importing: null };
  }
}

/** The sort in effect: best match needs a query; without one it means newest first. */
export function effectiveSort(state: UiState): Filters['sort'] {
  const { sort } = state.filters;
  return sort === 'relevance' && state.search.query.trim() === '' ? 'updated' : sort;
}

/**
 * Whether the plain list (no query) needs the engine's filtered listing; with the
 * default filters it is the list the app keeps itself (newest first).
 */
export function listFiltered(state: UiState): boolean {
  const f = state.filters;
  return f.sharing !== 'any' || f.role !== 'any' || f.since !== 'any' || f.sort !== 'relevance';
}

/** What to ask the engine for: the filters, the view (trash or not), the order. */
export function listRequest(state: UiState): ListFilter {
  const f = state.filters;
  const request: ListFilter = {};
  if (f.sharing !== 'any') request.sharing = f.sharing;
  if (f.role !== 'any') request.role = f.role;
  if (f.since !== 'any') request.since = f.since;
  if (state.view === 'trash') request.inTrash = true;
  // Without a query the engine takes relevance as newest first.
  if (f.sort !== 'relevance') request.sort = f.sort;
  return request;
}

/** A key naming a request, to match answers to the request they answer. */
export function requestKey(state: UiState): string {
  return JSON.stringify(listRequest(state));
}

/** The selected document's summary, if it is listed. */
export function selectedDocument(state: UiState): DocumentSummary | null {
  return state.documents.find((d) => d.id === state.selectedId) ?? null;
}

/** Other members present in the selected document. */
export function presentMembers(state: UiState): Presence[] {
  const forDoc = state.selectedId ? state.presences[state.selectedId] : undefined;
  return forDoc ? Object.values(forDoc) : [];
}

/** A holder of `UiState` that tells subscribers after every change. */
export interface Store {
  getState(): UiState;
  dispatch(action: Action): void;
  subscribe(listener: (state: UiState, previous: UiState) => void): () => void;
}

export function createStore(initial: UiState): Store {
  let state = initial;
  const listeners = new Set<(state: UiState, previous: UiState) => void>();
  return {
    getState: () => state,
    dispatch(action) {
      const previous = state;
      state = reduce(state, action);
      if (state === previous) return;
      for (const listener of listeners) listener(state, previous);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
