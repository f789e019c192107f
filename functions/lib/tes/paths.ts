/**
 * Rules for the container paths of a task and the POSIX wildcards of
 * output paths (IEEE Std 1003.1-2017, 2.13 "Pattern Matching Notation").
 */

const WILDCARD = /[*?[]/;

/** Checks whether a path contains a POSIX pattern character: `*`, `?` or a bracket expression. */
export function hasWildcard(path: string): boolean {
  return WILDCARD.test(path);
}

/**
 * The problem with a container path, or undefined when it is fine: it must
 * be absolute and free of `..` segments and NUL characters.
 */
export function containerPathProblem(path: string): string | undefined {
  if (path === '') return 'must not be empty';
  if (!path.startsWith('/')) return `must be an absolute path, got "${path}"`;
  if (path.includes('\0')) return 'must not contain a NUL character';
  if (path.split('/').includes('..')) return `must not contain ".." segments, got "${path}"`;
  return undefined;
}

/**
 * Returns the problem with the container path in `field` as a
 * `field: rule` message, or an empty list when the path is fine or is not
 * a string, which the schema check reports.
 */
export function containerPathProblems(field: string, value: unknown): string[] {
  if (typeof value !== 'string') return [];
  const problem = containerPathProblem(value);
  return problem ? [`${field}: ${problem}`] : [];
}

/** Returns the leading directories of a wildcard path, up to the segment with the first pattern character. */
export function fixedDirectoryOf(path: string): string {
  const segments = path.split('/');
  const first = segments.findIndex((segment) => hasWildcard(segment));
  const fixed = first === -1 ? segments.slice(0, -1) : segments.slice(0, first);
  return fixed.join('/') || '/';
}

/**
 * Returns the directories above a normalized absolute path, from `/` down
 * to its parent: `/a/b/c` gives `/`, `/a` and `/a/b`. The root has none.
 */
export function ancestorsOf(path: string): string[] {
  if (path === '/') return [];
  const segments = path.split('/').slice(1, -1);
  return ['/', ...segments.map((_, i) => `/${segments.slice(0, i + 1).join('/')}`)];
}
