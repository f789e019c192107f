/**
 * Resolves container paths to host paths as the kernel would inside the container.
 *
 * The output filer reads files that an executor wrote, and an executor may
 * have left symbolic links. On the host, a link to `/etc/passwd` would point
 * at the server's own file, but inside the container it points at the
 * container's. So links are never followed by the host's file system here:
 * each one is read and its target is mapped through {@link HostPathOf}
 * again, one path segment at a time, as the kernel would inside the
 * container's root.
 *
 * `hostPathOf` may throw for a container path outside the task volume. Such
 * a path is treated as a directory of the image when it is a parent, and as
 * unreachable when it is the entry itself.
 */
import type { Stats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { HostPathOf } from './backend.js';
import { errorCode } from './fs-errors.js';

/** Maximum symbolic links followed in one resolution, as Linux's `MAXSYMLINKS`. */
const MAX_SYMBOLIC_LINKS = 40;

/** A container path resolved to an entry without symbolic links. */
export interface ResolvedEntry {
  /** The container path with every symbolic link replaced by its target. */
  containerPath: string;
  hostPath: string;
  /** `lstat` of `hostPath`, which is never a symbolic link. */
  stats: Stats;
}

/** The reason a container path does not resolve, as a phrase such as `does not exist`. */
export type Unresolved = { problem: string };

/**
 * Resolves every symbolic link in `containerPath` within the container's
 * view, returning the final entry or the reason it cannot be reached.
 */
export async function resolveContainerPath(
  containerPath: string,
  hostPathOf: HostPathOf,
): Promise<ResolvedEntry | Unresolved> {
  const pending = segmentsOf(containerPath);
  const resolved: string[] = [];
  let links = 0;
  let last: ResolvedEntry | undefined;

  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      // `..` at the root stays at the root, as inside a container.
      resolved.pop();
      continue;
    }

    const candidate = `/${[...resolved, name].join('/')}`;
    if (pending.length > 0 && !isMapped(candidate, hostPathOf)) {
      // A directory of the image, outside every volume, so it contains no links an executor made.
      resolved.push(name);
      last = undefined;
      continue;
    }
    const entry = await lstatInContainer(candidate, hostPathOf);
    if ('problem' in entry) {
      return links > 0
        ? throughLink(entry, `/${[...resolved, name, ...pending].join('/')}`)
        : entry;
    }

    if (entry.stats.isSymbolicLink()) {
      if (++links > MAX_SYMBOLIC_LINKS) return { problem: 'has too many levels of symbolic links' };
      const target = await readlink(entry.hostPath);
      if (path.posix.isAbsolute(target)) resolved.length = 0;
      pending.unshift(...segmentsOf(target));
      continue;
    }
    if (pending.length > 0 && !entry.stats.isDirectory()) {
      return { problem: `has ${candidate} as a parent, which is not a directory` };
    }
    resolved.push(name);
    last = entry;
  }

  // `last` is stale when a `..` or a link came after it, and absent for the root.
  const finalPath = `/${resolved.join('/')}`;
  if (last?.containerPath === finalPath) return last;
  const entry = await lstatInContainer(finalPath, hostPathOf);
  return links > 0 ? throughLink(entry, finalPath) : entry;
}

/**
 * Names the link target in a "does not exist" problem met after a link,
 * which is usually a link into the image, such as to /etc/passwd.
 */
function throughLink(
  entry: ResolvedEntry | Unresolved,
  containerPath: string,
): ResolvedEntry | Unresolved {
  if (!('problem' in entry) || entry.problem !== 'does not exist') return entry;
  return {
    problem:
      `leads through a symbolic link to ${containerPath}, which does not exist in the task's ` +
      'inputs, outputs or volumes; only files there can be filed',
  };
}

function isMapped(containerPath: string, hostPathOf: HostPathOf): boolean {
  try {
    hostPathOf(containerPath);
    return true;
  } catch {
    return false;
  }
}

async function lstatInContainer(
  containerPath: string,
  hostPathOf: HostPathOf,
): Promise<ResolvedEntry | Unresolved> {
  let hostPath: string;
  try {
    hostPath = hostPathOf(containerPath);
  } catch {
    return { problem: `resolves to ${containerPath}, which is outside the task volume` };
  }
  try {
    return { containerPath, hostPath, stats: await lstat(hostPath) };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { problem: 'does not exist' };
    if (errorCode(error) === 'ENOTDIR') return { problem: 'has a parent that is not a directory' };
    throw error;
  }
}

function segmentsOf(containerPath: string): string[] {
  return containerPath.split('/').filter((segment) => segment !== '');
}
