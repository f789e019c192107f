/**
 * Lists the files of an output in the task volume: every file under a
 * directory, or every file that matches a wildcard path. Paths are resolved
 * as inside the container (see `container-path.ts`).
 */
import { readdir } from 'node:fs/promises';
import type { Logger } from '../logging.js';
import type { HostPathOf } from './backend.js';
import { resolveContainerPath, type ResolvedEntry } from './container-path.js';
import { compileSegment } from './glob.js';

/** A regular file of the task volume. */
export interface VolumeFile {
  /** The path as the output names it, before symbolic links are resolved. */
  containerPath: string;
  /** Host path of the content, after symbolic links are resolved. */
  hostPath: string;
  sizeBytes: number;
}

/**
 * Lists every regular file under `directory`, sorted by path. A symbolic
 * link to a file is listed with the link's path and the target's content.
 * Links to directories are not followed, which rules out cycles, and
 * dangling links are skipped. Both are logged at warn.
 *
 * @param containerPath - the directory's path as the output names it.
 * @param directory - the same directory, resolved.
 */
export async function listDirectoryFiles(
  containerPath: string,
  directory: ResolvedEntry,
  hostPathOf: HostPathOf,
  logger: Logger,
): Promise<VolumeFile[]> {
  const files: VolumeFile[] = [];
  const entries = await readdir(directory.hostPath, { withFileTypes: true });
  entries.sort((a, b) => compareNames(a.name, b.name));

  for (const entry of entries) {
    const childPath = joinContainerPath(containerPath, entry.name);
    const child = await resolveContainerPath(
      joinContainerPath(directory.containerPath, entry.name),
      hostPathOf,
    );
    if ('problem' in child) {
      logger.warn(
        { path: childPath, problem: child.problem },
        'skipped an unreadable output entry',
      );
    } else if (child.stats.isFile()) {
      files.push({
        containerPath: childPath,
        hostPath: child.hostPath,
        sizeBytes: child.stats.size,
      });
    } else if (child.stats.isDirectory() && entry.isSymbolicLink()) {
      logger.warn(
        { path: childPath },
        'skipped a symbolic link to a directory, which is not followed',
      );
    } else if (child.stats.isDirectory()) {
      files.push(...(await listDirectoryFiles(childPath, child, hostPathOf, logger)));
    } else {
      logger.warn({ path: childPath }, 'skipped an output entry that is not a regular file');
    }
  }
  return files;
}

/**
 * Lists the regular files that match the absolute wildcard `pattern`, sorted
 * by path. Each segment of the pattern matches names in one directory only,
 * so `/out/*.txt` does not match `/out/sub/c.txt`.
 */
export async function matchFiles(pattern: string, hostPathOf: HostPathOf): Promise<VolumeFile[]> {
  const segments = pattern.split('/').filter((segment) => segment !== '');
  const fixed = fixedSegmentCount(segments);
  const base = `/${segments.slice(0, fixed).map(literalOf).join('/')}`;
  const root = await resolveContainerPath(base, hostPathOf);
  if ('problem' in root || !root.stats.isDirectory()) return [];
  let current: Array<{ containerPath: string; entry: ResolvedEntry }> = [
    { containerPath: base, entry: root },
  ];

  for (const [index, segment] of segments.entries()) {
    if (index < fixed) continue;
    const last = index === segments.length - 1;
    const next: typeof current = [];
    for (const directory of current) {
      for (const name of await namesMatching(segment, directory.entry)) {
        const child = await resolveContainerPath(
          joinContainerPath(directory.entry.containerPath, name),
          hostPathOf,
        );
        if ('problem' in child) continue;
        const kept = last ? child.stats.isFile() : child.stats.isDirectory();
        if (kept) {
          next.push({
            containerPath: joinContainerPath(directory.containerPath, name),
            entry: child,
          });
        }
      }
    }
    current = next;
  }

  return current
    .map(({ containerPath, entry }) => ({
      containerPath,
      hostPath: entry.hostPath,
      sizeBytes: entry.stats.size,
    }))
    .sort((a, b) => compareNames(a.containerPath, b.containerPath));
}

/**
 * Counts the leading segments without pattern characters, which name one
 * directory to start matching from. The last segment is never counted, so
 * the match always ends on a file.
 */
function fixedSegmentCount(segments: readonly string[]): number {
  const firstPattern = segments.findIndex((segment) => 'matches' in compileSegment(segment));
  const limit = Math.max(segments.length - 1, 0);
  return firstPattern === -1 ? limit : Math.min(firstPattern, limit);
}

function literalOf(segment: string): string {
  const pattern = compileSegment(segment);
  return 'literal' in pattern ? pattern.literal : segment;
}

/** Returns the names in `directory` that match one pattern segment. */
async function namesMatching(segment: string, directory: ResolvedEntry): Promise<string[]> {
  const pattern = compileSegment(segment);
  if ('literal' in pattern) return [pattern.literal];
  const names = await readdir(directory.hostPath);
  return names.filter((name) => pattern.matches(name)).sort(compareNames);
}

function joinContainerPath(directory: string, name: string): string {
  return directory.endsWith('/') ? `${directory}${name}` : `${directory}/${name}`;
}

/** Orders by UTF-16 code units, which is stable across locales. */
function compareNames(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}
