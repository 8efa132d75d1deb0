#!/usr/bin/env node
// Launcher of the `tcpserver` command. It is plain JavaScript and committed because npm links
// a workspace's bin at install time, before anything is built: the code lives in ../dist.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(`tcpserver: ${fileURLToPath(entry)} is missing: run npx nx run cli:build first\n`);
  process.exit(1);
}
const { run } = await import(entry.href);
run(process.argv.slice(2));
