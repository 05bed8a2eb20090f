/**
 * Search snippets with their matches marked. The ranges come from the engine, so they
 * are clamped, sorted and merged before use rather than trusted.
 */
import { h } from './dom';

export interface Segment {
  text: string;
  hit: boolean;
}

/** Splits `snippet` into plain and matched runs. */
export function segments(snippet: string, highlights: readonly [number, number][]): Segment[] {
  const ranges = highlights
    .map(([s, e]) => [Math.max(0, Math.min(s, snippet.length)), Math.max(0, Math.min(e, snippet.length))] as const)
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

/** The snippet as an element, matches in `<mark>`. */
export function renderSnippet(snippet: string, highlights: readonly [number, number][]): HTMLElement {
  return h(
    'span',
    { class: 'snippet' },
    ...segments(snippet, highlights).map((s) => (s.hit ? h('mark', {}, s.text) : s.text)),
  );
}
