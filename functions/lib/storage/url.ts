/**
 * URL helpers shared by the storage backends and the filers.
 */
import path from 'node:path';

/** A scheme as RFC 3986 section 3.1 defines it, followed by its colon. */
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/**
 * Returns the lowercase scheme of a URL without its colon, or undefined for
 * a string without one, such as the plain path `/data/x`.
 */
export function schemeOf(url: string): string | undefined {
  return SCHEME.exec(url)?.[1]?.toLowerCase();
}

/**
 * Returns the URL with its password and query string replaced by `***`, so
 * it can go into logs and error messages. Presigned URLs carry their
 * signature in the query, and `user:password@host` carries a password.
 * A string that does not parse as a URL is returned unchanged.
 */
export function redactUrl(url: string): string {
  if (schemeOf(url) === undefined || !URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  if (parsed.search !== '') parsed.search = '?***';
  return parsed.href;
}

/**
 * Appends a relative POSIX path to a URL that names a directory, whether or
 * not it ends in `/`. Each segment is percent-encoded for URLs with a scheme,
 * and a plain path is joined as a path. A query or fragment stays at the end.
 *
 * @example appendToUrl('file:///results', 'a b/c.txt') === 'file:///results/a%20b/c.txt'
 */
export function appendToUrl(base: string, relativePath: string): string {
  const segments = relativePath.split('/').filter((segment) => segment !== '');
  if (schemeOf(base) === undefined) return path.posix.join(base, ...segments);

  const suffixStart = base.search(/[?#]/);
  const head = suffixStart === -1 ? base : base.slice(0, suffixStart);
  const suffix = suffixStart === -1 ? '' : base.slice(suffixStart);
  const encoded = segments.map((segment) => encodeURIComponent(segment)).join('/');
  const directory = head.endsWith('/') ? head : `${head}/`;
  return `${directory}${encoded}${suffix}`;
}
