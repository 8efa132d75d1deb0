import { createInterface, type Interface } from 'node:readline';
import { createServer, formatHostPort, type Client, type ServerOptions, type TcpServer } from '@tcpserv/node';
import { attachEcho } from './echo-service.js';
import { checkAddress, choiceFlag, describeFlags, integerFlag, parseCommandFlags, parseFlags, switchFlag, UsageError } from './flags.js';
import { statsText, table } from './format.js';
import { LOG_LEVELS, type LogLevel } from './log.js';
import { SERVER_FLAGS, asUsageError, serverOptions } from './server-flags.js';
import { remoteOf } from './serve-echo.js';
import { catchStopSignals } from './signals.js';
import { unixFlag } from './unix-flag.js';

export const SHELL_FLAGS = {
  'log-level': choiceFlag('LEVEL', 'debug, info, warn or error; warn and error hide connect/disconnect lines', LOG_LEVELS, 'info'),
  help: switchFlag('show this help'),
} as const;

const START_FLAGS = { unix: unixFlag(), ...SERVER_FLAGS, help: switchFlag('show this help') } as const;
const PORT = integerFlag('PORT', 'TCP port', 0, 65535);

const COMMANDS_HELP = `Commands:
  tcpserver <ip> <port> [flags]  start an echo server (port 0 picks a free one); flags as
                                 tcpserver echo, e.g. --max-clients 2 or --tls-cert FILE
                                 --tls-key FILE (tcpserver --help)
  tcpserver --unix PATH [flags]  start an echo server on a Unix domain socket
  tcpserver_stop [server]        stop a server (the only one if none is named)
  list                           list the servers
  clients [server]               list connected clients: id, address, bytes, idle time
  send <client> <text>           send text and a newline to a client
  kick <client>                  close a client's connection
  help                           show this help
  exit                           stop every server and leave (also quit, end of input, Ctrl-C)

Servers are numbered 1, 2, … A client is named <server>.<client>, e.g. 1.3 for client 3
of server 1 (the number in its "client connect" line); with one server running, 3 is enough.`;

export const SHELL_HELP = `Usage: tcpserver shell [flags]

An interactive console like RT-Thread's msh, grown into a multi-server tool. Reads one
command a line from stdin (a terminal or a pipe); at end of input stops its servers and
exits 0.

${COMMANDS_HELP}

Flags:
${describeFlags(SHELL_FLAGS)}
`;

interface Entry {
  readonly id: number;
  readonly server: TcpServer;
  readonly label: string;
}

/** The shell's state and commands; output goes through `print` (stdout) and `fail` (stderr). */
class Shell {
  readonly #servers = new Map<number, Entry>();
  readonly #level: LogLevel;
  readonly #notice: (line: string) => void;
  #nextId = 1;

  constructor(level: LogLevel, notice: (line: string) => void) {
    this.#level = level;
    this.#notice = notice;
  }

  /** Runs one command line; resolves false when the shell should end. */
  async execute(line: string): Promise<boolean> {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return true;
    const [name = '', ...args] = trimmed.split(/\s+/);
    try {
      switch (name) {
        case 'tcpserver': await this.#start(args); break;
        case 'tcpserver_stop': await this.#stop(args); break;
        case 'list': this.#list(args); break;
        case 'clients': this.#clients(args); break;
        case 'send': await this.#send(trimmed); break;
        case 'kick': await this.#kick(args); break;
        case 'help': print(COMMANDS_HELP); break;
        case 'exit': case 'quit': return false;
        default: throw new UsageError(`unknown command "${name}": type help`);
      }
    } catch (error) {
      fail(error instanceof Error ? error.message : String(error));
    }
    return true;
  }

  /** Stops every server (end of input, exit, a signal). */
  async stopAll(): Promise<void> {
    for (const entry of [...this.#servers.values()]) await this.#stopEntry(entry);
  }

  async #start(args: string[]): Promise<void> {
    const { flags, positionals } = parseFlags('tcpserver', args, START_FLAGS);
    if (flags.help) {
      print(`Usage: tcpserver <ip> <port> [flags]\n       tcpserver --unix PATH [flags]\n\n${describeFlags(START_FLAGS)}`);
      return;
    }
    let where: ServerOptions;
    if (flags.unix !== undefined) {
      if (positionals.length !== 0) throw new UsageError('usage: tcpserver --unix PATH [flags] (no <ip> <port> with --unix)');
      where = { path: flags.unix };
    } else {
      if (positionals.length !== 2) {
        throw new UsageError('usage: tcpserver <ip> <port> [flags] or tcpserver --unix PATH [flags], e.g. tcpserver 127.0.0.1 5000');
      }
      where = { host: checkAddress(positionals[0]!, 'ip'), port: PORT.parse(positionals[1]!, 'port') };
    }
    const id = this.#nextId;
    const options = serverOptions(flags, {
      ...where, name: `tcpserver:${id}`, debug: this.#level === 'debug',
      onError: (error, client) => fail(`server ${id}${client ? ` client ${id}.${client.id}` : ''}: ${String(error)}`),
    });
    let server: TcpServer;
    try {
      server = await createServer(options);
    } catch (error) {
      throw asUsageError(error);
    }
    this.#nextId++;
    const quiet = this.#level === 'warn' || this.#level === 'error';
    attachEcho(server, {
      onConnect: (c) => quiet || this.#notice(`client connect:${id}.${c.id} ${remoteOf(c)}`),
      onDisconnect: (c) => quiet || this.#notice(`client disconnect:${id}.${c.id}`),
      onError: options.onError,
    });
    const a = server.address();
    const entry: Entry = { id, server, label: typeof a === 'string' ? a : formatHostPort(a.address, a.port) };
    this.#servers.set(id, entry);
    print(`server ${id} listening on ${entry.label}`);
  }

  async #stop(args: string[]): Promise<void> {
    if (args.length > 1) throw new UsageError('usage: tcpserver_stop [server]');
    await this.#stopEntry(this.#server(args[0]));
  }

  async #stopEntry(entry: Entry): Promise<void> {
    this.#servers.delete(entry.id);
    await entry.server.destroy();
    print(`server ${entry.id} stopped: stats ${statsText(entry.server.stats())}`);
  }

  #list(args: string[]): void {
    if (args.length > 0) throw new UsageError('usage: list');
    if (this.#servers.size === 0) {
      print('no servers');
      return;
    }
    const rows: (string | number)[][] = [['SERVER', 'ADDRESS', 'CLIENTS', 'OPENED', 'REJECTED', 'BYTES-IN', 'BYTES-OUT']];
    for (const { id, server, label } of this.#servers.values()) {
      const s = server.stats();
      rows.push([id, label, `${s.live}/${s.maxClients}`, s.opened, s.rejected, s.bytesIn, s.bytesOut]);
    }
    print(table(rows));
  }

  #clients(args: string[]): void {
    if (args.length > 1) throw new UsageError('usage: clients [server]');
    const entries = args.length === 1 ? [this.#server(args[0])] : [...this.#servers.values()];
    const rows: (string | number)[][] = [['CLIENT', 'ADDRESS', 'BYTES-IN', 'BYTES-OUT', 'IDLE']];
    const now = Date.now();
    for (const { id, server } of entries) {
      for (const client of server.clients()) {
        const s = client.stats;
        const idle = `${(Math.max(0, now - s.lastActivityAt) / 1000).toFixed(1)}s`;
        rows.push([`${id}.${client.id}`, remoteOf(client), s.bytesIn, s.bytesOut, idle]);
      }
    }
    print(rows.length === 1 ? 'no clients' : table(rows));
  }

  async #send(line: string): Promise<void> {
    // The text is the rest of the line as typed, inner spaces included.
    const m = /^send\s+(\S+)\s(.*)$/.exec(line);
    if (!m) throw new UsageError('usage: send <client> <text>, e.g. send 1.3 hello');
    const [ref, client] = this.#client(m[1]!);
    const n = await client.send(`${m[2]}\n`, 5000);
    print(`sent ${n} bytes to ${ref}`);
  }

  async #kick(args: string[]): Promise<void> {
    if (args.length !== 1) throw new UsageError('usage: kick <client>, e.g. kick 1.3');
    const [ref, client] = this.#client(args[0]!);
    await client.close();
    print(`kicked ${ref}`);
  }

  /** The named server, or the only one when none is named. */
  #server(ref: string | undefined): Entry {
    if (ref === undefined) {
      if (this.#servers.size === 1) return this.#servers.values().next().value!;
      throw new UsageError(this.#servers.size === 0
        ? 'no server is running'
        : `${this.#servers.size} servers are running (${[...this.#servers.keys()].join(', ')}): name one`);
    }
    const entry = /^\d+$/.test(ref) ? this.#servers.get(Number(ref)) : undefined;
    if (!entry) throw new UsageError(`no server ${ref} (see list)`);
    return entry;
  }

  /** `S.C`, or `C` when one server runs → [canonical name, client]. */
  #client(ref: string): [string, Client] {
    const m = /^(?:(\d+)\.)?(\d+)$/.exec(ref);
    if (!m) throw new UsageError(`a client is named <server>.<client>, e.g. 1.3 (got "${ref}")`);
    const entry = this.#server(m[1]);
    const name = `${entry.id}.${m[2]}`;
    for (const client of entry.server.clients()) {
      if (client.id === Number(m[2])) return [name, client];
    }
    throw new UsageError(`no client ${name} (see clients)`);
  }
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function fail(text: string): void {
  process.stderr.write(`error: ${text}\n`);
}

/** `tcpserver shell`: resolves with the exit code at end of input, `exit` or a signal. */
export async function runShell(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags('shell', argv, SHELL_FLAGS, SHELL_HELP);
  if (!flags) return 0;
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
  // Without a terminal: no prompt and no echo, only each command's output.
  const rl: Interface = createInterface({
    input: process.stdin,
    output: interactive ? process.stdout : undefined,
    terminal: interactive,
    prompt: 'msh />',
  });
  // A line printed while the prompt waits (a client connected): keep the prompt below it.
  const notice = interactive
    ? (line: string) => {
        process.stdout.write(`\r\x1b[K${line}\n`);
        rl.prompt(true);
      }
    : print;
  const shell = new Shell(flags['log-level'] ?? 'info', notice);
  const signals = catchStopSignals();
  void signals.stopped.then(() => rl.close());
  rl.on('SIGINT', () => rl.close()); // Ctrl-C on a terminal
  try {
    if (interactive) {
      print('tcpserver shell: type help for commands, exit to leave');
      rl.prompt();
    }
    for await (const line of rl) {
      if (!(await shell.execute(line))) break;
      if (interactive) rl.prompt();
    }
  } finally {
    rl.close();
    await shell.stopAll();
    signals.dispose();
  }
  return 0;
}
