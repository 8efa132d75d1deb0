import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { canListen, connect, killAll, lineReader, pythonEcho, readToEnd, spawnCli } from './helpers.js';

afterEach(killAll);

describe('tcpserver shell', () => {
  it('runs servers and manages their clients from commands on stdin', async () => {
    const shell = spawnCli(['shell']);
    const run = (line: string): void => shell.write(`${line}\n`);

    run('tcpserver 127.0.0.1 0');
    const port1 = Number((await shell.waitForLine(/^server 1 listening on 127\.0\.0\.1:(\d+)$/))[1]);
    // Mistakes print one clear line on stderr and the shell goes on.
    run(`tcpserver 127.0.0.1 ${port1}`);
    await shell.waitForErrorLine(new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port1}: address already in use`));
    run('tcpserver 300.1.2.3 0');
    await shell.waitForErrorLine(/^error: ip must be an IPv4 or IPv6 address .*\(got "300\.1\.2\.3"\)$/);
    run('tcpserver 127.0.0.2 0 --max-clients 1');
    const port2 = Number((await shell.waitForLine(/^server 2 listening on 127\.0\.0\.2:(\d+)$/))[1]);

    // A node:net client on server 1, a Python client on server 2: ids say which server.
    const client = await connect(port1);
    const localPort = client.localPort;
    const lines = lineReader(client);
    const ended = once(client, 'end'); // the server's FIN, after kick
    await shell.waitForLine(new RegExp(`^client connect:1\\.1 127\\.0\\.0\\.1:${localPort}$`));
    const [py] = await pythonEcho('127.0.0.2', port2, 1, 1000, 1);
    expect(py!.receivedSha256).toBe(py!.sentSha256);
    await shell.waitForLine(/^client connect:2\.1 127\.0\.0\.1:\d+$/);
    await shell.waitForLine(/^client disconnect:2\.1$/);

    run('clients');
    await shell.waitForLine(/^CLIENT\s+ADDRESS\s+BYTES-IN\s+BYTES-OUT\s+IDLE$/);
    await shell.waitForLine(new RegExp(`^1\\.1\\s+127\\.0\\.0\\.1:${localPort}\\s+0\\s+0\\s+\\d+\\.\\ds$`));
    run('list');
    await shell.waitForLine(/^SERVER\s+ADDRESS\s+CLIENTS\s+OPENED\s+REJECTED\s+BYTES-IN\s+BYTES-OUT$/);
    await shell.waitForLine(new RegExp(`^1\\s+127\\.0\\.0\\.1:${port1}\\s+1/1024\\s+1\\s+0\\s+0\\s+0$`));
    await shell.waitForLine(new RegExp(`^2\\s+127\\.0\\.0\\.2:${port2}\\s+0/1\\s+1\\s+0\\s+1000\\s+1000$`));

    run('send 1.1 hello  shell');
    await shell.waitForLine(/^sent 13 bytes to 1\.1$/);
    expect(await lines()).toBe('hello  shell');
    run('send 1.9 nobody');
    await shell.waitForErrorLine(/^error: no client 1\.9 \(see clients\)$/);
    run('kick 1.1');
    await shell.waitForLine(/^kicked 1\.1$/);
    await shell.waitForLine(/^client disconnect:1\.1$/);
    await ended;

    run('tcpserver_stop');
    await shell.waitForErrorLine(/^error: 2 servers are running \(1, 2\): name one$/);
    run('tcpserver_stop 2');
    await shell.waitForLine(/^server 2 stopped: stats opened=1 rejected=0 closed=1 bytesIn=1000 bytesOut=1000$/);

    // End of input stops the rest and exits 0.
    shell.endInput();
    expect(await shell.waitForExit()).toEqual({ code: 0, signal: null });
    expect(shell.lines.at(-1)).toBe('server 1 stopped: stats opened=1 rejected=0 closed=1 bytesIn=0 bytesOut=13');
    expect(await canListen(port1)).toBe(true);
    expect(await canListen(port2, '127.0.0.2')).toBe(true);
  });

  it('runs a whole script piped at once; exit ends it early', async () => {
    const shell = spawnCli(['shell']);
    shell.write(['# a comment', '', 'list', 'tcpserver 127.0.0.1 0', 'clients', 'bogus', 'help', 'tcpserver_stop',
      'exit', 'tcpserver 127.0.0.1 0', ''].join('\n'));
    expect(await shell.waitForExit()).toEqual({ code: 0, signal: null });
    const out = shell.lines;
    expect(out[0]).toBe('no servers');
    expect(out[1]).toMatch(/^server 1 listening on 127\.0\.0\.1:\d+$/);
    expect(out[2]).toBe('no clients');
    expect(out).toContain('  tcpserver_stop [server]        stop a server (the only one if none is named)');
    expect(out.at(-1)).toBe('server 1 stopped: stats opened=0 rejected=0 closed=0 bytesIn=0 bytesOut=0');
    expect(out.filter((line) => line.includes('listening'))).toHaveLength(1); // nothing after exit ran
    expect(shell.stderr).toBe('error: unknown command "bogus": type help\n');
  });

  it('stops its servers and exits 0 on SIGTERM', async () => {
    const shell = spawnCli(['shell']);
    shell.write('tcpserver 127.0.0.1 0\n');
    const port = Number((await shell.waitForLine(/^server 1 listening on 127\.0\.0\.1:(\d+)$/))[1]);
    const closed = readToEnd(await connect(port));
    await shell.waitForLine(/^client connect:1\.1 /);
    shell.signal('SIGTERM');
    expect(await shell.waitForExit()).toEqual({ code: 0, signal: null });
    await closed;
    expect(shell.lines.at(-1)).toMatch(/^server 1 stopped: stats opened=1 rejected=0 closed=1 /);
  });
});
