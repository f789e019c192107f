/**
 * Parsing of the ListTasks query string: `name_prefix`, `state`,
 * `tag_key`/`tag_value` zipped by position, `page_size`, `page_token` and
 * `view`. Every problem is reported at once.
 */
import type { ParsedUrlQuery } from 'node:querystring';
import { ValidationError } from '../lib/errors.js';
import { TES_STATES, type TesState, type TesView } from '../lib/tes/schemas.js';

/** Default number of tasks per page, from the TES specification. */
export const DEFAULT_PAGE_SIZE = 256;
/** The specification requires `page_size` to be less than this. */
export const PAGE_SIZE_LIMIT = 2048;

/**
 * Most tag filters in one query. Each one is a join in SQLite, which
 * allows at most 64 tables in a join.
 */
export const MAX_TAG_FILTERS = 16;

const VIEWS: readonly TesView[] = ['MINIMAL', 'BASIC', 'FULL'];

export interface ListFilters {
  namePrefix?: string;
  state?: TesState;
  tags: Array<{ key: string; value: string }>;
}

export interface ListRequest {
  filters: ListFilters;
  pageSize: number;
  pageToken?: string;
  view: TesView;
}

function values(query: ParsedUrlQuery, name: string): string[] {
  const value = query[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Returns the one value of a parameter, and records a problem when it is repeated. */
function single(query: ParsedUrlQuery, name: string, problems: string[]): string | undefined {
  const all = values(query, name);
  if (all.length > 1) problems.push(`${name}: must be given once`);
  return all[0];
}

export function parseView(raw: string | undefined, problems: string[]): TesView {
  if (raw === undefined) return 'MINIMAL';
  if (!VIEWS.includes(raw as TesView)) {
    problems.push(`view: must be one of ${VIEWS.join(', ')}, got "${raw}"`);
    return 'MINIMAL';
  }
  return raw as TesView;
}

function parsePageSize(raw: string | undefined, problems: string[]): number {
  if (raw === undefined) return DEFAULT_PAGE_SIZE;
  const size = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(size) || size < 1 || size >= PAGE_SIZE_LIMIT) {
    problems.push(`page_size: must be an integer from 1 to ${PAGE_SIZE_LIMIT - 1}, got "${raw}"`);
    return DEFAULT_PAGE_SIZE;
  }
  return size;
}

function parseTags(query: ParsedUrlQuery, problems: string[]): ListFilters['tags'] {
  const keys = values(query, 'tag_key');
  const tagValues = values(query, 'tag_value');
  if (tagValues.length > keys.length) {
    problems.push(`tag_value: ${tagValues.length} values given for ${keys.length} tag_key`);
  }
  if (keys.some((key) => key === '')) problems.push('tag_key: must not be empty');
  if (keys.length > MAX_TAG_FILTERS) {
    problems.push(`tag_key: at most ${MAX_TAG_FILTERS} may be given, got ${keys.length}`);
  }
  // Sorted, so that a page token stays valid when the same tags come in another order.
  return keys
    .map((key, i) => ({ key, value: tagValues[i] ?? '' }))
    .sort((a, b) => compare(a.key, b.key) || compare(a.value, b.value));
}

function compare(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Reads a ListTasks query. Throws {@link ValidationError} listing every problem. */
export function parseListRequest(query: ParsedUrlQuery): ListRequest {
  const problems: string[] = [];
  const namePrefix = single(query, 'name_prefix', problems);
  const state = single(query, 'state', problems);
  if (state !== undefined && !TES_STATES.includes(state as TesState)) {
    problems.push(`state: must be one of ${TES_STATES.join(', ')}, got "${state}"`);
  }
  const request: ListRequest = {
    filters: {
      namePrefix: namePrefix || undefined,
      state: (state as TesState | undefined) || undefined,
      tags: parseTags(query, problems),
    },
    pageSize: parsePageSize(single(query, 'page_size', problems), problems),
    pageToken: single(query, 'page_token', problems) || undefined,
    view: parseView(single(query, 'view', problems), problems),
  };
  if (problems.length > 0) throw new ValidationError(problems);
  return request;
}
