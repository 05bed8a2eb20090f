/**
 * A list that keeps in the DOM only the rows on screen (plus a few either side), all
 * of one fixed height, so 10,000 documents cost as much to show as 30. Rows are
 * keyed: a row is rebuilt only when its item (compared by reference) or its
 * selected state changed, and rows that stay on screen are kept, not rebuilt, when
 * the list scrolls or an item elsewhere changes. Two spacers above and below the
 * rows give the scroll bar the height of the whole list.
 */

/** Rows built beyond each edge of the screen, so a quick scroll shows no gap. */
export const OVERSCAN_ROWS = 8;
/**
 * Height assumed for the list before it has been laid out (or where there is no
 * layout at all, as in tests): about a laptop screen.
 */
export const FALLBACK_VIEWPORT_PX = 900;

export interface VirtualListOptions<T> {
  /** Height of every row, in CSS pixels (the stylesheet must agree). */
  rowHeight: number;
  /** A stable key per item (the document id). */
  key(item: T): string;
  /** Builds the row of an item. */
  build(item: T, selected: boolean): HTMLElement;
}

interface Row<T> {
  el: HTMLElement;
  item: T;
  selected: boolean;
}

export class VirtualList<T> {
  private items: readonly T[] = [];
  private selectedKey: string | null = null;
  private readonly rows = new Map<string, Row<T>>();
  private readonly top: HTMLElement;
  private readonly bottom: HTMLElement;
  private framePending = false;
  /** Rows built since creation (for tests and measurements). */
  built = 0;

  constructor(
    /** The scrolling element the rows go in (a `ul`). */
    readonly el: HTMLElement,
    private readonly options: VirtualListOptions<T>,
  ) {
    this.top = spacer();
    this.bottom = spacer();
    el.addEventListener('scroll', () => this.renderSoon(), { passive: true });
    if (typeof ResizeObserver !== 'undefined') new ResizeObserver(() => this.renderSoon()).observe(el);
  }

  /**
   * Shows `items` with the one keyed `selectedKey` marked. Cheap when little
   * changed: only rows whose item or selection differs are rebuilt.
   */
  set(items: readonly T[], selectedKey: string | null): void {
    this.items = items;
    this.selectedKey = selectedKey;
    this.render();
  }

  /** Drops every row (the next `set` builds afresh) and scrolls to the top. */
  reset(): void {
    this.rows.clear();
    this.items = [];
    this.el.replaceChildren();
    this.el.scrollTop = 0;
  }

  /** The range of item indexes that should be in the DOM now. */
  window(): { start: number; end: number } {
    const { rowHeight } = this.options;
    const viewport = this.el.clientHeight || FALLBACK_VIEWPORT_PX;
    const first = Math.floor(this.el.scrollTop / rowHeight);
    const start = Math.max(0, first - OVERSCAN_ROWS);
    const end = Math.min(this.items.length, first + Math.ceil(viewport / rowHeight) + OVERSCAN_ROWS);
    return { start, end: Math.max(start, end) };
  }

  private renderSoon(): void {
    if (this.framePending) return;
    this.framePending = true;
    requestAnimationFrame(() => {
      this.framePending = false;
      this.render();
    });
  }

  private render(): void {
    const { start, end } = this.window();
    const { key, build, rowHeight } = this.options;
    const wanted: HTMLElement[] = [];
    const keep = new Set<string>();
    for (let i = start; i < end; i++) {
      const item = this.items[i] as T;
      const k = key(item);
      const selected = k === this.selectedKey;
      keep.add(k);
      let row = this.rows.get(k);
      if (!row || row.item !== item || row.selected !== selected) {
        const el = build(item, selected);
        el.style.height = `${rowHeight}px`;
        row?.el.remove();
        row = { el, item, selected };
        this.rows.set(k, row);
        this.built += 1;
      }
      wanted.push(row.el);
    }
    for (const [k, row] of this.rows) {
      if (!keep.has(k)) {
        row.el.remove();
        this.rows.delete(k);
      }
    }
    this.top.style.height = `${start * rowHeight}px`;
    this.bottom.style.height = `${(this.items.length - end) * rowHeight}px`;
    // Put the children in order, moving only what is out of place.
    let at: ChildNode | null = this.el.firstChild;
    for (const node of [this.top, ...wanted, this.bottom]) {
      if (at === node) {
        at = at.nextSibling;
      } else {
        this.el.insertBefore(node, at);
      }
    }
    while (at) {
      const next: ChildNode | null = at.nextSibling;
      at.remove();
      at = next;
    }
  }
}

/** An empty list item of some height, hidden from screen readers. */
function spacer(): HTMLElement {
  const li = document.createElement('li');
  li.className = 'list-spacer';
  li.setAttribute('aria-hidden', 'true');
  return li;
}
