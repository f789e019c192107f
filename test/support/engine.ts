/**
 * The container engine the end-to-end tests use: podman, else docker, as
 * `poiesis local` picks it. Tests that need one skip with a reason without it.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let detected: string | null | undefined;

export function engineForTests(): string | undefined {
  if (detected === undefined) {
    detected = null;
    for (const candidate of ['podman', 'docker']) {
      try {
        execFileSync(candidate, ['version'], { stdio: 'ignore' });
        detected = candidate;
        break;
      } catch {
        // Not installed or not working: try the next one.
      }
    }
  }
  return detected ?? undefined;
}

/** Skips the suite when no container engine works here. */
export function skipWithoutEngine(context: Mocha.Context): void {
  if (!engineForTests()) {
    console.log('    skipped: neither podman nor docker works on this machine');
    context.skip();
  }
}

const BUILD_SCRIPT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../scripts/build-test-image.sh',
);

/**
 * Makes sure an image named `alpine` exists, as the shared cases name it.
 * Without a registry, the busybox test image is built and tagged so.
 */
export function ensureAlpineImage(engine: string): void {
  try {
    execFileSync(engine, ['image', 'inspect', 'alpine'], { stdio: 'ignore' });
  } catch {
    execFileSync(BUILD_SCRIPT, [engine], { stdio: 'inherit' });
  }
}
