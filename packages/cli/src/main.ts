import { createRequire } from 'node:module';
import { ListenError } from '@tcpserv/node';
import { runEcho } from './echo.js';
import { UsageError } from './flags.js';
import { runShell } from './shell.js';

/** The package's version (from its package.json, one folder above dist/). */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

const COMMANDS: Readonly<Record<string, (argv: readonly string[]) => Promise<number>>> = {
  echo: runEcho,
  shell: runShell,
};

export const MAIN_HELP = `Usage: tcpserver <command> [flags]

A multi-client TCP server whose client state lives in a WebAssembly core.

Commands:
  echo    echo every byte back to its sender (tcpserver echo --help)
  shell   interactive console: start, list and stop echo servers, list, send to
          and kick clients (tcpserver shell --help)

Flags:
  -h, --help       show this help
  -V, --version    print the version

Exit codes: 0 done, 1 runtime failure (e.g. address in use), 2 bad usage.
`;

/**
 * Runs one command line (without `node` and the script) and resolves with the exit code:
 * 0 done, 1 runtime failure, 2 bad usage. Messages are printed here, one line each.
 */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined) throw new UsageError('missing command: echo or shell (see tcpserver --help)');
    if (first === '--help' || first === '-h' || first === 'help') {
      process.stdout.write(MAIN_HELP);
      return 0;
    }
    if (first === '--version' || first === '-V') {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (!command) {
      throw new UsageError(first.startsWith('-')
        ? `unknown flag ${first} (see tcpserver --help)`
        : `unknown command "${first}": expected echo or shell (see tcpserver --help)`);
    }
    return await command(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`tcpserver: ${error.message}\n`);
      return 2;
    }
    if (error instanceof ListenError) {
      process.stderr.write(`tcpserver: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`tcpserver: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

/** Entry point of bin/tcpserver.js: runs `main` and exits with its code. */
export function run(argv: readonly string[]): void {
  // A reader of our output that went away (EPIPE) must not take the server down.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  void main(argv).then((code) => process.exit(code));
}
