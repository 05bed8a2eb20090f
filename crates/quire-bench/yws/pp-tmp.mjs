// raw ws one-way latency A->server->B, separate processes, paced 200/s
import { fork } from 'node:child_process'
import { WebSocketServer, WebSocket } from 'ws'
const now = () => Number(process.hrtime.bigint())
const role = process.argv[2]
if (!role) {
  const s = fork(process.argv[1], ['server'])
  s.on('message', ({ port }) => {
    const b = fork(process.argv[1], ['b', port]); const a = fork(process.argv[1], ['a', port])
    let arr, sent
    b.on('message', m => { if (m.ready) a.send({ go: 1 }); if (m.arr) { arr = m.arr; fin() } })
    a.on('message', m => { sent = m.sent; fin() })
    function fin () { if (!arr || !sent) return; const l = sent.map((t, i) => (arr[i] - t) / 1e6).sort((x, y) => x - y); console.log('p50', l[l.length >> 1], 'p99', l[Math.round((l.length - 1) * .99)]); process.exit(0) }
  })
} else if (role === 'server') {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  wss.on('listening', () => process.send({ port: wss.address().port }))
  wss.on('connection', c => c.on('message', m => { for (const o of wss.clients) o.send(m) }))
} else if (role === 'b') {
  const ws = new WebSocket('ws://127.0.0.1:' + process.argv[3]); const arr = []
  ws.on('open', () => setTimeout(() => process.send({ ready: 1 }), 300))
  ws.on('message', () => { arr.push(now()); if (arr.length === 1000) process.send({ arr }) })
} else {
  const ws = new WebSocket('ws://127.0.0.1:' + process.argv[3]); const sent = []
  process.on('message', async () => {
    for (let i = 0; i < 1000; i++) { await new Promise(r => setTimeout(r, 5)); sent.push(now()); ws.send(new Uint8Array(30)) }
    process.send({ sent })
  })
}
