// The Node binaries the servers run on: the machine's own, a path (--node PATH), or a
// version fetched from npm's `node` package (--node-version 24 → `npx -y node@24`).
import { spawnSync } from 'node:child_process';
import type { NodeRuntime } from './types.js';

function versionOf(path: string): string | undefined {
  const r = spawnSync(path, ['-p', 'process.version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * Resolves one --node / --node-version value. 'system' is the Node running the bench; a
 * bare version goes through `npx -y node@V`, which downloads a real Node binary the first
 * time (≈ 10–20 s) and reuses it after; the servers are then started on that binary's path
 * directly, so the PID the bench measures is Node's own, not npx's.
 */
export function resolveNode(spec: string, kind: 'path' | 'version'): NodeRuntime {
  if (kind === 'version' && spec === 'system') return { label: 'system', path: process.execPath, version: process.version };
  if (kind === 'path') {
    const version = versionOf(spec);
    if (!version) throw new Error(`--node ${spec}: not a runnable Node binary`);
    return { label: spec, path: spec, version };
  }
  if (!/^\d+(\.\d+){0,2}$/.test(spec)) throw new Error(`--node-version must be "system" or a version such as 24 or 22.12 (got "${spec}")`);
  process.stderr.write(`bench: resolving Node ${spec} with npx -y node@${spec} …\n`);
  const r = spawnSync('npx', ['-y', `node@${spec}`, '-p', 'process.execPath'], { encoding: 'utf8', timeout: 600_000 });
  const path = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !path) throw new Error(`--node-version ${spec}: npx -y node@${spec} failed: ${`${r.stderr}`.trim().split('\n').pop()}`);
  const version = versionOf(path);
  if (!version) throw new Error(`--node-version ${spec}: ${path} does not run`);
  return { label: spec, path, version };
}
