/**
 * The file of a Unix domain socket server: claimed before listening, removed after.
 *
 * A socket file outlives a server that crashed, and listening on it then fails with
 * EADDRINUSE. Whether it is stale can only be told by connecting: if nothing answers
 * (ECONNREFUSED) no server owns it and it is replaced; if something answers it belongs to a
 * live server and is left alone. A path that is not a socket at all (a regular file, a
 * directory) is never touched: it is somebody's data.
 */
import { lstatSync, statSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { ListenError } from './errors.js';

/** How long a socket file's owner may take to answer the probe; silence means "in use" (never delete on doubt). */
const PROBE_TIMEOUT_MS = 1000;

/**
 * Makes `path` free for listen(): nothing there, or a stale socket file (removed). Rejects with
 * ListenError: EADDRINUSE when a server answers on it, EEXIST when it is not a socket.
 * `log` hears about a replaced stale file.
 */
export async function claimUnixPath(path: string, log: (message: string) => void): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    return; // not ours to judge (EACCES, ENOTDIR …): listen() reports it with its own code
  }
  if (!isSocket) {
    throw new ListenError('EEXIST', path, undefined, 'the path exists and is not a socket; it was left untouched');
  }
  const answer = await probe(path);
  if (answer === 'stale') {
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ListenError((error as NodeJS.ErrnoException).code ?? 'EACCES', path, error, 'cannot remove the stale socket file');
      }
    }
    log(`replaced the stale socket file ${path} (nothing answered on it)`);
    return;
  }
  if (answer === 'gone') return;
  throw new ListenError('EADDRINUSE', path, undefined, `another server answers on this socket (${answer}); it was left untouched`);
}

/** The inode of the socket file this server created, to remove only that file later. */
export function socketInode(path: string): number | undefined {
  try {
    const stat = statSync(path);
    return stat.isSocket() ? stat.ino : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes the socket file after the listener closed, if it is still the one this server
 * created (libuv usually unlinked it already; another server may have taken the path since).
 */
export function releaseUnixPath(path: string, inode: number | undefined): void {
  if (inode === undefined) return;
  try {
    const stat = lstatSync(path);
    if (stat.isSocket() && stat.ino === inode) unlinkSync(path);
  } catch {
    // Already gone (ENOENT) or not ours to remove: nothing left to do.
  }
}

/** 'stale' (refused: no listener), 'gone' (the file vanished) or why it counts as in use. */
function probe(path: string): Promise<'stale' | 'gone' | string> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const done = (answer: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(`no answer within ${PROBE_TIMEOUT_MS} ms`), PROBE_TIMEOUT_MS);
    socket.once('connect', () => done('a connection was accepted'));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') done('stale');
      else if (error.code === 'ENOENT') done('gone');
      else done(error.code ?? error.message);
    });
  });
}
