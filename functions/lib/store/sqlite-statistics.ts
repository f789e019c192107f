/**
 * Query planner statistics of the SQLite task store.
 *
 * The plan of a filtered list depends on ANALYZE statistics. With STAT4
 * samples (better-sqlite3 builds SQLite with SQLITE_ENABLE_STAT4) the
 * planner estimates how many tasks a name prefix, a state or a tag matches,
 * and starts from the index that fills a page soonest. `PRAGMA optimize`
 * re-analyzes each table on its own after about tenfold growth, which can
 * leave `tasks` and `task_tags` analyzed at different sizes. The planner
 * then compares a stale count with a fresh one and can pick a slow plan,
 * so this module analyzes all tables together whenever the number of tasks has
 * doubled or halved since the last ANALYZE.
 */
import type { Database } from 'better-sqlite3';

/** Below this many tasks every plan is fast enough, and no ANALYZE runs. */
const MIN_ANALYZED_TASKS = 100;

/** Whether ANALYZE ran, and the number of tasks it found or would have found. */
export interface StatisticsRefresh {
  analyzed: boolean;
  tasks: number;
}

/**
 * Runs ANALYZE when the statistics are missing or the number of tasks has
 * doubled or halved since they were taken. Counting the tasks reads the
 * smallest index, a few milliseconds at 100,000 tasks.
 */
export function refreshStatistics(db: Database): StatisticsRefresh {
  const { tasks } = db.prepare('SELECT count(*) AS tasks FROM tasks').get() as { tasks: number };
  const analyzedTasks = readAnalyzedTaskCount(db);
  const stale =
    analyzedTasks === undefined
      ? tasks >= MIN_ANALYZED_TASKS
      : tasks >= 2 * analyzedTasks || 2 * tasks <= analyzedTasks;
  if (stale) db.exec('ANALYZE');
  return { analyzed: stale, tasks };
}

/** Reads the number of tasks at the last ANALYZE; undefined when none ran. */
function readAnalyzedTaskCount(db: Database): number | undefined {
  const statTable = db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").get();
  if (statTable === undefined) return undefined;
  // The first number of each index's `stat` is the number of rows in the table.
  const row = db.prepare("SELECT stat FROM sqlite_stat1 WHERE tbl = 'tasks' LIMIT 1").get() as
    { stat: string } | undefined;
  return row === undefined ? undefined : Number.parseInt(row.stat, 10);
}
