import { expect } from 'chai';
import { MountPlanError } from '../../functions/lib/runtime/errors.js';
import { isWithin, planMounts, type MountPlan } from '../../functions/lib/runtime/mounts.js';
import type { RuntimeTask } from '../../functions/lib/runtime/runtime.js';

type Paths = Pick<RuntimeTask, 'inputs' | 'outputs' | 'volumes'>;

function mountsOf(task: Paths): MountPlan['mounts'] {
  return planMounts(task).mounts;
}

function problemsOf(task: Paths): string[] {
  try {
    planMounts(task);
  } catch (error) {
    expect(error).to.be.instanceOf(MountPlanError);
    expect((error as MountPlanError).reason).to.equal('UnsupportedPath');
    return [...(error as MountPlanError).problems];
  }
  throw new Error('planMounts accepted the task');
}

const url = 'file:///tmp/out';

describe('planMounts', function () {
  it('empty task mounts nothing', function () {
    expect(planMounts({})).to.deep.equal({ mounts: [], directories: [] });
  });

  it('volumes mounted as directories', function () {
    expect(mountsOf({ volumes: ['/scratch', '/data/'] })).to.deep.equal([
      { path: '/data', type: 'DIRECTORY' },
      { path: '/scratch', type: 'DIRECTORY' },
    ]);
  });

  it('file input mounts its parent directory', function () {
    expect(mountsOf({ inputs: [{ path: '/data/in/reads.fq', url }] })).to.deep.equal([
      { path: '/data/in', type: 'DIRECTORY' },
    ]);
  });

  it('directory input mounts its path', function () {
    expect(mountsOf({ inputs: [{ path: '/ref/genome', url, type: 'DIRECTORY' }] })).to.deep.equal([
      { path: '/ref/genome', type: 'DIRECTORY' },
    ]);
  });

  it('file output mounts its parent directory', function () {
    expect(mountsOf({ outputs: [{ path: '/out/result.txt', url }] })).to.deep.equal([
      { path: '/out', type: 'DIRECTORY' },
    ]);
  });

  it('directory output mounts its path', function () {
    expect(mountsOf({ outputs: [{ path: '/out/all', url, type: 'DIRECTORY' }] })).to.deep.equal([
      { path: '/out/all', type: 'DIRECTORY' },
    ]);
  });

  it('wildcard output mounts its leading directories', function () {
    const cases: Array<[string, string]> = [
      ['/out/run/*.txt', '/out/run'],
      ['/out/*/part-?.csv', '/out'],
      ['/out/run/file[0-9].txt', '/out/run'],
      ['/tmp/*', '/tmp'],
    ];
    for (const [path, mounted] of cases) {
      expect(mountsOf({ outputs: [{ path, path_prefix: mounted, url }] }), path).to.deep.equal([
        { path: mounted, type: 'DIRECTORY' },
      ]);
    }
  });

  it('nested directories collapse into the outermost', function () {
    const plan = planMounts({
      volumes: ['/data'],
      inputs: [
        { path: '/data/in/a.txt', url },
        { path: '/data/in/deep/b.txt', url },
        { path: '/ref/x.fa', url },
      ],
      outputs: [
        { path: '/data/out/*.bam', path_prefix: '/data/out', url },
        { path: '/ref/index', url, type: 'DIRECTORY' },
      ],
    });
    expect(plan.mounts).to.deep.equal([
      { path: '/data', type: 'DIRECTORY' },
      { path: '/ref', type: 'DIRECTORY' },
    ]);
    expect(plan.directories).to.deep.equal([
      '/data',
      '/data/in',
      '/data/in/deep',
      '/data/out',
      '/ref',
      '/ref/index',
    ]);
  });

  it('collapse does not merge sibling prefixes', function () {
    expect(mountsOf({ volumes: ['/data', '/data-2', '/data/sub'] })).to.deep.equal([
      { path: '/data', type: 'DIRECTORY' },
      { path: '/data-2', type: 'DIRECTORY' },
    ]);
  });

  it('same directory from several fields mounted once', function () {
    expect(
      mountsOf({
        volumes: ['/work'],
        inputs: [{ path: '/work/a', url }],
        outputs: [{ path: '/work/b', url }],
      }),
    ).to.deep.equal([{ path: '/work', type: 'DIRECTORY' }]);
  });

  it('file directly under / mounted alone', function () {
    expect(
      mountsOf({
        inputs: [{ path: '/input.txt', url }],
        outputs: [{ path: '/result.txt', url }],
      }),
    ).to.deep.equal([
      { path: '/input.txt', type: 'FILE' },
      { path: '/result.txt', type: 'FILE' },
    ]);
  });

  it('file in a system directory mounted alone', function () {
    const files = [
      '/etc/app.conf',
      '/usr/local/bin/tool',
      '/bin/helper',
      '/opt/settings.json',
      '/var/lib/app/state.db',
      '/root/.netrc',
    ];
    for (const path of files) {
      expect(mountsOf({ inputs: [{ path, url }] }), path).to.deep.equal([{ path, type: 'FILE' }]);
    }
  });

  it('subdirectory of /opt or /home mounted as a directory', function () {
    expect(
      mountsOf({
        inputs: [
          { path: '/opt/data/x.txt', url },
          { path: '/home/user/y.txt', url },
        ],
      }),
    ).to.deep.equal([
      { path: '/home/user', type: 'DIRECTORY' },
      { path: '/opt/data', type: 'DIRECTORY' },
    ]);
  });

  it('file mount inside a mounted directory dropped', function () {
    expect(mountsOf({ volumes: ['/etc'], inputs: [{ path: '/etc/app.conf', url }] })).to.deep.equal(
      [{ path: '/etc', type: 'DIRECTORY' }],
    );
  });

  it('directory named by the task in a system tree mounted', function () {
    expect(
      mountsOf({ inputs: [{ path: '/usr/share/data', url, type: 'DIRECTORY' }] }),
    ).to.deep.equal([{ path: '/usr/share/data', type: 'DIRECTORY' }]);
  });

  it('root as a directory rejected', function () {
    const problems = problemsOf({
      volumes: ['/'],
      inputs: [{ path: '/', url, type: 'DIRECTORY' }],
      outputs: [{ path: '/', url, type: 'DIRECTORY' }],
    });
    expect(problems).to.have.length(3);
    expect(problems[0]).to.match(/^volumes\[0\]: mounting \/ would hide the whole image/);
    expect(problems[1]).to.match(/^inputs\[0\]\.path: /);
    expect(problems[2]).to.match(/^outputs\[0\]\.path: /);
  });

  it('wildcard under a protected directory rejected', function () {
    const problems = problemsOf({
      outputs: [
        { path: '/*.txt', path_prefix: '/', url },
        { path: '/usr/lib/*.so', path_prefix: '/usr/lib', url },
        { path: '/opt/*.log', path_prefix: '/opt', url },
      ],
    });
    expect(problems).to.have.length(3);
    expect(problems[0]).to.include('outputs[0].path');
    expect(problems[1]).to.include('/usr/lib');
    expect(problems[2]).to.include('/opt');
  });

  it('kernel trees rejected', function () {
    const problems = problemsOf({
      volumes: ['/proc/x', '/sys', '/dev/shm'],
      inputs: [{ path: '/dev/input.bin', url }],
    });
    expect(problems).to.have.length(4);
    expect(problems[1]).to.include('/sys');
    expect(problems[3]).to.include('inputs[0].path');
  });

  it('reserved directory rejected', function () {
    const problems = problemsOf({ volumes: ['/.poiesis/log'] });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.include('reserves');
  });

  it('relative and dot-dot paths rejected', function () {
    const problems = problemsOf({
      volumes: ['data'],
      inputs: [{ path: '/data/../etc/passwd', url }],
    });
    expect(problems).to.have.length(2);
    expect(problems[0]).to.match(/^volumes\[0\]: path: must be an absolute path/);
    expect(problems[1]).to.match(/^inputs\[0\]\.path: path: must not contain "\.\."/);
  });

  it('every problem reported at once', function () {
    const problems = problemsOf({
      volumes: ['/', '/ok'],
      outputs: [{ path: '/*.txt', path_prefix: '/', url }],
    });
    expect(problems).to.have.length(2);
  });
});

describe('isWithin', function () {
  it('equal, child, sibling and root', function () {
    expect(isWithin('/a', '/a')).to.equal(true);
    expect(isWithin('/a/b', '/a')).to.equal(true);
    expect(isWithin('/ab', '/a')).to.equal(false);
    expect(isWithin('/a', '/a/b')).to.equal(false);
    expect(isWithin('/anything', '/')).to.equal(true);
  });
});
