import { expect } from 'chai';
import { ValidationError } from '../../functions/lib/errors.js';
import { MAX_BODY_DEPTH, prepareTask } from '../../functions/lib/tes/validation.js';
import {
  canonicalUrl,
  fileAccessProblem,
  urlProblem,
} from '../../functions/lib/tes/validation-urls.js';

const options = { backendParameters: [] };

function task(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { executors: [{ image: 'alpine', command: ['true'] }], ...overrides };
}

/** Returns the problems `prepareTask` throws for `body`, failing when it accepts the body. */
function problemsOf(body: unknown): readonly string[] {
  try {
    prepareTask(body, options);
  } catch (error) {
    if (error instanceof ValidationError) return error.problems;
    throw error;
  }
  expect.fail('the body was accepted');
}

/** Returns an array nested `depth` levels deep: `[[...]]`. */
function nestedArray(depth: number): unknown[] {
  const root: unknown[] = [];
  let current = root;
  for (let level = 1; level < depth; level++) {
    const child: unknown[] = [];
    current.push(child);
    current = child;
  }
  return root;
}

describe('validation: prepareTask', () => {
  it('counts depth through arrays', () => {
    const problems = problemsOf(task({ zones: nestedArray(MAX_BODY_DEPTH) }));
    expect(problems).to.deep.equal([
      `body: objects and arrays are nested deeper than the limit of ${MAX_BODY_DEPTH} levels`,
    ]);
  });

  it('leaves the request body unchanged', () => {
    const body = task({ extra: 1, logs: [], name: null });
    const copy = structuredClone(body);
    prepareTask(body, options);
    expect(body).to.deep.equal(copy);
  });

  it('keeps __proto__ as an env name', () => {
    const body = JSON.parse(
      '{"executors": [{"image": "a", "command": ["x"], "env": {"__proto__": "v"}}]}',
    ) as unknown;
    const { task: prepared } = prepareTask(body, options);
    const env = prepared.executors[0]?.env ?? {};
    expect(Object.keys(env)).to.deep.equal(['__proto__']);
    expect(Object.getPrototypeOf(env)).to.equal(Object.prototype);
  });

  it('drops unknown resource members and state', () => {
    const { task: prepared } = prepareTask(
      task({ resources: { zones: ['a'], extra: { b: 1 } }, state: 'QUEUED' }),
      options,
    );
    expect(prepared.resources).to.deep.equal({ zones: ['a'] });
    expect(prepared).to.not.have.property('state');
  });

  it('reports malformed and unmountable paths together', () => {
    const problems = problemsOf(
      task({
        inputs: [
          { path: 'relative', content: 'x' },
          { path: '/proc/x', content: 'x' },
        ],
        volumes: ['rel', '/dev/shm/x'],
      }),
    );
    expect(problems).to.deep.equal([
      'inputs[0].path: must be an absolute path, got "relative"',
      'volumes[0]: must be an absolute path, got "rel"',
      'volumes[1]: /dev/shm/x is inside /dev, which the container engine provides; use a directory such as /data',
      'inputs[1].path: /proc/x is inside /proc, which the container engine provides; use a directory such as /data',
    ]);
  });

  it('reports every input in a clash', () => {
    const problems = problemsOf(
      task({
        inputs: [
          { path: '/d/x', content: 'a' },
          { path: '/d/x', content: 'b' },
          { path: '/d/x/y', content: 'c' },
          { path: '/d', content: 'd' },
        ],
      }),
    );
    expect(problems).to.deep.equal([
      'inputs[1].path: "/d/x" is also the path of inputs[0]; give each input its own path',
      'inputs[2].path: "/d/x/y" cannot be inside "/d/x", which inputs[0] makes a file',
      'inputs[3].path: "/d" cannot be a file, because "/d/x" of inputs[0] is inside it',
    ]);
  });

  it('counts env entries in UTF-8 bytes', () => {
    // "é" is 2 bytes in UTF-8, so "A=" and 65,535 of them are 131,072 bytes, one above the limit.
    const problems = problemsOf({
      executors: [{ image: 'a', command: ['x'], env: { A: 'é'.repeat(65_535) } }],
    });
    expect(problems).to.deep.equal([
      'executors[0].env.A: NAME=value is 131072 bytes, above the limit of 131071 bytes; ' +
        'pass large data in an input file',
    ]);
  });
});

describe('validation: urlProblem', () => {
  const accepted = [
    '/data/x',
    'file:///data/x',
    'file://localhost/data/x',
    'http://example.org/x',
    'https://user@example.org:8443/x?y=1',
    's3://bucket/key',
  ];
  for (const url of accepted) {
    it(`accepts ${url}`, () => {
      expect(urlProblem(url, undefined)).to.equal(undefined);
    });
  }

  const rejected: Array<[string, string]> = [
    ['http:///x', '"http:///x" has no host'],
    ['https:example.org', '"https:example.org" has no host'],
    ['http://[::1/x', '"http://[::1/x" cannot be parsed as a URL'],
    ['file://otherhost/x', 'names the host "otherhost"'],
    ['file:///a%2Fb', 'must not contain an encoded "/" (%2F)'],
    ['data/x', '"data/x" is not a URL or an absolute path'],
  ];
  for (const [url, problem] of rejected) {
    it(`rejects ${url}`, () => {
      expect(urlProblem(url, undefined)).to.include(problem);
    });
  }

  it('checks the scheme before parsing', () => {
    expect(urlProblem('gs://', ['file'])).to.equal('scheme "gs" is not supported; supported: file');
  });
});

describe('validation: canonicalUrl', () => {
  it('reads a bare path as a file url', () => {
    expect(canonicalUrl('/tmp/a')).to.equal(canonicalUrl('file:///tmp/a'));
  });

  it('drops localhost and a trailing slash', () => {
    expect(canonicalUrl('file://localhost/tmp/a/')).to.equal('file:///tmp/a');
  });

  it('keeps the root path', () => {
    expect(canonicalUrl('https://example.org')).to.equal('https://example.org/');
  });

  it('returns undefined for a url that does not parse', () => {
    expect(canonicalUrl('http://')).to.equal(undefined);
  });
});

describe('validation: fileAccessProblem', () => {
  const access = { allowed: ['/srv/shared', '/home/ann'], denied: ['/home/ann/poiesis'] };

  for (const url of [
    'file:///srv/shared/a.txt',
    'file://localhost/srv/shared/dir/',
    '/home/ann/reads/r1.fq',
    'file:///srv/shared',
    'http://example.org/x',
  ]) {
    it(`accepts ${url}`, () => {
      expect(fileAccessProblem(url, access)).to.equal(undefined);
    });
  }

  it('rejects a path outside every directory', () => {
    expect(fileAccessProblem('file:///etc/passwd', access)).to.equal(
      '"file:///etc/passwd" is outside the directories that file urls may use ' +
        '(/srv/shared, /home/ann); use a path inside one of them, or add its directory to ' +
        'POIESIS_FILE_ALLOW',
    );
  });

  it('rejects a sibling with a common prefix', () => {
    expect(fileAccessProblem('/srv/shared-other/x', access)).to.include('is outside');
  });

  it('rejects .. that leaves the directory', () => {
    expect(fileAccessProblem('file:///srv/shared/../secret', access)).to.include('is outside');
  });

  it('rejects the denied directory inside an allowed one', () => {
    expect(fileAccessProblem('file:///home/ann/poiesis/tasks.db', access)).to.equal(
      '"file:///home/ann/poiesis/tasks.db" is inside /home/ann/poiesis, the data directory ' +
        'of the server, which no task may read or write; use another directory',
    );
  });

  it('names none when nothing is allowed', () => {
    expect(fileAccessProblem('/srv/x', { allowed: [], denied: [] })).to.include('(none)');
  });

  it('applies to inputs and outputs of a task', () => {
    let problems: readonly string[] = [];
    try {
      prepareTask(
        task({
          inputs: [
            { path: '/in/a', url: 'file:///etc/passwd' },
            { path: '/in/b', url: 'file:///etc/passwd', content: 'inline wins' },
          ],
          outputs: [{ path: '/out/c', url: 'file:///home/ann/poiesis/c' }],
        }),
        { ...options, fileAccess: access },
      );
    } catch (error) {
      if (error instanceof ValidationError) problems = error.problems;
    }
    expect(problems).to.have.lengthOf(2);
    expect(problems[0]).to.match(/^inputs\[0\]\.url: "file:\/\/\/etc\/passwd" is outside/);
    expect(problems[1]).to.match(/^outputs\[0\]\.url: .* is inside \/home\/ann\/poiesis/);
  });
});
