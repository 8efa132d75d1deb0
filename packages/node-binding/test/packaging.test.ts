// What npm would publish: the file lists of the packed tarballs (`npm pack --dry-run`), so a
// build artefact that must not ship (tsbuildinfo), a source map without its source, or a
// missing runtime file (the .wasm) fails here rather than for a user. The CLI's packaging
// test installs the tarballs and runs them.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const PUBLISHED = ['packages/core-wasm', 'packages/node-binding', 'packages/cli'];

interface PackResult {
  name: string;
  files: { path: string }[];
}

async function packList(workspace: string): Promise<string[]> {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '-w', workspace], { cwd: ROOT, timeout: 60_000 });
  const [result] = JSON.parse(stdout) as PackResult[];
  return result!.files.map((f) => f.path).sort();
}

describe.each(PUBLISHED)('the %s tarball', (workspace) => {
  it('ships its README, licence and package.json, no build state, and every source map with its source', { timeout: 60_000 }, async () => {
    const files = await packList(workspace);
    expect(files).toContain('README.md');
    expect(files).toContain('LICENSE');
    expect(files).toContain('package.json');
    expect(files.filter((f) => f.endsWith('.tsbuildinfo'))).toEqual([]);
    expect(files.filter((f) => f.includes('test/'))).toEqual([]);
    const maps = files.filter((f) => f.endsWith('.js.map'));
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(ROOT, workspace, map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const shipped = posix.normalize(posix.join(posix.dirname(map), source));
        expect(files, `${map} points at ${shipped}`).toContain(shipped);
      }
    }
  });
});

it('the core tarball carries the compiled WebAssembly, not its text dumps', { timeout: 60_000 }, async () => {
  const files = await packList('packages/core-wasm');
  expect(files).toContain('dist/core.wasm');
  expect(files.filter((f) => f.endsWith('.wat'))).toEqual([]);
});
