/**
 * Search snippets with their matches marked. The ranges come from the engine in UTF-16
 * code units (JavaScript string indices), so they are clamped, widened to whole
 * characters (never half an emoji), sorted and merged before use rather than trusted.
 */
import { h } from './dom';

export interface Segment {
  text: string;
  hit: boolean;
}

/** Splits `snippet` into plain and matched runs. */
export function segments(snippet: string, highlights: readonly [number, number][]): Segment[] {
  const clamp = (i: number) => Math.max(0, Math.min(i, snippet.length));
  const ranges = highlights
    .map(([s, e]) => [wholeCharStart(snippet, clamp(s)), wholeCharEnd(snippet, clamp(e))] as const)
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0]);
  const out: Segment[] = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (end <= at) continue;
    const from = Math.max(start, at);
    if (from > at) out.push({ text: snippet.slice(at, from), hit: false });
    const last = out[out.length - 1];
    if (last?.hit && from === at) last.text += snippet.slice(from, end);
    else out.push({ text: snippet.slice(from, end), hit: true });
    at = end;
  }
  if (at < snippet.length) out.push({ text: snippet.slice(at), hit: false });
  return out;
}

/** Whether UTF-16 index `i` of `text` falls between the two halves of a surrogate pair. */
function insidePair(text: string, i: number): boolean {
  const low = text.charCodeAt(i);
  const high = text.charCodeAt(i - 1);
  return i > 0 && low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff;
}

/** `i`, moved back to the start of the character it falls inside. */
function wholeCharStart(text: string, i: number): number {
  return insidePair(text, i) ? i - 1 : i;
}

/** `i`, moved on to the end of the character it falls inside. */
function wholeCharEnd(text: string, i: number): number {
  return insidePair(text, i) ? i + 1 : i;
}

/** The snippet as an element, matches in `<mark>`. */
export function renderSnippet(snippet: string, highlights: readonly [number, number][]): HTMLElement {
  return h(
    'span',
    { class: 'snippet' },
    ...segments(snippet, highlights).map((s) => (s.hit ? h('mark', {}, s.text) : s.text)),
  );
}
