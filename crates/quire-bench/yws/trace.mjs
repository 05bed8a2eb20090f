// Editing traces (the josephg editing-traces JSON format, gzipped) turned into
// Y.Text operations.
//
// A trace is `{ startContent, endContent, txns: [{ patches: [[pos, del, ins], ...] }] }`;
// each patch deletes `del` characters at `pos`, then inserts `ins` at `pos`, with
// positions and counts in Unicode code points. Y.Text counts UTF-16 code units, so
// when the trace holds characters outside the BMP the patches are rewritten to
// UTF-16 offsets once, up front, outside any timed region.

import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'

/** Reads and parses a `.json.gz` trace. */
export function loadTrace (path) {
  let trace
  try {
    trace = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8'))
  } catch (err) {
    throw new Error(`cannot read trace ${path}: ${err.message}`)
  }
  if (typeof trace.endContent !== 'string' || !Array.isArray(trace.txns)) {
    throw new Error(`${path} is not an editing trace (needs endContent and txns)`)
  }
  trace.startContent ??= ''
  return trace
}

const ASTRAL = /[\u{10000}-\u{10FFFF}]/u

/** True when some text of the trace has characters outside the BMP. */
function hasAstral (trace) {
  if (ASTRAL.test(trace.startContent)) return true
  return trace.txns.some(t => t.patches.some(p => ASTRAL.test(p[2])))
}

/** Index of the first element of sorted `xs` that is >= `x`. */
function lowerBound (xs, x) {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (xs[mid] < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * The trace's transactions as arrays of `[utf16Pos, utf16Del, ins]`.
 *
 * Without astral characters code points and UTF-16 units coincide and the patches
 * are used as they are. Otherwise the code-point indices of the astral characters in
 * the current text are tracked (a sorted list, usually short), which gives
 * `utf16(pos) = pos + #astral before pos`.
 */
export function utf16Txns (trace) {
  if (!hasAstral(trace)) return trace.txns.map(t => t.patches)
  const astral = [] // code-point indices of astral characters, sorted
  let i = 0
  for (const ch of trace.startContent) {
    if (ch.length === 2) astral.push(i)
    i++
  }
  const u16 = pos => pos + lowerBound(astral, pos)
  return trace.txns.map(t => t.patches.map(([pos, del, ins]) => {
    const at = u16(pos)
    const delUnits = del > 0 ? u16(pos + del) - at : 0
    // Delete: drop the astral indices inside, shift the later ones left.
    if (del > 0) {
      const from = lowerBound(astral, pos)
      const to = lowerBound(astral, pos + del)
      astral.splice(from, to - from)
      for (let k = from; k < astral.length; k++) astral[k] -= del
    }
    // Insert: shift the later ones right, add the new ones.
    if (ins.length > 0) {
      const cps = [...ins]
      const from = lowerBound(astral, pos)
      for (let k = from; k < astral.length; k++) astral[k] += cps.length
      const added = []
      cps.forEach((ch, j) => { if (ch.length === 2) added.push(pos + j) })
      astral.splice(from, 0, ...added)
    }
    return [at, delUnits, ins]
  }))
}

/** Whether a transaction changes the text (and so makes exactly one Yjs update). */
export function changesText (patches) {
  return patches.some(([, del, ins]) => del > 0 || ins.length > 0)
}
