// The y-websocket server, as a child process of run.mjs.
//
// The same wiring as the package's own `y-websocket-server` binary (an HTTP server
// whose upgrades go to `setupWSConnection`), but bound to 127.0.0.1 on a free port
// that is reported to the parent over IPC. Documents stay in memory: run.mjs starts
// this process without YPERSISTENCE (and without CALLBACK_URL).

import http from 'node:http'
import { WebSocketServer } from 'ws'
import { setupWSConnection } from '@y/websocket-server/utils'

if (!process.send) throw new Error('server.mjs runs as a child of run.mjs')

const wss = new WebSocketServer({ noServer: true })
wss.on('connection', setupWSConnection)

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' })
  res.end('okay')
})
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, ws => wss.emit('connection', ws, req))
})
server.on('error', err => {
  process.send({ ev: 'error', message: `server: ${err.message}` })
  process.exit(1)
})
server.listen(0, '127.0.0.1', () => {
  process.send({ ev: 'listening', port: server.address().port })
})

// Go when the parent goes (or tells us to).
process.on('disconnect', () => process.exit(0))
process.on('message', msg => { if (msg.cmd === 'exit') process.exit(0) })
