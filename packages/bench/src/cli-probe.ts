// What the `tcpserver` CLI under test can do: which of the flags the cases need its
// `echo --help` lists, and which read path its server uses (the `read path: …` debug line).
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import type { CliFeature } from './cases.js';
import { ServerProcess, isListening } from './runner.js';

const FEATURES: readonly CliFeature[] = ['--framing', '--tls-cert', '--workers'];

/** The flags among --framing, --tls-cert, --workers that `NODE CLI echo --help` lists. */
export function cliFeatures(node: string, cliBin: string): { features: CliFeature[]; error?: string } {
  const r = spawnSync(node, [cliBin, 'echo', '--help'], { encoding: 'utf8', timeout: 30_000 });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) return { features: [], error: `tcpserver echo --help exited ${r.status}: ${text.trim().split('\n').pop()}` };
  return { features: FEATURES.filter((f) => new RegExp(`(^|\\s)${f}(\\s|=|$)`, 'm').test(text)) };
}

/** The text after `read path:` in any of the server's lines, or null. */
export function readPathIn(lines: readonly string[]): string | null {
  for (const line of lines) {
    const m = /read path:\s*([^"}\n]+)/.exec(line);
    if (m) return m[1].trim();
  }
  return null;
}

/**
 * Starts the server once at --log-level debug, echoes one line through it (in case the
 * path is chosen per connection), stops it, and returns what its `read path:` line says.
 */
export async function probeReadPath(cmd: string, env: NodeJS.ProcessEnv, nofile: number): Promise<string | null> {
  const server = new ServerProcess(cmd, { cpu: null, nofile, tag: 'read-path probe', env });
  try {
    if (!(await server.waitForLine(isListening, 15_000))) return readPathIn([...server.lines, ...server.errLines]);
    const port = Number(/(\d+)\D*$/.exec(server.lines.find(isListening) ?? '')?.[1]);
    if (port > 0) {
      await new Promise<void>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port });
        const done = (): void => {
          clearTimeout(timer);
          socket.destroy();
          resolve();
        };
        const timer = setTimeout(done, 1000);
        socket.on('error', done);
        socket.on('data', done);
        socket.on('connect', () => socket.write('read path probe\n'));
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await server.stop(5000);
  }
  return readPathIn([...server.lines, ...server.errLines]);
}
