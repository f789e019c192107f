/**
 * Picks the storage backend for a URL by its scheme, and lists the schemes
 * the server supports for service-info.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StorageBackend } from './backend.js';
import { InvalidUrlError, UnsupportedOperationError, UnsupportedSchemeError } from './errors.js';
import { FileBackend, type FileBackendOptions } from './file.js';
import { HttpBackend, type HttpBackendOptions } from './http.js';
import { schemeOf } from './url.js';

/** A URL paired with the backend that serves its scheme. */
export interface ResolvedUrl {
  backend: StorageBackend;
  url: URL;
}

/** The storage backends of one server, one per URL scheme. */
export class StorageRegistry {
  private readonly backends = new Map<string, StorageBackend>();

  /** Throws a TypeError when two backends claim the same scheme. */
  constructor(backends: readonly StorageBackend[]) {
    for (const backend of backends) {
      for (const scheme of backend.schemes) {
        if (this.backends.has(scheme)) {
          throw new TypeError(`two storage backends serve the scheme ${scheme}; keep one`);
        }
        this.backends.set(scheme, backend);
      }
    }
  }

  /** The supported URL schemes, sorted, such as `['file', 'http', 'https']`. */
  get schemes(): string[] {
    return [...this.backends.keys()].sort();
  }

  /** The schemes that outputs can be uploaded to. */
  get uploadSchemes(): string[] {
    return this.schemes.filter((scheme) => this.backends.get(scheme)?.supportsUpload);
  }

  /**
   * Parses `url` and returns it with its backend. A plain absolute path such
   * as `/data/x`, which TES allows for inputs, is taken as a `file` URL.
   * Throws {@link InvalidUrlError} or {@link UnsupportedSchemeError}.
   */
  resolve(url: string): ResolvedUrl {
    const parsed = parseUrl(url);
    const scheme = parsed.protocol.slice(0, -1);
    const backend = this.backends.get(scheme);
    if (backend === undefined) throw new UnsupportedSchemeError(url, scheme, this.schemes);
    return { backend, url: parsed };
  }

  /**
   * Like {@link resolve}, and also throws {@link UnsupportedOperationError}
   * when the backend cannot upload, so an output URL can be checked before
   * any work is done.
   */
  resolveForUpload(url: string): ResolvedUrl {
    const resolved = this.resolve(url);
    if (!resolved.backend.supportsUpload) {
      throw new UnsupportedOperationError(
        url,
        'upload',
        `set the output url to one of these schemes: ${this.uploadSchemes.join(', ')}`,
      );
    }
    return resolved;
  }
}

export interface StorageRegistryOptions {
  file?: FileBackendOptions;
  http?: HttpBackendOptions;
}

/** Creates a registry with the built-in backends: `file`, `http` and `https`. */
export function createStorageRegistry(options: StorageRegistryOptions = {}): StorageRegistry {
  return new StorageRegistry([new FileBackend(options.file), new HttpBackend(options.http)]);
}

function parseUrl(url: string): URL {
  if (schemeOf(url) === undefined) {
    if (!path.posix.isAbsolute(url)) {
      throw new InvalidUrlError(url, 'it has no scheme and is not an absolute path');
    }
    return pathToFileURL(url);
  }
  try {
    return new URL(url);
  } catch (error) {
    throw new InvalidUrlError(url, 'it cannot be parsed as a url', { cause: error });
  }
}
