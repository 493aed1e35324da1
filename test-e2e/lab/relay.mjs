#!/usr/bin/env node
// Byte relay used by the netns lab so processes inside node namespaces reach the API server at
// the same https://127.0.0.1:<port> (unix sockets cross network namespaces, TCP loopback does not).
//   relay.mjs unix2tcp <socket> <port>   (root netns: socket -> 127.0.0.1:port)
//   relay.mjs tcp2unix <port> <socket>   (node netns: 127.0.0.1:port -> socket)
import net from 'node:net';
import { rmSync } from 'node:fs';

const [mode, a, b] = process.argv.slice(2);
const pipe = (x, y) => {
  x.pipe(y);
  y.pipe(x);
  const end = () => {
    x.destroy();
    y.destroy();
  };
  x.on('error', end).on('close', end);
  y.on('error', end).on('close', end);
};
let server;
if (mode === 'unix2tcp') {
  rmSync(a, { force: true });
  server = net.createServer((c) => pipe(c, net.connect(Number(b), '127.0.0.1'))).listen(a);
} else if (mode === 'tcp2unix') {
  server = net.createServer((c) => pipe(c, net.connect(b))).listen(Number(a), '127.0.0.1');
} else {
  process.stderr.write('usage: relay.mjs unix2tcp <socket> <port> | tcp2unix <port> <socket>\n');
  process.exit(2);
}
server.on('listening', () => process.stdout.write('ready\n'));
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
