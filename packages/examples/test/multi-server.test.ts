import { afterEach, expect, it } from 'vitest';
import { HAS_IPV6, canListen, connect, echoThrough, killAll, lineReader, spawnExample } from './helpers.js';

afterEach(killAll);

it('runs servers on 127.0.0.1 (two ports) and ::1 with separate clients, and stops on SIGTERM', async () => {
  const server = spawnExample('multi-server');
  const endpoints: [host: string, port: number][] = [];
  for (let i = 0; i < (HAS_IPV6 ? 3 : 2); i++) {
    const m = await server.waitForLine(/^listening on (127\.0\.0\.1|\[::1\]):(\d+)$/);
    endpoints.push([m[1]!.replace(/[[\]]/g, ''), Number(m[2])]);
  }
  if (!HAS_IPV6) await server.waitForLine(/^skipping gamma on \[::1\]: /);
  expect(endpoints.map(([host]) => host)).toEqual(['127.0.0.1', '127.0.0.1', '::1'].slice(0, endpoints.length));
  expect(new Set(endpoints.map(([, port]) => port)).size).toBe(endpoints.length);

  // Two clients on the first server, one on each other: each counts only its own.
  const greet = async (host: string, port: number): Promise<string> => lineReader(await connect(port, host))();
  const [host1, port1] = endpoints[0]!;
  expect(await greet(host1, port1)).toBe('welcome to alpha: you are client 1, 1 connected here');
  expect(await greet(host1, port1)).toBe('welcome to alpha: you are client 2, 2 connected here');
  const names = ['alpha', 'beta', 'gamma'];
  for (const [i, [host, port]] of endpoints.entries()) {
    if (i > 0) expect(await greet(host, port)).toBe(`welcome to ${names[i]}: you are client 1, 1 connected here`);
    const echoed = await echoThrough(port, Buffer.from(`to ${names[i]}`), i, host);
    expect(echoed.data.toString()).toMatch(new RegExp(`^welcome to ${names[i]}: .*\\nto ${names[i]}$`));
  }

  server.signal('SIGTERM');
  expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
  for (const [host, port] of endpoints) expect(await canListen(port, host)).toBe(true);
});
