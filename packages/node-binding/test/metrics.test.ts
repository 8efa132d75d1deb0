import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { AggregatorRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { METRIC_NAMES, type ServerStats, type TcpServer } from '../src/index.js';
import { destroyAll, dial, readAll, startServer, waitFor } from './support/helpers.js';

afterEach(destroyAll);

/** name → family, from a Prometheus text exposition parsed by a parser we did not write. */
async function scrape(server: TcpServer): Promise<{ stats: ServerStats; families: Map<string, PrometheusFamily> }> {
  // stats() and the scrape's collects run in the same synchronous pass: no I/O between them.
  const stats = server.stats();
  const text = await server.metrics();
  return { stats, families: new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f])) };
}

function value(families: Map<string, PrometheusFamily>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  if (!family) throw new Error(`metric ${name} missing`);
  const sample = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (!sample) throw new Error(`metric ${name}${JSON.stringify(labels)} missing`);
  return Number(sample.value);
}

describe('#metrics', () => {
  it('reports what stats() says, every metric labelled with the server name', async () => {
    const server = await startServer({ name: 'edge-1', maxClients: 3, rxBufferSize: 1024 });
    // A: sends more than its 1 KiB ring and is never read → paused. B: never reads what we send
    // → bytes wait in its send queue. C: closes itself → closed{reason="peer"}. D: over maxClients.
    const a = await dial(server);
    const b = await dial(server);
    const c = await dial(server);
    const ca = (await server.accept(5000))!;
    const cb = (await server.accept(5000))!;
    const cc = (await server.accept(5000))!;
    expect([ca, cb, cc].every(Boolean)).toBe(true);
    a.write(Buffer.alloc(64 * 1024, 1));
    b.pause();
    void cb.send(Buffer.alloc(8 * 1024 * 1024, 2)).catch(() => {});
    const d = await dial(server);
    await readAll(d);
    c.end('bye');
    const scratch = Buffer.alloc(16);
    for (let i = 0; i < 10 && (await cc.recv(scratch, 5000)) !== null; i++);
    await waitFor(() => cc.disconnected, 'C disconnected');
    await waitFor(() => server.stats().paused === 1 && server.stats().sendQueueBytes > 0 && server.stats().rejected === 1, 'paused, queued, refused');
    await cc.close();

    const { stats, families } = await scrape(server);
    expect(stats).toMatchObject({ live: 2, opened: 3, rejected: 1, paused: 1 });
    const gauges: Array<[string, number]> = [
      [METRIC_NAMES.clientsLive, stats.live], [METRIC_NAMES.clientsMax, stats.maxClients],
      [METRIC_NAMES.clientsPaused, stats.paused], [METRIC_NAMES.acceptQueue, stats.pendingAccept],
      [METRIC_NAMES.sendQueueBytes, stats.sendQueueBytes], [METRIC_NAMES.slotsUsed, stats.usedSlots],
    ];
    const counters: Array<[string, number]> = [
      [METRIC_NAMES.clientsOpened, stats.opened], [METRIC_NAMES.clientsRejected, stats.rejected],
      [METRIC_NAMES.bytesIn, stats.bytesIn], [METRIC_NAMES.bytesOut, stats.bytesOut],
      [METRIC_NAMES.frameErrors, stats.frameErrors], [METRIC_NAMES.tlsErrors, stats.tlsErrors],
      [METRIC_NAMES.proxyErrors, stats.proxyErrors], [METRIC_NAMES.acceptErrors, stats.acceptErrors],
    ];
    for (const [name, expected] of gauges) {
      expect(families.get(name)?.type, name).toBe('GAUGE');
      expect(value(families, name, { server: 'edge-1' }), name).toBe(expected);
    }
    for (const [name, expected] of counters) {
      expect(families.get(name)?.type, name).toBe('COUNTER');
      expect(value(families, name, { server: 'edge-1' }), name).toBe(expected);
    }
    expect(stats.bytesIn).toBeGreaterThan(1024);
    expect(stats.bytesOut).toBeGreaterThan(0);
    for (const [reason, count] of Object.entries(stats.closedByReason)) {
      expect(value(families, METRIC_NAMES.clientsClosed, { server: 'edge-1', reason }), reason).toBe(count);
    }
    expect(value(families, METRIC_NAMES.clientsClosed, { reason: 'peer' })).toBe(1);
    for (const name of [METRIC_NAMES.eventLoopLag, METRIC_NAMES.eventLoopLagP99, METRIC_NAMES.eventLoopLagMax]) {
      const lag = value(families, name, { server: 'edge-1' });
      expect(lag, name).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(lag), name).toBe(true);
    }
    for (const family of families.values()) {
      for (const sample of family.metrics) expect(sample.labels?.server, family.name).toBe('edge-1');
    }
    expect(server.metricsRegistry.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('counts PROXY errors', async () => {
    const server = await startServer({ name: 'behind-lb', proxyProtocol: 'v2' });
    const peer = await dial(server);
    peer.write('not a header');
    await readAll(peer);
    await waitFor(() => server.stats().proxyErrors === 1, 'one PROXY error');
    const { families } = await scrape(server);
    expect(value(families, METRIC_NAMES.proxyErrors, { server: 'behind-lb' })).toBe(1);
    expect(value(families, METRIC_NAMES.clientsOpened, { server: 'behind-lb' })).toBe(0);
  });

  it('moves with the server between scrapes (collected on scrape, not frozen)', async () => {
    const server = await startServer({ name: 'moving' });
    expect(value((await scrape(server)).families, METRIC_NAMES.clientsLive)).toBe(0);
    await dial(server);
    await dial(server);
    await waitFor(() => server.stats().live === 2, 'two clients');
    const { families } = await scrape(server);
    expect(value(families, METRIC_NAMES.clientsLive)).toBe(2);
    expect(value(families, METRIC_NAMES.clientsOpened)).toBe(2);
    expect(value(families, METRIC_NAMES.acceptQueue)).toBe(2);
  });

  it("aggregates like a cluster primary would: prom-client's AggregatorRegistry sums workers of one name", async () => {
    const one = await startServer({ name: 'svc' });
    const two = await startServer({ name: 'svc' });
    await dial(one);
    await dial(two);
    await dial(two);
    await waitFor(() => one.stats().live === 1 && two.stats().live === 2, 'clients');
    const merged = AggregatorRegistry.aggregate([
      await one.metricsRegistry.getMetricsAsJSON(), await two.metricsRegistry.getMetricsAsJSON(),
    ]);
    const families = new Map(parsePrometheusTextFormat(await merged.metrics()).map((f) => [f.name, f]));
    expect(value(families, METRIC_NAMES.clientsLive, { server: 'svc' })).toBe(3);
    expect(value(families, METRIC_NAMES.clientsOpened, { server: 'svc' })).toBe(3);
    expect(families.get(METRIC_NAMES.clientsLive)?.metrics).toHaveLength(1);
  });

  it('keeps servers of different names apart when aggregated', async () => {
    const a = await startServer({ name: 'a' });
    const b = await startServer({ name: 'b' });
    await dial(b);
    await waitFor(() => b.stats().live === 1, 'client on b');
    const merged = AggregatorRegistry.aggregate([await a.metricsRegistry.getMetricsAsJSON(), await b.metricsRegistry.getMetricsAsJSON()]);
    const families = new Map(parsePrometheusTextFormat(await merged.metrics()).map((f) => [f.name, f]));
    expect(value(families, METRIC_NAMES.clientsLive, { server: 'a' })).toBe(0);
    expect(value(families, METRIC_NAMES.clientsLive, { server: 'b' })).toBe(1);
  });

  it('still answers after destroy (the last counters)', async () => {
    const server = await startServer({ name: 'gone' });
    await dial(server);
    await waitFor(() => server.stats().live === 1, 'client');
    void server.metricsRegistry;
    await server.destroy();
    const { stats, families } = await scrape(server);
    expect(value(families, METRIC_NAMES.clientsLive)).toBe(0);
    expect(value(families, METRIC_NAMES.clientsOpened)).toBe(1);
    expect(value(families, METRIC_NAMES.clientsClosed, { reason: 'server' })).toBe(stats.closedByReason.server);
  });
});
