/**
 * One side of the two-process race in sqlite.test.ts.
 *
 * Usage: `node --import tsx transition-race.ts FILE STATE ID...`. Opens the
 * SQLite store in FILE, prints `ready`, waits for a line on stdin, then tries
 * to move each ID from QUEUED to STATE and prints the ids it moved as JSON.
 */
import { once } from 'node:events';
import readline from 'node:readline';
import { StateConflictError } from '../../functions/lib/errors.js';
import { configureLogging } from '../../functions/lib/logging.js';
import { openSqliteTaskStore } from '../../functions/lib/store/sqlite.js';
import type { TesState } from '../../functions/lib/tes/schemas.js';

configureLogging('silent');
const [file, to, ...ids] = process.argv.slice(2);
if (file === undefined || to === undefined) {
  throw new Error('usage: transition-race.ts FILE STATE ID...');
}

const store = await openSqliteTaskStore(file);
process.stdout.write('ready\n');
const input = readline.createInterface({ input: process.stdin });
await once(input, 'line');
input.close();

const moved: string[] = [];
for (const id of ids) {
  try {
    await store.transition(id, { from: ['QUEUED'], to: to as TesState });
    moved.push(id);
  } catch (error) {
    if (!(error instanceof StateConflictError)) throw error;
  }
}
await store.close();
process.stdout.write(`${JSON.stringify(moved)}\n`);
