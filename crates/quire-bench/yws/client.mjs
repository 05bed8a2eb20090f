// A Yjs client over y-websocket, as a child process of run.mjs.
//
//   node client.mjs writer <trace.json.gz>   replays the trace into Y.Text "body"
//   node client.mjs observer                 notes when each remote update lands
//
// Driven by run.mjs over IPC (`cmd` messages in, `ev` messages out). Times are
// `process.hrtime` readings: Node takes them from CLOCK_MONOTONIC, one clock for
// every process on the machine, so the writer's and the observer's readings can be
// subtracted directly (no wall-clock offset between the processes to estimate).
// Timestamps are kept in memory during a run and sent to the parent at its end.

import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { changesText, loadTrace, utf16Txns } from './trace.mjs'

if (!process.send) throw new Error('client.mjs runs as a child of run.mjs')

const role = process.argv[2]
if (role !== 'writer' && role !== 'observer') throw new Error(`unknown role ${role}`)

/** Monotonic time in nanoseconds (a Number: exact to well past a year of uptime). */
const now = () => Number(process.hrtime.bigint())
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const immediate = () => new Promise(resolve => setImmediate(resolve))

const send = msg => process.send(msg)
const fail = message => {
  send({ ev: 'error', message: `${role}: ${message}` })
  process.exit(1)
}
process.on('uncaughtException', err => fail(err.stack ?? String(err)))
process.on('unhandledRejection', err => fail(err?.stack ?? String(err)))
process.on('disconnect', () => process.exit(0))

// The writer's transactions, already in UTF-16 offsets.
const txns = role === 'writer' ? utf16Txns(loadTrace(process.argv[3])) : null

/** The open session: one doc, one provider, one room. */
let doc = null
let text = null
let provider = null
let closing = false

function open ({ url, room, startContent }) {
  closing = false
  doc = new Y.Doc()
  text = doc.getText('body')
  // The writer brings the start text; the observer gets it by syncing.
  if (role === 'writer' && startContent) text.insert(0, startContent)
  provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WebSocket,
    disableBc: true // processes share no BroadcastChannel; keep it off the path
  })
  // A dropped connection would resync with merged updates and spoil the counts.
  provider.on('connection-close', () => { if (!closing) fail('websocket closed mid-run') })
  provider.on('connection-error', () => { if (!closing) fail('websocket error') })
  const ready = () => provider.synced && text.toString() === startContent
  const check = () => {
    if (!ready()) return
    provider.off('sync', check)
    doc.off('update', check)
    send({ ev: 'ready' })
  }
  provider.on('sync', check)
  doc.on('update', check)
}

function close () {
  closing = true
  provider?.destroy()
  doc?.destroy()
  provider = doc = text = null
  send({ ev: 'closed' })
}

function applyTxn (patches) {
  for (const [pos, del, ins] of patches) {
    if (del > 0) text.delete(pos, del)
    if (ins.length > 0) text.insert(pos, ins)
  }
}

/** Sleeps until `deadline` (ns): a timer for the bulk, then spinning on setImmediate. */
async function until (deadline) {
  for (;;) {
    const leftMs = (deadline - now()) / 1e6
    if (leftMs <= 0) return
    if (leftMs > 2) await sleep(leftMs - 1.5)
    else await immediate()
  }
}

/**
 * Writer: replays the first `count` transactions, one `doc.transact` each, at `rate`
 * per second (0: as fast as possible). Reports the start time of every transaction
 * that changes the text (each makes exactly one update message).
 */
async function replay ({ count, rate }) {
  let emitted = 0
  const onUpdate = (_update, origin) => { if (origin !== provider) emitted++ }
  doc.on('update', onUpdate)
  const sent = []
  let lateMaxMs = 0
  const t0 = now()
  if (rate > 0) {
    const period = 1e9 / rate
    const start = t0 + 20e6 // a little lead so the first deadline is not already late
    for (let i = 0; i < count; i++) {
      const deadline = start + i * period
      await until(deadline)
      const at = now()
      lateMaxMs = Math.max(lateMaxMs, (at - deadline) / 1e6)
      if (changesText(txns[i])) sent.push(at)
      doc.transact(() => applyTxn(txns[i]))
    }
  } else {
    // A tight loop: each update goes out on the socket as it is made (ws writes
    // straight through), while the server's echoes of A's own updates wait until the
    // loop is done. The event loop only gets a turn every few seconds, well within
    // the 30 s liveness checks of client and server, so a long replay stays connected.
    let yielded = now()
    for (let i = 0; i < count; i++) {
      if (sent.length === 0 && changesText(txns[i])) sent.push(now())
      doc.transact(() => applyTxn(txns[i]))
      if ((i & 1023) === 1023 && now() - yielded > 5e9) {
        await immediate()
        yielded = now()
      }
    }
  }
  const localMs = (now() - (sent[0] ?? t0)) / 1e6
  doc.off('update', onUpdate)
  send({ ev: 'replayed', sent: rate > 0 ? sent : sent.slice(0, 1), emitted, lateMaxMs, localMs, text: text.toString() })
}

/**
 * Observer: from now on, time each update applied to the doc, until `expect` have
 * come. `keep` is 'all' (every arrival time) or 'last' (only the final one).
 */
function arm ({ expect, keep }) {
  const arrivals = keep === 'all' ? new Float64Array(expect) : null
  let count = 0
  let last = 0
  const onUpdate = () => {
    const at = now()
    if (arrivals && count < expect) arrivals[count] = at
    last = at
    count++
    if (count === expect) {
      doc.off('update', onUpdate)
      send({ ev: 'observed', count, last, arrivals: arrivals ? Array.from(arrivals) : null, text: text.toString() })
    }
  }
  send({ ev: 'armed' })
  if (expect === 0) send({ ev: 'observed', count, last, arrivals: [], text: text.toString() })
  else doc.on('update', onUpdate)
}

process.on('message', msg => {
  switch (msg.cmd) {
    case 'open': return open(msg)
    case 'close': return close()
    case 'replay': return role === 'writer' ? replay(msg) : fail('only the writer replays')
    case 'arm': return role === 'observer' ? arm(msg) : fail('only the observer arms')
    case 'exit': return process.exit(0)
    default: return fail(`unknown command ${JSON.stringify(msg)}`)
  }
})
send({ ev: 'started' })
