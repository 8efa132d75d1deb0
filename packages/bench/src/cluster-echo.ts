// B for the multi-core cases: node:cluster with N workers, each the plain `socket.pipe(socket)`
// echo of net-echo.ts. The primary prints `listening on HOST:PORT` once every worker
// listens; SIGTERM/SIGINT stop the workers, then the primary exits 0.
//
//   node dist/cluster-echo.js --host 127.0.0.1 --port 5000 --workers 2
import cluster from 'node:cluster';
import net from 'node:net';
import { listenAndAnnounce, peerOptions } from './peer-common.js';

const { host, port, workers } = peerOptions();
if (cluster.isPrimary) {
  // Scheduling stays at node:cluster's default for the platform (round-robin on Linux).
  let listening = 0;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('listening', (_worker, address) => {
    if (++listening === workers) process.stdout.write(`listening on ${address.address ?? host}:${address.port}\n`);
  });
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      const live = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
      let left = live.length;
      if (left === 0) process.exit(0);
      for (const w of live) {
        w.once('exit', () => {
          if (--left === 0) process.exit(0);
        });
        w.process.kill('SIGTERM');
      }
    });
  }
} else {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  listenAndAnnounce(server, host, port, false);
}
