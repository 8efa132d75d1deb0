// Packaging: what npm would publish must work on its own. Packs @tcpserv/core-wasm,
// @tcpserv/node and @tcpserv/cli, installs the tarballs into a folder outside the workspace
// and runs an echo through the installed `tcpserver` bin. Catches a file missing from a
// package's "files" (the .wasm), a wrong "exports" path, a bin that needs the workspace.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, expect, it } from 'vitest';
import { CLI_VERSION, echoThrough, killAll, payload, sha256, spawnNode } from './helpers.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const PACKAGES = ['packages/core-wasm', 'packages/node-binding', 'packages/cli'];

/** The environment without what `npm run` sets for the workspace (it would point npm back at it). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_(config_local_prefix|package_|lifecycle_|command)/.test(key) || key === 'INIT_CWD') delete env[key];
  }
  return env;
}

const dir = mkdtempSync(join(tmpdir(), 'tcpserv-pack-'));
afterEach(killAll);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('npm-packed packages install outside the workspace and the tcpserver bin echoes', { timeout: 180_000 }, async () => {
  const env = cleanEnv();
  const tarballs = join(dir, 'tarballs');
  mkdirSync(tarballs);
  await run('npm', ['pack', '--pack-destination', tarballs, ...PACKAGES.flatMap((p) => ['-w', p])], { cwd: ROOT, env, timeout: 60_000 });
  const files = readdirSync(tarballs).filter((f) => f.endsWith('.tgz')).sort();
  expect(files).toEqual([`tcpserv-cli-${CLI_VERSION}.tgz`, 'tcpserv-core-wasm-0.1.0.tgz', 'tcpserv-node-0.1.0.tgz']);

  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{ "name": "pack-test", "private": true }\n');
  // The tarballs depend only on each other: no registry needed (--prefer-offline in case npm asks).
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'error',
    ...files.map((f) => join(tarballs, f))], { cwd: app, env, timeout: 120_000 });

  const bin = join(app, 'node_modules', '.bin', 'tcpserver');
  const version = await run(bin, ['--version'], { cwd: app, env, timeout: 20_000 });
  expect(version.stdout).toBe(`${CLI_VERSION}\n`);

  const server = spawnNode([bin, 'echo', '--port', '0']);
  const port = await server.listeningPort();
  const data = payload(100_000, 77);
  const echoed = await echoThrough(port, data, 77);
  expect(sha256(echoed.data)).toBe(sha256(data));
  server.signal('SIGTERM');
  expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
  expect(server.lines.at(-1)).toBe('stats opened=1 rejected=0 closed=1 bytesIn=100000 bytesOut=100000');
});
