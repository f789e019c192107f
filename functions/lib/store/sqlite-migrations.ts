/**
 * Schema migrations of the SQLite task store.
 *
 * `PRAGMA user_version` stores the schema version of a database file: 0 is a
 * new, empty file, and entry `i` of {@link MIGRATIONS} moves the schema from
 * version `i` to `i + 1`. A released migration never changes; a schema
 * change is a new entry at the end.
 */
import type { Database } from 'better-sqlite3';
import { UnsupportedSchemaError } from './errors.js';

export const MIGRATIONS: readonly string[] = [
  // Version 1. Tasks keep the columns that lists filter and order by; the rest
  // of the submitted document and the logs are JSON. Ids sort by creation
  // time, so `id` orders pages. The state and tag indexes put the id right
  // after the filtered columns, so that an equality filter reads its page
  // from the index already in page order.
  `
  CREATE TABLE tasks (
    id TEXT NOT NULL PRIMARY KEY,
    state TEXT NOT NULL,
    name TEXT,
    creation_time TEXT NOT NULL,
    document TEXT NOT NULL,
    logs TEXT
  ) STRICT;
  CREATE INDEX tasks_state ON tasks (state, id);
  CREATE INDEX tasks_name ON tasks (name, id, state);

  CREATE TABLE task_tags (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (task_id, key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX task_tags_key_value ON task_tags (key, value, task_id);
  CREATE INDEX task_tags_key ON task_tags (key, task_id);
  `,
];

/** The schema version the migrations go from and to. */
export interface MigrationResult {
  from: number;
  to: number;
}

/**
 * Brings the schema of `db` up to the last migration, in one transaction.
 *
 * The transaction is IMMEDIATE, so two processes that open the same new file
 * at once migrate it one after the other, and the second finds nothing to
 * do. A failed migration rolls back every step. Throws
 * {@link UnsupportedSchemaError} when the file has a newer version than
 * `migrations` reach.
 *
 * @param location - the file name, for messages
 */
export function migrate(
  db: Database,
  location: string,
  migrations: readonly string[] = MIGRATIONS,
): MigrationResult {
  const run = db.transaction((): MigrationResult => {
    const from = db.pragma('user_version', { simple: true }) as number;
    const to = migrations.length;
    if (from > to) throw new UnsupportedSchemaError(location, from, to);
    for (const migration of migrations.slice(from)) db.exec(migration);
    if (to !== from) db.pragma(`user_version = ${to}`);
    return { from, to };
  });
  return run.immediate();
}
