import { expect } from 'chai';
import { MountPlanError } from '../../functions/lib/runtime/errors.js';
import {
  TaskLayout,
  containerToHostPath,
  normalizeContainerPath,
} from '../../functions/lib/runtime/layout.js';

const TASK_ID = '01m90wqtyb8bdfbf4athx9w2a9';

describe('TaskLayout', function () {
  const layout = new TaskLayout('/var/poiesis/tasks', TASK_ID);

  it('root and volume directories', function () {
    expect(layout.root).to.equal(`/var/poiesis/tasks/${TASK_ID}`);
    expect(layout.fsRoot).to.equal(`/var/poiesis/tasks/${TASK_ID}/fs`);
  });

  it('container path mirrored under fs', function () {
    expect(layout.hostPath('/data/in/reads.fq')).to.equal(
      `/var/poiesis/tasks/${TASK_ID}/fs/data/in/reads.fq`,
    );
    expect(layout.hostPath('/data//out/./x/')).to.equal(
      `/var/poiesis/tasks/${TASK_ID}/fs/data/out/x`,
    );
    expect(layout.hostPath('/')).to.equal(layout.fsRoot);
  });

  it('path escaping the volume rejected', function () {
    for (const path of ['relative/x', '/data/../../etc', '', '/a\0b']) {
      expect(() => layout.hostPath(path), JSON.stringify(path)).to.throw(MountPlanError);
    }
  });

  it('executor files', function () {
    expect(layout.executorDir(2)).to.equal(`/var/poiesis/tasks/${TASK_ID}/executors/2`);
    expect(layout.stdoutFile(0)).to.equal(`/var/poiesis/tasks/${TASK_ID}/executors/0/stdout`);
    expect(layout.stderrFile(0)).to.equal(`/var/poiesis/tasks/${TASK_ID}/executors/0/stderr`);
    expect(layout.reasonFile(1)).to.equal(`/var/poiesis/tasks/${TASK_ID}/executors/1/reason`);
  });

  it('invalid executor index rejected', function () {
    expect(() => layout.executorDir(-1)).to.throw(RangeError);
    expect(() => layout.executorDir(1.5)).to.throw(RangeError);
  });

  it('unsafe task id rejected', function () {
    for (const taskId of ['', '..', '../x', 'a/b', '-flag', 'a b']) {
      expect(() => new TaskLayout('/t', taskId), taskId).to.throw(RangeError);
    }
  });

  it('relative tasks directory resolved', function () {
    expect(new TaskLayout('tasks', TASK_ID).root).to.equal(`${process.cwd()}/tasks/${TASK_ID}`);
  });
});

describe('containerToHostPath', function () {
  it('same as the layout', function () {
    expect(containerToHostPath('/t', TASK_ID, '/a/b')).to.equal(`/t/${TASK_ID}/fs/a/b`);
  });
});

describe('normalizeContainerPath', function () {
  it('canonical form', function () {
    expect(normalizeContainerPath('/a//b/./c/')).to.equal('/a/b/c');
    expect(normalizeContainerPath('/')).to.equal('/');
  });
});
