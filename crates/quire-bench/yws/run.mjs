// Baseline for quire-bench: Yjs over y-websocket, two clients on one machine.
//
//   node run.mjs --trace <automerge-paper.json.gz> [--paced-rate 200]
//                [--paced-count 3000] [--out result.json] [--full-timeout-s 300]
//
// Starts three child processes: a y-websocket server (127.0.0.1, a free port,
// documents in memory only), a writer client A and an observer client B, both in
// the same room, and measures:
//
// - paced: A replays the first --paced-count transactions of the trace at
//   --paced-rate per second, one `doc.transact` on Y.Text "body" each. For each one,
//   the latency from A starting the transaction to B having applied the update
//   (A -> server -> B). Every transaction that changes the text makes exactly one
//   update message, and the server relays them in order, so the i-th update B applies
//   is A's i-th; both sides keep monotonic timestamps (one clock machine-wide), sent
//   to this process at the end and paired by index. p50 / p99 / max, nearest rank.
// - full_speed: in a fresh room with fresh docs, A replays the whole trace as fast
//   as it can (a tight loop, one `doc.transact` per transaction); the time from A's
//   first transaction until B has applied the last update, B's text then being the
//   trace's endContent.
//
// Both runs check that B's text equals A's and the expected text. The result JSON is
// printed and, with --out, written to a file. Exit code 1 on any failure or timeout.

import { fork } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { changesText, loadTrace, utf16Txns } from './trace.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const log = msg => process.stderr.write(`[yws] ${msg}\n`)

// ---------------------------------------------------------------- arguments

function options () {
  const { values } = parseArgs({
    options: {
      trace: { type: 'string' },
      'paced-rate': { type: 'string', default: '200' },
      'paced-count': { type: 'string', default: '3000' },
      'full-timeout-s': { type: 'string', default: '300' },
      out: { type: 'string' }
    }
  })
  if (!values.trace) throw new Error('--trace <file.json.gz> is required')
  const num = (name, min) => {
    const n = Number(values[name])
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}`)
    return n
  }
  return {
    trace: values.trace,
    rate: num('paced-rate', 0.001),
    count: Math.floor(num('paced-count', 1)),
    fullTimeoutMs: num('full-timeout-s', 1) * 1000,
    out: values.out
  }
}

// ---------------------------------------------------------------- children

/** Rejects as soon as any child reports an error or dies unexpectedly. */
let failRun
const runFailed = new Promise((_resolve, reject) => { failRun = reject })
runFailed.catch(() => {}) // observed through Promise.race below

const children = []
let stopping = false

/** A child process spoken to over IPC: `cmd` messages out, `ev` messages back. */
class Child {
  constructor (name, script, args = []) {
    this.name = name
    this.mailbox = [] // messages nobody waited for yet
    this.waiters = []
    const env = { ...process.env }
    for (const k of ['YPERSISTENCE', 'CALLBACK_URL', 'CALLBACK_OBJECTS']) delete env[k]
    this.proc = fork(join(here, script), args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    children.push(this.proc)
    this.proc.on('message', msg => this.onMessage(msg))
    this.proc.on('error', err => failRun(new Error(`${name}: ${err.message}`)))
    this.proc.on('exit', (code, signal) => {
      if (!stopping) failRun(new Error(`${name} exited unexpectedly (${signal ?? `code ${code}`})`))
    })
  }

  onMessage (msg) {
    if (msg.ev === 'error') return failRun(new Error(msg.message))
    const i = this.waiters.findIndex(w => w.ev === msg.ev)
    if (i < 0) return this.mailbox.push(msg)
    this.waiters.splice(i, 1)[0].resolve(msg)
  }

  send (msg) { this.proc.send(msg) }

  /** The next `ev` message, or an error after `timeoutMs` saying what was awaited. */
  wait (ev, timeoutMs, what) {
    const i = this.mailbox.findIndex(m => m.ev === ev)
    if (i >= 0) return Promise.resolve(this.mailbox.splice(i, 1)[0])
    let timer
    const got = new Promise((resolve, reject) => {
      this.waiters.push({ ev, resolve })
      timer = setTimeout(() => reject(new Error(
        `timed out after ${(timeoutMs / 1000).toFixed(1)} s waiting for ${this.name}: ${what}`)), timeoutMs)
    })
    return Promise.race([got, runFailed]).finally(() => clearTimeout(timer))
  }

  /** Sends `msg` and waits for the answer `ev`. */
  ask (msg, ev, timeoutMs, what) {
    const answer = this.wait(ev, timeoutMs, what)
    this.send(msg)
    return answer
  }
}

function killChildren () {
  stopping = true
  for (const proc of children) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  }
}
process.on('exit', killChildren)
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { log(`${sig}: stopping`); killChildren(); process.exit(1) })
}

/** Asks every child to exit, killing those still there after a grace period. */
async function stopChildren () {
  stopping = true
  const exits = children.map(proc => new Promise(resolve => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
    proc.once('exit', resolve)
    try { proc.send({ cmd: 'exit' }) } catch { proc.kill('SIGKILL') }
  }))
  const grace = new Promise(resolve => setTimeout(resolve, 3000).unref())
  await Promise.race([Promise.all(exits), grace])
  killChildren()
}

// ---------------------------------------------------------------- measurement

const SETUP_MS = 30_000

/** Nearest-rank percentile of sorted samples (as quire-bench's stats.rs). */
const percentile = (sorted, q) => sorted[Math.round((sorted.length - 1) * q)]
const round = x => Math.round(x * 1e4) / 1e4

/** The text after the first `count` transactions, replayed on a plain string. */
function expectedText (startContent, txns, count) {
  let s = startContent
  for (const patches of txns.slice(0, count)) {
    for (const [pos, del, ins] of patches) s = s.slice(0, pos) + ins + s.slice(pos + del)
  }
  return s
}

/** Opens `room` on both clients, replays, and returns what each side reported. */
async function session ({ writer, observer, url, room, startContent, count, rate, expect, timeoutMs }) {
  await writer.ask({ cmd: 'open', url, room, startContent }, 'ready', SETUP_MS, `joining room ${room}`)
  await observer.ask({ cmd: 'open', url, room, startContent }, 'ready', SETUP_MS, `joining room ${room} and syncing the start text`)
  await observer.ask({ cmd: 'arm', expect, keep: rate > 0 ? 'all' : 'last' }, 'armed', SETUP_MS, 'arming')
  const observed = observer.wait('observed', timeoutMs, `${expect} updates in room ${room}`)
  const replayed = writer.ask({ cmd: 'replay', count, rate }, 'replayed', timeoutMs, `replaying ${count} transactions`)
  const [a, b] = await Promise.all([replayed, observed])
  await writer.ask({ cmd: 'close' }, 'closed', SETUP_MS, 'leaving the room')
  await observer.ask({ cmd: 'close' }, 'closed', SETUP_MS, 'leaving the room')
  return { a, b }
}

function check (cond, message) {
  if (!cond) throw new Error(message)
}

async function main () {
  const opt = options()
  const trace = loadTrace(opt.trace)
  const txns = utf16Txns(trace)
  check(opt.count <= txns.length, `--paced-count ${opt.count} exceeds the trace's ${txns.length} transactions`)
  const pacedExpect = txns.slice(0, opt.count).filter(changesText).length
  const fullExpect = txns.filter(changesText).length
  log(`trace ${basename(opt.trace)}: ${txns.length} transactions, ${trace.endContent.length} UTF-16 units at the end`)

  const version = name => JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8')).version
  const versions = {
    yjs: version('yjs'),
    'y-websocket': version('y-websocket'),
    '@y/websocket-server': version('@y/websocket-server'),
    ws: version('ws'),
    node: process.versions.node
  }

  const server = new Child('server', 'server.mjs')
  const { port } = await server.wait('listening', SETUP_MS, 'listening')
  const url = `ws://127.0.0.1:${port}`
  log(`server at ${url}`)
  const writer = new Child('writer A', 'client.mjs', ['writer', opt.trace])
  const observer = new Child('observer B', 'client.mjs', ['observer'])
  await writer.wait('started', SETUP_MS, 'loading the trace')
  await observer.wait('started', SETUP_MS, 'starting')

  // Paced run.
  log(`paced: ${opt.count} transactions at ${opt.rate}/s`)
  const paced = await session({
    writer,
    observer,
    url,
    room: `paced-${process.pid}`,
    startContent: trace.startContent,
    count: opt.count,
    rate: opt.rate,
    expect: pacedExpect,
    timeoutMs: (opt.count / opt.rate) * 1000 + SETUP_MS
  })
  check(paced.a.emitted === pacedExpect, `paced: A made ${paced.a.emitted} updates, expected ${pacedExpect}`)
  check(paced.a.sent.length === pacedExpect && paced.b.arrivals.length === pacedExpect,
    `paced: ${paced.a.sent.length} send and ${paced.b.arrivals.length} arrival times for ${pacedExpect} updates`)
  check(paced.b.text === paced.a.text, 'paced: B\'s text differs from A\'s')
  check(paced.a.text === expectedText(trace.startContent, txns, opt.count),
    'paced: A\'s text differs from the trace replayed on a plain string')
  const latencies = paced.a.sent.map((t, i) => (paced.b.arrivals[i] - t) / 1e6).sort((x, y) => x - y)
  check(latencies[0] >= 0, `paced: negative latency ${latencies[0]} ms (updates paired wrongly?)`)
  if (paced.a.lateMaxMs > 1000 / opt.rate) log(`warning: A fell behind its schedule by up to ${paced.a.lateMaxMs.toFixed(2)} ms`)

  // Full-speed run, in a fresh room with fresh docs.
  log(`full speed: ${txns.length} transactions`)
  const full = await session({
    writer,
    observer,
    url,
    room: `full-${process.pid}`,
    startContent: trace.startContent,
    count: txns.length,
    rate: 0,
    expect: fullExpect,
    timeoutMs: opt.fullTimeoutMs
  })
  check(full.a.emitted === fullExpect, `full speed: A made ${full.a.emitted} updates, expected ${fullExpect}`)
  check(full.a.text === trace.endContent, 'full speed: A\'s text is not the trace\'s endContent')
  check(full.b.text === trace.endContent, 'full speed: B\'s text is not the trace\'s endContent')

  await stopChildren()

  const result = {
    bench: 'y-websocket',
    trace: basename(opt.trace).replace(/\.json\.gz$/, ''),
    paced: {
      count: opt.count,
      rate: opt.rate,
      samples: latencies.length,
      p50_ms: round(percentile(latencies, 0.5)),
      p99_ms: round(percentile(latencies, 0.99)),
      max_ms: round(percentile(latencies, 1)),
      // How far A's transactions started after their scheduled time, at worst.
      schedule_late_max_ms: round(paced.a.lateMaxMs)
    },
    full_speed: {
      transactions: txns.length,
      ms: round((full.b.last - full.a.sent[0]) / 1e6),
      // A's own share: its first to its last local transaction.
      writer_local_ms: round(full.a.localMs)
    },
    versions
  }
  const json = JSON.stringify(result, null, 2)
  console.log(json)
  if (opt.out) writeFileSync(opt.out, json + '\n')
}

main().catch(err => {
  log(`FAILED: ${err.message}`)
  killChildren()
  process.exit(1)
})
