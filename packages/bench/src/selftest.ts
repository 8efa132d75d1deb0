// Self-test of the bench's checks (not part of `test`: it takes ~40 s of real sockets).
// Runs the bench against faulty-echo.ts as A, once per fault, and expects:
//
//   none     every run passes          corrupt  DATA INTEGRITY failure
//   drop     a loadgen failure          extra    a loadgen failure (more bytes than sent)
//   stats    BYTE ACCOUNTING failure
//
// in the ping-pong case pp100, and again (none, corrupt, stats) in the pipelined line
// case line100p16, so the checks are proven with 16 messages in flight too.
//
//   node dist/selftest.js            (npx nx run bench:selftest)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const EXPECT: [string, string, RegExp | null][] = [
  ['pp100', 'none', null],
  ['pp100', 'corrupt', /DATA INTEGRITY/],
  ['pp100', 'drop', /loadgen failed/],
  ['pp100', 'extra', /loadgen failed .*more bytes/],
  ['pp100', 'stats', /BYTE ACCOUNTING/],
  ['line100p16', 'none', null],
  ['line100p16', 'corrupt', /DATA INTEGRITY/],
  ['line100p16', 'stats', /BYTE ACCOUNTING/],
];

const out = mkdtempSync(join(tmpdir(), 'tcpserv-bench-selftest-'));
let bad = 0;
for (const [name, fault, expected] of EXPECT) {
  const a = `${process.execPath} ${join(HERE, 'faulty-echo.js')} --fault ${fault} --host {host} --port {port}`;
  const r = spawnSync(process.execPath, [
    join(HERE, 'bench.js'), '--cases', name, '--reps', '1', '--duration', '0.5', '--warmup', '0.2',
    '--a', a, '--a-name', `faulty-echo ${fault}`, '--out', out,
  ], { encoding: 'utf8' });
  const text = `${r.stdout}\n${r.stderr}`;
  const failures = text.split('\n').filter((l) => l.includes(`!! ${name} A`));
  const ok = expected === null
    ? r.status === 0 && failures.length === 0
    : r.status === 1 && failures.some((l) => expected.test(l));
  if (!ok) bad++;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name.padEnd(10)} fault=${fault.padEnd(7)} exit ${r.status}; `
    + `${failures.length ? failures.map((l) => l.replace(/^\s*!! /, '')).join(' | ') : 'no failures reported'}\n`);
  if (!ok) process.stdout.write(text.split('\n').slice(-15).join('\n'));
}
rmSync(out, { recursive: true, force: true });
process.stdout.write(bad ? `selftest: ${bad} check(s) did not behave as expected\n` : 'selftest: every check fires when it should\n');
process.exitCode = bad ? 1 : 0;
