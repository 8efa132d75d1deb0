import { createServer, formatHostPort, type TcpServer } from '@tcpserv/node';
import { attachEcho } from './echo-service.js';
import { addressFlag, choiceFlag, describeFlags, integerFlag, parseCommandFlags, switchFlag } from './flags.js';
import { logStats } from './format.js';
import { LOG_FORMATS, LOG_LEVELS, Logger } from './log.js';
import { SERVER_FLAGS, asUsageError, serverOptions } from './server-flags.js';
import { catchStopSignals } from './signals.js';

export const ECHO_FLAGS = {
  host: addressFlag('IP', 'address to listen on (IPv4 or IPv6)', '127.0.0.1'),
  port: integerFlag('PORT', 'TCP port; 0 picks a free one (printed)', 0, 65535, '5000'),
  ...SERVER_FLAGS,
  'log-level': choiceFlag('LEVEL', 'debug, info, warn or error; debug also turns on the library\'s debug log', LOG_LEVELS, 'info'),
  'log-format': choiceFlag('FORMAT', 'text or json (one object a line)', LOG_FORMATS, 'text'),
  help: switchFlag('show this help'),
} as const;

export const ECHO_HELP = `Usage: tcpserver echo [flags]

Echoes every byte back to its sender (the seed's echo sample). Prints
"listening on HOST:PORT" first, "client connect:ID ADDRESS" and "client disconnect:ID"
at info level, and on SIGINT/SIGTERM stops (closing every client), prints
"stats opened=N rejected=N closed=N bytesIn=N bytesOut=N" and exits 0. SIGUSR2 prints
the stats line without stopping.

Flags:
${describeFlags(ECHO_FLAGS)}
`;

/** `tcpserver echo`: resolves with the exit code once stopped by a signal. */
export async function runEcho(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags('echo', argv, ECHO_FLAGS, ECHO_HELP);
  if (!flags) return 0;
  const log = new Logger(flags['log-level'], flags['log-format']);
  const host = flags.host ?? '127.0.0.1';
  const options = serverOptions(flags, {
    host,
    port: flags.port ?? 5000,
    debug: log.level === 'debug',
    onError: (error, client) => log.error(`${client ? `client ${client.id}: ` : ''}${describe(error)}`, 'error', {
      error: describe(error), ...(client ? { id: client.id } : {}),
    }),
  });

  let server: TcpServer | undefined;
  const signals = catchStopSignals(() => server && logStats(log, server.stats()));
  try {
    try {
      server = await createServer(options);
    } catch (error) {
      throw asUsageError(error);
    }
    attachEcho(server, {
      onConnect: (client) => log.info(`client connect:${client.id} ${formatHostPort(client.remoteAddress, client.remotePort)}`,
        'client connect', { id: client.id, address: client.remoteAddress, port: client.remotePort }),
      onDisconnect: (client) => log.info(`client disconnect:${client.id}`, 'client disconnect', { id: client.id }),
      onError: options.onError,
    });
    const bound = server.address();
    if (typeof bound === 'string') log.always(`listening on ${bound}`, 'listening', { path: bound });
    else log.always(`listening on ${formatHostPort(bound.address, bound.port)}`, 'listening', { host: bound.address, port: bound.port });
    await signals.stopped;
    await server.destroy();
    logStats(log, server.stats());
    return 0;
  } finally {
    signals.dispose();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
