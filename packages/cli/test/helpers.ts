// The CLI's own end-to-end helpers: where the built `tcpserver` is and how to run it. The
// generic ones (children, Python peer, loopback clients) come from @tcpserv/test-support.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { Child, spawnNode, type Exit } from '@tcpserv/test-support';

export * from '@tcpserv/test-support';

export const CLI_BIN = fileURLToPath(new URL('../bin/tcpserver.js', import.meta.url));
export const CLI_VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

/** Starts the built `tcpserver` with ARGS. */
export function spawnCli(args: readonly string[], env?: NodeJS.ProcessEnv): Child {
  return spawnNode([CLI_BIN, ...args], env);
}

/** Runs the built `tcpserver` to its end. */
export async function runCli(args: readonly string[], ms = 20_000): Promise<Exit & { stdout: string; stderr: string }> {
  const child = spawnCli(args);
  const exit = await child.waitForExit(ms);
  return { ...exit, stdout: child.stdout, stderr: child.stderr };
}

/** The stats line `tcpserver echo` prints at its stop (and on SIGUSR2). */
export const STATS = /^stats opened=(\d+) rejected=(\d+) closed=(\d+) bytesIn=(\d+) bytesOut=(\d+)$/;

/** Starts `tcpserver echo --port 0 ARGS…` and resolves once it listens. */
export async function startEcho(args: readonly string[] = []): Promise<{ server: Child; port: number }> {
  const server = spawnCli(['echo', '--port', '0', ...args]);
  return { server, port: await server.listeningPort() };
}

/** Stops an echo server with `signal`; after a clean exit, its final stats line's counters. */
export async function stopEcho(server: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<number[]> {
  server.signal(signal);
  expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
  const last = server.lines.at(-1) ?? '';
  expect(last).toMatch(STATS);
  return STATS.exec(last)!.slice(1).map(Number);
}

/** The CLI tests' own Python peer (test/python/peer.py): frames, AF_UNIX, PROXY headers. */
export const CLI_PEER = fileURLToPath(new URL('./python/peer.py', import.meta.url));

/** Runs test/python/peer.py MODE ARGS… and parses the JSON it prints. */
export async function runPeer<T>(args: readonly (string | number)[], ms = 40_000): Promise<T> {
  const child = new Child('python3', [CLI_PEER, ...args.map(String)]);
  const { code } = await child.waitForExit(ms);
  if (code !== 0) throw new Error(`peer.py ${args.join(' ')} exited ${code}: ${child.stderr}`);
  return JSON.parse(child.stdout) as T;
}

/** Whether `command` can be run here (it is on PATH). */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Skips loudly: a test that needs a peer we did not write runs only where it is installed,
 * and says so on stderr when it is not (never a silent pass).
 */
export function requireCommand(command: string, debianPackage = command): boolean {
  const found = hasCommand(command);
  if (!found) process.stderr.write(`\n*** SKIPPED: ${command} is not installed (Debian: apt-get install -y ${debianPackage}) ***\n\n`);
  return found;
}

/** A fresh temporary directory; `removeTempDirs()` in afterAll deletes every one made. */
const tempDirs: string[] = [];
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tcpserver-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
