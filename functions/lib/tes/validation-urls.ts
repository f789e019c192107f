/**
 * Rules for the `url` of task inputs and outputs: what the storage backends
 * can resolve, checked at submission so that a task does not fail while
 * its files are staged.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Returns the URL scheme in lowercase, or `file` for a bare absolute path. */
export function urlScheme(url: string): string | undefined {
  if (url.startsWith('/')) return 'file';
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url);
  return match?.[1]?.toLowerCase();
}

/**
 * Returns the problem with an input or output URL, or undefined when the
 * storage backends can use it. Such a URL has no NUL, a scheme from
 * `schemes` (undefined accepts any) and parses. An `http` or `https` URL
 * needs a host, and a `file` URL a local path. A bare absolute path is
 * accepted as a `file` URL.
 */
export function urlProblem(
  url: string,
  schemes: readonly string[] | undefined,
): string | undefined {
  if (url.includes('\0')) return 'must not contain a NUL character';
  const scheme = urlScheme(url);
  if (scheme === undefined) return `"${url}" is not a URL or an absolute path`;
  if (schemes && !schemes.includes(scheme)) {
    return `scheme "${scheme}" is not supported; supported: ${schemes.join(', ') || 'none'}`;
  }
  if (url.startsWith('/')) return undefined;
  // The URL parser would read `http:///x` as host `x`, so the two slashes and a host are checked here.
  if ((scheme === 'http' || scheme === 'https') && !/^[^:]+:\/\/[^/?#]/.test(url)) {
    return `"${url}" has no host; use a URL such as ${scheme}://example.org/data.txt`;
  }
  if (!URL.canParse(url)) return `"${url}" cannot be parsed as a URL`;
  return scheme === 'file' ? fileUrlProblem(url) : undefined;
}

function fileUrlProblem(url: string): string | undefined {
  const parsed = new URL(url);
  // The URL parser turns the host `localhost` of a file URL into the empty host.
  if (parsed.hostname !== '') {
    return (
      `"${url}" names the host "${parsed.hostname}"; ` +
      'a file url must have an empty host or localhost, as in file:///data/x'
    );
  }
  let localPath: string;
  try {
    localPath = fileURLToPath(parsed);
  } catch {
    // Node.js rejects a percent-encoded "/" (%2F) in the path of a file URL.
    return `"${url}" is not a local path; a file url must not contain an encoded "/" (%2F)`;
  }
  return localPath.includes('\0') ? 'must not contain an encoded NUL character (%00)' : undefined;
}

/**
 * Returns the URL as the storage backends resolve it, to compare two URLs,
 * or undefined when it does not parse. A bare path becomes a `file` URL,
 * `localhost` and a trailing `/` are dropped.
 */
export function canonicalUrl(url: string): string | undefined {
  let parsed: URL;
  if (url.startsWith('/')) parsed = pathToFileURL(url);
  else if (URL.canParse(url)) parsed = new URL(url);
  else return undefined;
  const href = parsed.href;
  return href.endsWith('/') && parsed.pathname !== '/' ? href.slice(0, -1) : href;
}

/**
 * Host directories that `file` URLs may point into, compared as paths
 * without reading the file system.
 */
export interface FileAccess {
  /** Absolute directories that `file` URLs may point into. */
  allowed: readonly string[];
  /** Absolute directories out of reach even inside an allowed one. */
  denied: readonly string[];
}

/**
 * Returns why a `file` URL or bare path that {@link urlProblem} accepts
 * points outside the allowed directories or into a denied one, or
 * undefined for any other URL. Symbolic links are not followed here, so
 * the filers check the resolved path again when they stage the file.
 */
export function fileAccessProblem(url: string, access: FileAccess): string | undefined {
  if (urlScheme(url) !== 'file') return undefined;
  const localPath = path.resolve(url.startsWith('/') ? url : fileURLToPath(url));
  const denied = access.denied.find((directory) => isInsideDirectory(localPath, directory));
  if (denied !== undefined) {
    return (
      `"${url}" is inside ${denied}, the data directory of the server, which no task may ` +
      'read or write; use another directory'
    );
  }
  if (access.allowed.some((directory) => isInsideDirectory(localPath, directory))) {
    return undefined;
  }
  const allowed = access.allowed.length > 0 ? access.allowed.join(', ') : 'none';
  return (
    `"${url}" is outside the directories that file urls may use (${allowed}); use a path ` +
    'inside one of them, or add its directory to POIESIS_FILE_ALLOW'
  );
}

function isInsideDirectory(localPath: string, directory: string): boolean {
  const relative = path.relative(directory, localPath);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
