// The CLI's own end-to-end helpers: where the built `tcpserver` is and how to run it. The
// generic ones (children, Python peer, loopback clients) come from @tcpserv/test-support.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnNode, type Child, type Exit } from '@tcpserv/test-support';

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
