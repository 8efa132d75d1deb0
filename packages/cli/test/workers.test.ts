/**
 * `tcpserver echo --workers 2`: both workers serve, a killed worker is restarted, SIGUSR2
 * and SIGTERM print one aggregated stats line, and the service never serves more than
 * --max-clients in total.
 */
import type { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, echoThrough, killAll, payload, readToEnd, runCli, sha256, spawnCli, withTimeout, type Child, STATS } from './helpers.js';

const WORKER_LISTENING = /^worker (\d+) pid (\d+) listening, up to (\d+) of --max-clients (\d+)$/;

afterEach(killAll);

async function startWorkers(args: string[]): Promise<{ server: Child; port: number }> {
  const server = spawnCli(['echo', '--port', '0', '--workers', '2', ...args]);
  const port = await server.listeningPort();
  return { server, port };
}

function statsLines(server: Child): number[][] {
  return server.lines.filter((line) => STATS.test(line)).map((line) => STATS.exec(line)!.slice(1).map(Number));
}

/** Worker number → pid, from the `worker W pid P listening` lines so far. */
function workerPids(server: Child): Map<number, number[]> {
  const pids = new Map<number, number[]>();
  for (const line of server.lines) {
    const m = WORKER_LISTENING.exec(line);
    if (m) pids.set(Number(m[1]), [...(pids.get(Number(m[1])) ?? []), Number(m[2])]);
  }
  return pids;
}

describe('tcpserver echo --workers', () => {
  it('says how connections reach the workers first; both workers serve; SIGTERM prints one aggregated line', async () => {
    const { server, port } = await startWorkers([]);
    expect(server.lines[0]).toMatch(/^workers 2: (reusePort|node:cluster round-robin) \(/);
    const pids = workerPids(server);
    expect([...pids.keys()].sort()).toEqual([1, 2]);
    expect(new Set([...pids.values()].flat()).size).toBe(2);
    expect(pids.get(1)).not.toContain(server.process.pid);
    // Sequential clients: round-robin alternates; reusePort spreads them by hash. 20 are enough for both.
    const sizes = Array.from({ length: 20 }, (_, i) => 1000 + i * 517);
    for (const [i, size] of sizes.entries()) {
      const data = payload(size, i + 1);
      const echoed = await echoThrough(port, data, i + 1);
      expect(sha256(echoed.data)).toBe(sha256(data));
    }
    const served = new Set<string>();
    for (let i = 0; i < sizes.length; i++) served.add((await server.waitForLine(/^client connect:(\d+)\.\d+ /))[1]!);
    expect([...served].sort()).toEqual(['1', '2']);
    server.signal('SIGTERM');
    expect(await server.waitForExit(20_000)).toEqual({ code: 0, signal: null });
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(statsLines(server)).toEqual([[20, 0, 20, total, total]]);
    expect(server.lines.at(-1)).toMatch(STATS);
    // Each worker's own line adds up to the aggregate.
    const perWorker = server.lines.filter((l) => /^worker \d pid \d+ stopped: stats /.test(l));
    expect(perWorker).toHaveLength(2);
  });

  it('restarts a killed worker (logged), keeps serving, and SIGUSR2 prints the aggregate without stopping', async () => {
    const again = await startWorkers([]);
    const before = workerPids(again.server);
    const victim = before.get(2)![0]!;
    process.kill(victim, 'SIGKILL');
    await again.server.waitForErrorLine(new RegExp(`^warning: worker 2 pid ${victim} died \\(SIGKILL\\); its counters are lost; starting a new one$`));
    const m = await again.server.waitForLine(new RegExp(`^worker 2 pid (?!${victim} )(\\d+) listening, up to \\d+ of --max-clients \\d+$`));
    expect(Number(m[1])).not.toBe(victim);
    for (let i = 0; i < 6; i++) {
      const echoed = await echoThrough(again.port, Buffer.from(`after restart ${i}`), i);
      expect(echoed.data.toString()).toBe(`after restart ${i}`);
    }
    again.server.signal('SIGUSR2');
    const usr2 = await again.server.waitForLine(STATS);
    expect(usr2.slice(1, 4).map(Number)).toEqual([6, 0, 6]);
    expect(again.server.process.exitCode).toBeNull(); // still running
    again.server.signal('SIGINT');
    expect(await again.server.waitForExit(20_000)).toEqual({ code: 0, signal: null });
    expect(STATS.exec(again.server.lines.at(-1)!)!.slice(1, 4).map(Number)).toEqual([6, 0, 6]);
  });

  it('--max-clients 3 is for the whole service: split 2 + 1, and a 4th concurrent client is refused', async () => {
    const { server, port } = await startWorkers(['--max-clients', '3', '--reject-message', 'full']);
    const shares = server.lines.map((l) => WORKER_LISTENING.exec(l)).filter((m) => m !== null).map((m) => [Number(m[1]), Number(m[3]), Number(m[4])]);
    expect(shares.sort()).toEqual([[1, 2, 3], [2, 1, 3]]);
    // Hold 8 connections open at once: at most 3 may be served, every other one is refused.
    const sockets: Socket[] = [];
    for (let i = 0; i < 8; i++) sockets.push(await connect(port));
    const outcomes = await Promise.all(sockets.map(async (socket, i) => {
      const ended = readToEnd(socket);
      socket.write(`client ${i}\n`);
      // A served client echoes its line; a refused one gets "full\n" and the close.
      const first = await withTimeout(new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString()))),
        10_000, `an answer to client ${i}`);
      return { first, ended };
    }));
    const served = outcomes.filter((o) => o.first.startsWith('client'));
    const refused = outcomes.filter((o) => o.first === 'full\n');
    expect(served.length + refused.length).toBe(8);
    expect(served.length).toBeLessThanOrEqual(3);
    expect(served.length).toBeGreaterThanOrEqual(1);
    for (const socket of sockets) socket.end();
    await Promise.all(outcomes.map((o) => o.ended));
    server.signal('SIGTERM');
    expect(await server.waitForExit(20_000)).toEqual({ code: 0, signal: null });
    const [opened, rejected] = STATS.exec(server.lines.at(-1)!)!.slice(1).map(Number);
    expect(opened).toBe(served.length);
    expect(rejected).toBe(refused.length);
  });

  it('--log-format json: the first line says the balancing as fields', async () => {
    const server = spawnCli(['echo', '--port', '0', '--workers', '2', '--log-format', 'json']);
    await server.waitForLine(/"msg":"listening"/);
    expect(JSON.parse(server.lines[0]!)).toMatchObject({ msg: 'workers', workers: 2, balancing: expect.stringMatching(/^(reusePort|round-robin)$/) });
    server.signal('SIGTERM');
    expect(await server.waitForExit(20_000)).toEqual({ code: 0, signal: null });
    expect(JSON.parse(server.lines.at(-1)!)).toEqual(expect.objectContaining({ msg: 'stats', opened: 0, rejected: 0, closed: 0 }));
  });

  it('--workers auto starts one worker per CPU (os.availableParallelism)', async () => {
    const cpus = availableParallelism();
    const server = spawnCli(['echo', '--port', '0', '--workers', 'auto']);
    await server.listeningPort();
    expect(server.lines[0]).toMatch(new RegExp(`^workers ${cpus}: `));
    expect([...workerPids(server).keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: cpus }, (_, i) => i + 1));
    server.signal('SIGTERM');
    expect(await server.waitForExit(20_000)).toEqual({ code: 0, signal: null });
  });

  it.each([
    [['--workers', '0'], 'tcpserver: --workers must be auto or an integer from 1 to 256 (got "0")'],
    [['--workers', 'many'], 'tcpserver: --workers must be auto or an integer from 1 to 256 (got "many")'],
    [['--workers', '4', '--max-clients', '3'],
      'tcpserver: --workers must be at most --max-clients (3): each worker serves at least one client (got "4")'],
    [['--workers', '2', '--unix', '/tmp/x.sock'], 'tcpserver: --workers serves a TCP port: it cannot be combined with --unix'],
  ])('%j is bad usage (exit 2)', async (args, message) => {
    expect(await runCli(['echo', ...args])).toEqual({ code: 2, signal: null, stdout: '', stderr: `${message}\n` });
  });
});
