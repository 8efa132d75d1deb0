// The shared end-to-end helpers (@tcpserv/test-support): spawn and wait for lines,
// the Python client, node:net clients. Plus how to start an example.
import { fileURLToPath } from 'node:url';
import { spawnNode, type Child } from '@tcpserv/test-support';

export * from '@tcpserv/test-support';

/** Starts the built example `name` (dist/NAME.js) with ARGS (default: 127.0.0.1 and port 0). */
export function spawnExample(name: string, args: readonly string[] = ['127.0.0.1', '0'], env?: NodeJS.ProcessEnv): Child {
  return spawnNode([fileURLToPath(new URL(`../dist/${name}.js`, import.meta.url)), ...args], env);
}
