/**
 * One afterEach for every test file: whatever a test opened (node:net peers, servers, fixture
 * children) is destroyed, so a failing test cannot leave sockets or processes to the next.
 */
import { killChildren } from './child.js';
import { destroyAll } from './helpers.js';
import { destroyPeers } from './peers.js';

export async function cleanUp(): Promise<void> {
  destroyPeers();
  await destroyAll();
  await killChildren();
}
