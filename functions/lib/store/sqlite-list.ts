/**
 * The SQL of one ListTasks page in the SQLite task store.
 *
 * Pages are newest first and use keyset pagination: the next page starts
 * below the last id of the previous one (`id < after`), so a deep page costs
 * the same as the first. Every filter is a condition on an index:
 *
 * - `state` on `tasks_state (state, id)`, already in page order;
 * - each tag filter joins `task_tags` once, on `task_tags_key_value` or,
 *   for an empty value, `task_tags_key`, both ending in `task_id`;
 * - `namePrefix` is a range on `tasks_name (name, id, state)`.
 *
 * With several filters the query planner picks the index to start from,
 * using the statistics of ANALYZE (STAT4 samples, so the bound values count).
 */
import type { ListQuery } from './store.js';

export interface SqlQuery {
  sql: string;
  params: Array<string | number>;
}

/**
 * Builds the query of one page. It selects one row more than `pageSize`,
 * which shows whether another page follows. Without `withDocument` it
 * selects only `id` and `state`, otherwise every column of `tasks`.
 */
export function buildListQuery(query: ListQuery): SqlQuery {
  const conditions: string[] = [];
  const params: Array<string | number> = [];

  // Tags with a value come first: they are usually the more selective
  // filter, and the first tag's task_id orders the page.
  const tags = [...(query.tags ?? [])].sort(
    (a, b) => Number(a.value === '') - Number(b.value === ''),
  );
  // The join condition of each tag filter, in the order of `tags`.
  const tagJoins = tags.map(({ key, value }, i) => {
    const alias = `g${i}`;
    params.push(key);
    if (value === '') return `${alias}.task_id = t.id AND ${alias}.key = ?`;
    params.push(value);
    return `${alias}.task_id = t.id AND ${alias}.key = ? AND ${alias}.value = ?`;
  });
  // SQLite does not carry the join equality over to ORDER BY, so with tags
  // the page is ordered by g0.task_id, which the tag index already sorts.
  const orderBy = tags.length > 0 ? 'g0.task_id' : 't.id';

  if (query.state !== undefined) {
    conditions.push('t.state = ?');
    params.push(query.state);
  }
  if (query.namePrefix) {
    const range = prefixRange(query.namePrefix);
    conditions.push('t.name >= ?');
    params.push(range.lower);
    if (range.upper !== undefined) {
      conditions.push('t.name < ?');
      params.push(range.upper);
    }
  }
  if (query.after !== undefined) {
    conditions.push(`${orderBy} < ?`);
    params.push(query.after);
  }
  params.push(query.pageSize + 1);

  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  // With a state and a tag value, the planner starts from the state index and
  // sorts every task in that state, which grows with the store. CROSS JOIN
  // makes it walk the tag index in page order, which stops after one page.
  const tagFirst = query.state !== undefined && tags.length > 0 && tags[0]!.value !== '';
  const joins = tagJoins.map((on, i) => `JOIN task_tags g${i} ON ${on}`);
  const from = tagFirst
    ? [`FROM task_tags g0 CROSS JOIN tasks t ON ${tagJoins[0]}`, ...joins.slice(1)]
    : ['FROM tasks t', ...joins];
  const page = [
    `SELECT ${orderBy} AS id, t.state`,
    ...from,
    where,
    `ORDER BY ${orderBy} DESC LIMIT ?`,
  ]
    .filter((part) => part !== '')
    .join(' ');
  if (!query.withDocument) return { sql: page, params };

  // The documents are read only for the rows of the page: a plan that sorts
  // the matches (a name range, a second tag) sorts ids, not documents.
  const sql =
    'SELECT t.id, t.state, t.name, t.creation_time, t.document, t.logs ' +
    `FROM (${page}) AS page ` +
    'JOIN tasks t ON t.id = page.id ORDER BY page.id DESC';
  return { sql, params };
}

/**
 * Computes the range of strings that start with `prefix` under SQLite's BINARY
 * collation, which compares UTF-8 bytes and so orders by code point.
 *
 * The upper bound drops trailing U+10FFFF code points and raises the last
 * remaining one by one; a prefix of only U+10FFFF has none. A range treats
 * `%`, `_`, `*`, `?` and `[` as plain characters, unlike LIKE and GLOB.
 */
export function prefixRange(prefix: string): { lower: string; upper?: string } {
  const codePoints = Array.from(prefix);
  while (codePoints.length > 0) {
    const last = codePoints.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      // U+D800 to U+DFFF are surrogates, which UTF-8 cannot encode.
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return { lower: prefix, upper: codePoints.join('') + String.fromCodePoint(next) };
    }
  }
  return { lower: prefix };
}
