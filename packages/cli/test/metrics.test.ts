/**
 * `tcpserver echo --metrics HOST:PORT`: /metrics scraped with a plain HTTP client and parsed
 * with parse-prometheus-text-format (a parser we did not write); with --workers the primary
 * sums the workers' registries (prom-client's AggregatorRegistry). /healthz answers 200.
 */
import { get } from 'node:http';
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { echoThrough, killAll, payload, runCli, spawnCli, withTimeout, type Child } from './helpers.js';

afterEach(killAll);

function httpGet(url: string): Promise<{ status: number; type: string; body: string }> {
  return withTimeout(new Promise((resolve, reject) => {
    get(url, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (text: string) => {
        body += text;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body }));
    }).on('error', reject);
  }), 10_000, `GET ${url}`);
}

/** The value of `name` for server="tcpserver" (the only server in these tests). */
function valueOf(families: readonly PrometheusFamily[], name: string): number {
  const family = families.find((f) => f.name === name);
  if (!family) throw new Error(`no metric ${name} in ${families.map((f) => f.name).join(', ')}`);
  const samples = family.metrics.filter((m) => m.labels?.server === 'tcpserver');
  expect(samples).toHaveLength(1);
  return Number(samples[0]!.value);
}

async function start(args: string[]): Promise<{ server: Child; port: number; metrics: string }> {
  const server = spawnCli(['echo', '--port', '0', '--metrics', '127.0.0.1:0', ...args]);
  const port = await server.listeningPort();
  const m = await server.waitForLine(/^metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics$/);
  return { server, port, metrics: m[1]! };
}

describe('tcpserver echo --metrics', () => {
  it('serves the server\'s counters in the Prometheus text format, and /healthz', async () => {
    const { server, port, metrics } = await start(['--max-clients', '10']);
    const sizes = [1, 1000, 70_000];
    for (const [i, size] of sizes.entries()) await echoThrough(port, payload(size, i), i);
    for (let i = 0; i < sizes.length; i++) await server.waitForLine(/^client disconnect:\d+$/);
    const scrape = await httpGet(`${metrics}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusTextFormat(scrape.body);
    expect(valueOf(families, 'tcpserv_clients_opened_total')).toBe(3);
    expect(valueOf(families, 'tcpserv_clients_live')).toBe(0);
    expect(valueOf(families, 'tcpserv_clients_max')).toBe(10);
    expect(valueOf(families, 'tcpserv_received_bytes_total')).toBe(71_001);
    expect(valueOf(families, 'tcpserv_sent_bytes_total')).toBe(71_001);
    expect(await httpGet(`${metrics}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await httpGet(`${metrics}/other`)).status).toBe(404);
    server.signal('SIGTERM');
    expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
  });

  it('--workers 2: the primary sums both workers\' metrics', async () => {
    const { server, port, metrics } = await start(['--workers', '2', '--max-clients', '10']);
    for (let i = 0; i < 6; i++) await echoThrough(port, Buffer.from(`message ${i}`), i);
    const served = new Set<string>();
    for (let i = 0; i < 6; i++) served.add((await server.waitForLine(/^client disconnect:(\d+)\.\d+$/))[1]!);
    expect(served.size).toBe(2); // both workers had clients, so the sum is a real aggregation
    const families = parsePrometheusTextFormat((await httpGet(`${metrics}/metrics`)).body);
    expect(valueOf(families, 'tcpserv_clients_opened_total')).toBe(6);
    expect(valueOf(families, 'tcpserv_clients_max')).toBe(10); // 5 + 5: the service-wide limit
    expect(valueOf(families, 'tcpserv_received_bytes_total')).toBe(6 * 'message 0'.length);
    expect(await httpGet(`${metrics}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    server.signal('SIGTERM');
    expect(await server.waitForExit(20_000)).toEqual({ code: 0, signal: null });
  });

  it('a --metrics address in use is a runtime failure (exit 1) naming --metrics', async () => {
    const first = await start([]);
    const taken = first.metrics.replace('http://', '');
    const result = await runCli(['echo', '--port', '0', '--metrics', taken]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`tcpserver: cannot listen on ${taken} (--metrics): address already in use (EADDRINUSE)\n`);
  });
});
