/**
 * Every member of a full task replaced with a value of each JSON type:
 * prepareTask must accept it or throw a ValidationError, because the API
 * turns any other error into a 500.
 */
import { expect } from 'chai';
import { ValidationError } from '../../functions/lib/errors.js';
import { prepareTask } from '../../functions/lib/tes/validation.js';

const FULL_TASK = {
  name: 'n',
  description: 'd',
  inputs: [
    { name: 'i', path: '/in/a.txt', url: 'file:///srv/a.txt', type: 'FILE' },
    { path: '/in/b', content: 'x', streamable: false },
  ],
  outputs: [
    { path: '/out/*.txt', path_prefix: '/out/', url: 'file:///srv/out/', type: 'FILE' },
    { path: '/out/dir', url: 'file:///srv/dir', type: 'DIRECTORY' },
  ],
  resources: {
    cpu_cores: 1,
    ram_gb: 1,
    disk_gb: 1,
    preemptible: false,
    zones: ['z'],
    backend_parameters: { k: 'v' },
    backend_parameters_strict: false,
  },
  executors: [
    {
      image: 'alpine',
      command: ['sh', '-c', 'true'],
      workdir: '/work',
      stdin: '/in/a.txt',
      stdout: '/out/stdout.txt',
      stderr: '/out/stderr.txt',
      env: { A: '1' },
      ignore_error: true,
    },
  ],
  volumes: ['/vol'],
  tags: { t: 'v' },
};

const OPTIONS = {
  backendParameters: [],
  inputSchemes: ['file', 'http', 'https'],
  outputSchemes: ['file'],
  fileAccess: { allowed: ['/srv'], denied: ['/srv/data'] },
};

const REPLACEMENTS: readonly unknown[] = [5, -1.5, true, 'x', '', '/', {}, [], [5], { a: 5 }];

/** Yields the path of every member and array item of `value`, depth first. */
function* memberPaths(
  value: unknown,
  prefix: Array<string | number> = [],
): Generator<Array<string | number>> {
  if (typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value)) {
    const path = [...prefix, Array.isArray(value) ? Number(key) : key];
    yield path;
    yield* memberPaths(child, path);
  }
}

function withReplacement(path: ReadonlyArray<string | number>, replacement: unknown): unknown {
  const copy = structuredClone(FULL_TASK) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  parent[path.at(-1)!] = replacement;
  return copy;
}

describe('validation: members of every type', function () {
  it('full task is valid', function () {
    expect(() => prepareTask(FULL_TASK, OPTIONS)).to.not.throw();
  });

  it('every replacement accepted or a ValidationError', function () {
    const unexpected: string[] = [];
    for (const path of memberPaths(FULL_TASK)) {
      for (const replacement of REPLACEMENTS) {
        try {
          prepareTask(withReplacement(path, replacement), OPTIONS);
        } catch (error) {
          if (!(error instanceof ValidationError)) {
            unexpected.push(`${path.join('.')} = ${JSON.stringify(replacement)}: ${String(error)}`);
          }
        }
      }
    }
    expect(unexpected).to.deep.equal([]);
  });
});
