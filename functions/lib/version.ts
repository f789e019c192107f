/**
 * Versions Poiesis reports: its own (from package.json) and the TES
 * specification it implements.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The TES specification this server implements. */
export const TES_SPEC = {
  version: '1.1.0',
  repository: 'https://github.com/ga4gh/task-execution-schemas',
  tag: 'v1.1',
  commit: '117cd927aa119469ee80cedbd8940c968b81c5d6',
} as const;

function findPackageJson(): { version: string } {
  // Walks up because the file runs both from the sources and from dist/.
  let directory = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(directory, 'package.json');
    try {
      const parsed = JSON.parse(readFileSync(candidate, 'utf8')) as {
        name?: string;
        version: string;
      };
      if (parsed.name === 'poiesis') return parsed;
    } catch {
      // No package.json at this level: keep walking up.
    }
    const parent = path.dirname(directory);
    if (parent === directory) throw new Error('package.json of poiesis not found');
    directory = parent;
  }
}

/** The version of Poiesis, from its package.json. */
export const POIESIS_VERSION: string = findPackageJson().version;
