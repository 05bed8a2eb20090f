/**
 * A plain longest-common-subsequence line diff, shaped like the engine's `diff`
 * command (`DiffLine[]`). Only the in-memory demo engine uses it; the real diff is
 * computed by the engine.
 */
import type { DiffLine } from '../ipc';

/** Lines with their breaks kept, so joining them gives the text back. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** The line diff turning `from` into `to`. */
export function lineDiff(from: string, to: string): DiffLine[] {
  const a = splitLines(from);
  const b = splitLines(to);
  // lcs[i][j]: length of the LCS of a[i..] and b[j..].
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () =>
    new Array<number>(b.length + 1).fill(0),
  );
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] =
        a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ kind: 'equal', oldLine: i + 1, newLine: j + 1, text: a[i]! });
      i++;
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      out.push({ kind: 'delete', oldLine: i + 1, newLine: null, text: a[i]! });
      i++;
    } else {
      out.push({ kind: 'insert', oldLine: null, newLine: j + 1, text: b[j]! });
      j++;
    }
  }
  return out;
}
