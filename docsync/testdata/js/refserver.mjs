// refserver starts the reference y-websocket server (@y/websocket-server, its own bundled ws 6),
// wired exactly like the package's bin/server.js, but on a port of our choice, so that the
// integration scenarios and cmd/tandem-load can run against it for comparison.
//
//   node refserver.mjs [--port 0] [--host 127.0.0.1]
//
// It prints one JSON line {"url": "ws://host:port", "pid": N} once listening. The reference
// server names the document after the request path (no prefix): clients use the printed URL as
// their serverUrl, Tandem clients use ws://host:port/sync.
import http from 'node:http'
import { createRequire } from 'node:module'
import { setupWSConnection } from '@y/websocket-server/utils'

// Resolve 'ws' from the server package, so that the reference server keeps its own ws version.
const require = createRequire(import.meta.resolve('@y/websocket-server/utils'))
const WebSocket = require('ws')

const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf('--' + name)
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def
}
const host = opt('host', '127.0.0.1')
const port = Number(opt('port', '0'))

const wss = new WebSocket.Server({ noServer: true })
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' })
  res.end('okay')
})
wss.on('connection', setupWSConnection)
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
})
server.listen(port, host, () => {
  const a = server.address()
  process.stdout.write(JSON.stringify({ url: `ws://${host}:${a.port}`, pid: process.pid }) + '\n')
})
const stop = () => { server.close(); process.exit(0) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
