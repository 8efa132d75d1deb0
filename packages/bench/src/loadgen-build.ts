// Builds the C load generator (src/loadgen.c) with the machine's cc, with TLS (OpenSSL's
// libssl) when its headers are there or can be installed from Debian (`libssl-dev`), else
// without TLS — then the TLS case is skipped, loudly.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

/** The built load generator and whether it can speak TLS. */
export interface LoadgenBuild {
  bin: string;
  tls: boolean;
  /** Why TLS is missing, when it is. */
  tlsMissing?: string;
  /** Whether cc ran this time. */
  built: boolean;
}

const say = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};

function compile(source: string, bin: string, tls: boolean): { ok: boolean; output: string } {
  const args = ['-O2', '-Wall', '-Wextra', ...(tls ? ['-DLOADGEN_TLS'] : []), '-o', bin, source, ...(tls ? ['-lssl', '-lcrypto'] : [])];
  const r = spawnSync('cc', args, { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
}

/** Whether a built binary has TLS: its usage text says "[not in this build]" otherwise. */
function hasTls(bin: string): boolean {
  const r = spawnSync(bin, [], { encoding: 'utf8' });
  return !`${r.stderr}`.includes('[not in this build]');
}

/** apt-get install -y libssl-dev (after one apt-get update if the first try fails). */
function installLibsslDev(): string | undefined {
  if (spawnSync('bash', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status !== 0) return 'apt-get is not available';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root, so apt-get cannot install libssl-dev';
  say('OpenSSL headers are missing: apt-get install -y libssl-dev …');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', 'libssl-dev'], { encoding: 'utf8', env, timeout: 300_000 });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { encoding: 'utf8', env, timeout: 300_000 });
    r = spawnSync('apt-get', ['install', '-y', 'libssl-dev'], { encoding: 'utf8', env, timeout: 300_000 });
  }
  return r.status === 0 ? undefined : `apt-get install -y libssl-dev failed: ${`${r.stderr}`.trim().split('\n').pop()}`;
}

/**
 * Builds `bin` from `source` when it is missing, older than its source, or lacks TLS
 * that could now be had. Throws when even the build without TLS fails.
 */
export function buildLoadgen(source: string, bin: string): LoadgenBuild {
  let fresh = false;
  try {
    fresh = statSync(bin).mtimeMs >= statSync(source).mtimeMs;
  } catch {
    // not built yet
  }
  const headers = existsSync('/usr/include/openssl/ssl.h');
  if (fresh && (hasTls(bin) || !headers)) {
    const tls = hasTls(bin);
    return { bin, tls, built: false, ...(tls ? {} : { tlsMissing: 'the load generator was built without OpenSSL headers' }) };
  }
  let withTls = compile(source, bin, true);
  let tlsMissing: string | undefined;
  if (!withTls.ok) {
    tlsMissing = installLibsslDev();
    if (tlsMissing === undefined) withTls = compile(source, bin, true);
    if (!withTls.ok) tlsMissing ??= `cc with -lssl failed: ${withTls.output.split('\n').slice(-3).join(' ')}`;
  }
  if (withTls.ok) return { bin, tls: true, built: true };
  const plain = compile(source, bin, false);
  if (!plain.ok) throw new Error(`cc failed to build ${bin}:\n${plain.output}`);
  return { bin, tls: false, built: true, tlsMissing };
}
