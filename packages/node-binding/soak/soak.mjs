#!/usr/bin/env node
// Soak test for @tcpserv/node (not part of CI; see soak/README.md).
//
//   npm run soak -w @tcpserv/node [-- --duration 60 --clients 50 --sample 1]
//
// Runs an echo server (accept + recv/send, the seed's sample) from dist/ in a child process and
// drives it from this process with N loopback clients that randomly connect, echo, half-close,
// reset and disconnect, for the given duration. Samples the child's RSS and open descriptors
// from /proc, then reports RSS growth per minute (least-squares line over the samples after a
// warm-up), descriptors at the end against the idle baseline, echo mismatches and the server's
// counters. Exits non-zero if an echo came back wrong or something was left behind.
import { spawn } from 'node:child_process';
import { createHash, randomBytes as cryptoRandomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

const DIST = new URL('../dist/index.js', import.meta.url);

const closed = (socket) => new Promise((resolve) => (socket.closed ? resolve() : socket.once('close', resolve)));
const hash = (bytes) => createHash('sha256').update(bytes).digest('hex');

if (process.argv.includes('--server')) {
  await runServer();
} else {
  await runDriver();
}

// ── The server (child process) ─────────────────────────────────────────────────────────────

async function runServer() {
  const { createServer, ClientClosedError, ServerDestroyedError } = await import(DIST.href);
  const server = await createServer({ host: '127.0.0.1', port: 0, maxClients: 1024, name: 'soak' });
  const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

  const echo = async (client) => {
    const buf = Buffer.alloc(16384);
    try {
      for (let n = await client.recv(buf); n !== null; n = await client.recv(buf)) await client.send(buf.subarray(0, n));
    } catch (error) {
      if (!(error instanceof ClientClosedError)) process.stderr.write(`echo: ${error?.stack ?? error}\n`);
    } finally {
      void client.close();
    }
  };
  void (async () => {
    for (;;) {
      let client;
      try {
        client = await server.accept();
      } catch (error) {
        if (!(error instanceof ServerDestroyedError)) process.stderr.write(`accept: ${error?.stack ?? error}\n`);
        return;
      }
      if (client) void echo(client);
    }
  })();

  process.stdin.setEncoding('utf8');
  let input = '';
  process.stdin.on('data', async (chunk) => {
    input += chunk;
    for (let at = input.indexOf('\n'); at >= 0; at = input.indexOf('\n')) {
      const cmd = input.slice(0, at).trim();
      input = input.slice(at + 1);
      if (cmd === 'stats') out({ stats: server.stats(), memory: process.memoryUsage() });
      if (cmd === 'gc') {
        globalThis.gc?.();
        out({ gc: typeof globalThis.gc === 'function' });
      }
      if (cmd === 'stop') {
        await server.destroy();
        out({ stopped: true, stats: server.stats() });
        process.stdin.destroy();
      }
    }
  });
  out({ ready: true, port: server.address().port, pid: process.pid });
}

// ── The driver (this process) ──────────────────────────────────────────────────────────────

async function runDriver() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: process.env.SOAK_SECONDS ?? '60' },
      clients: { type: 'string', default: process.env.SOAK_CLIENTS ?? '50' },
      sample: { type: 'string', default: '1' },
    },
  });
  const durationMs = Number(values.duration) * 1000;
  const clientCount = Number(values.clients);
  const sampleMs = Number(values.sample) * 1000;
  if (!(durationMs > 0 && clientCount > 0 && sampleMs > 0)) throw new Error('--duration, --clients and --sample must be positive numbers');
  if (!existsSync(DIST)) {
    console.error(`${DIST.pathname} is missing: build first (npx nx run node-binding:build)`);
    process.exit(2);
  }

  const child = spawn(process.execPath, ['--expose-gc', new URL(import.meta.url).pathname, '--server'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const replies = [];
  let waiting;
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (text) => {
    buffered += text;
    for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
      replies.push(JSON.parse(buffered.slice(0, at)));
      buffered = buffered.slice(at + 1);
      waiting?.();
    }
  });
  const next = async () => {
    while (replies.length === 0) await new Promise((resolve) => (waiting = resolve));
    return replies.shift();
  };
  const ask = (cmd) => {
    child.stdin.write(`${cmd}\n`);
    return next();
  };
  const { port, pid } = await next();
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
  const fds = () => readdirSync(`/proc/${pid}/fd`).length;
  const baselineFds = fds();

  const counts = { connects: 0, echoes: 0, halfCloses: 0, resets: 0, quickCloses: 0, bytes: 0, mismatches: 0, errors: 0 };
  const started = Date.now();
  const deadline = started + durationMs;
  const samples = [];
  const sampler = setInterval(() => samples.push({ t: (Date.now() - started) / 1000, rss: rss(), fds: fds() }), sampleMs);
  samples.push({ t: 0, rss: rss(), fds: baselineFds });

  const workers = Array.from({ length: clientCount }, (_, i) => worker(i));
  await Promise.all(workers);
  clearInterval(sampler);

  // Let the server see the last disconnects, then measure what is left.
  let stats;
  for (let i = 0; i < 100; i++) {
    ({ stats } = await ask('stats'));
    if (stats.live === 0 && stats.usedSlots === 0 && fds() <= baselineFds) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await ask('gc');
  const endFds = fds();
  const endRss = rss();
  const { stats: finalStats } = await ask('stop');
  await new Promise((resolve) => child.once('exit', resolve));

  const warm = samples.filter((s) => s.t >= Math.min(10, durationMs / 1000 / 5));
  const slope = (points) => {
    const n = points.length;
    if (n < 2) return NaN;
    const mx = points.reduce((a, p) => a + p.t, 0) / n;
    const my = points.reduce((a, p) => a + p.rss, 0) / n;
    const num = points.reduce((a, p) => a + (p.t - mx) * (p.rss - my), 0);
    const den = points.reduce((a, p) => a + (p.t - mx) ** 2, 0);
    return den === 0 ? 0 : num / den; // bytes per second
  };
  const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
  const perMinute = (bytesPerSecond) => `${((bytesPerSecond * 60) / 2 ** 20).toFixed(3)} MiB/min`;
  const report = {
    duration: `${((Date.now() - started) / 1000).toFixed(1)} s`,
    clients: clientCount,
    operations: counts,
    rss: {
      start: mib(samples[0].rss),
      max: mib(Math.max(...samples.map((s) => s.rss))),
      end: mib(endRss),
      growthAllSamples: perMinute(slope(samples)),
      growthAfterWarmup: perMinute(slope(warm)),
      samples: samples.length,
    },
    descriptors: { baseline: baselineFds, maxDuringRun: Math.max(...samples.map((s) => s.fds)), atEnd: endFds },
    server: { ...stats, afterStop: { live: finalStats.live, usedSlots: finalStats.usedSlots } },
  };
  console.log(JSON.stringify(report, null, 2));
  const ok = counts.mismatches === 0 && endFds <= baselineFds && stats.live === 0 && stats.usedSlots === 0;
  console.log(ok ? 'soak: OK' : 'soak: FAILED');
  process.exitCode = ok ? 0 : 1;

  async function worker(id) {
    let x = (id + 1) * 2654435761 >>> 0 || 1;
    const rand = (n) => {
      // xorshift32: cheap, and every bit is usable (unlike a small LCG's low bits).
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    while (Date.now() < deadline) {
      const action = rand(10);
      try {
        if (action < 5) await echoSession(rand);
        else if (action < 7) await halfCloseSession(rand);
        else if (action < 9) await resetSession(rand);
        else await quickClose();
      } catch (error) {
        if (counts.errors++ < 3) console.error(`client ${id}: ${error?.stack ?? error}`);
      }
    }
  }

  function open() {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        counts.connects++;
        socket.off('error', reject);
        socket.on('error', () => {});
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }

  function readN(socket, n) {
    return new Promise((resolve, reject) => {
      const chunks = [];
      let have = 0;
      const timer = setTimeout(() => finish(new Error('echo timed out')), 20_000);
      const onData = (chunk) => {
        chunks.push(chunk);
        have += chunk.length;
        if (have >= n) finish();
      };
      const onClose = () => finish(new Error('closed early'));
      function finish(error) {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('close', onClose);
        if (error) reject(error);
        else resolve(Buffer.concat(chunks));
      }
      socket.on('data', onData);
      socket.once('close', onClose);
    });
  }


  async function echoSession(rand) {
    const socket = await open();
    const rounds = 1 + rand(5);
    for (let r = 0; r < rounds; r++) {
      const payload = cryptoRandomBytes(1 + rand(65536));
      const reply = readN(socket, payload.length);
      for (let at = 0; at < payload.length;) {
        const size = 1 + rand(16384);
        socket.write(payload.subarray(at, at + size));
        at += size;
      }
      const got = await reply;
      if (hash(got) !== hash(payload)) counts.mismatches++;
      counts.bytes += payload.length;
      counts.echoes++;
    }
    socket.end();
    await closed(socket);
  }

  async function halfCloseSession(rand) {
    const socket = await open();
    const payload = cryptoRandomBytes(rand(200_000));
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    const ended = new Promise((resolve) => socket.once('end', resolve));
    socket.end(payload);
    await Promise.race([ended, closed(socket)]);
    await closed(socket);
    if (hash(Buffer.concat(chunks)) !== hash(payload)) counts.mismatches++;
    counts.bytes += payload.length;
    counts.halfCloses++;
  }

  async function resetSession(rand) {
    const socket = await open();
    socket.write(cryptoRandomBytes(rand(100_000)));
    if (rand(2)) await new Promise((resolve) => setTimeout(resolve, rand(20)));
    socket.resetAndDestroy();
    await closed(socket);
    counts.resets++;
  }

  async function quickClose() {
    const socket = await open();
    socket.destroy();
    await closed(socket);
    counts.quickCloses++;
  }
}
