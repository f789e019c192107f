/**
 * Opens the Store the configuration selects. The embedded SQLite file is
 * the only kind today; PostgreSQL joins it behind the same interface.
 */
import path from 'node:path';
import type { Config } from '../config.js';
import { openSqliteTaskStore } from './sqlite.js';
import type { TaskStore } from './store.js';

/** Returns the path of the database file under the data directory. */
export function sqliteFile(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'poiesis.db');
}

export function openStore(config: Pick<Config, 'dataDir'>): Promise<TaskStore> {
  return openSqliteTaskStore(sqliteFile(config));
}
