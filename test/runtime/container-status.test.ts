import { expect } from 'chai';
import {
  LABELS,
  containerName,
  toContainerStatus,
  toRfc3339,
} from '../../functions/lib/runtime/container-status.js';
import type { InspectedContainer } from '../../functions/lib/runtime/engine.js';

const labels = {
  [LABELS.managed]: 'true',
  [LABELS.tasksDir]: '/data/tasks',
  [LABELS.taskId]: 'task-1',
  [LABELS.executorIndex]: '2',
};

function container(state: Partial<InspectedContainer['State']>, extra = {}): InspectedContainer {
  return {
    Id: 'abc123',
    Name: 'poiesis-task-1-exec-2',
    ImageName: 'docker.io/library/alpine:latest',
    State: {
      Status: 'running',
      ExitCode: 0,
      StartedAt: '2026-12-04T15:54:01.129056183Z',
      FinishedAt: '0001-01-01T00:00:00Z',
      ...state,
    },
    Config: { Image: 'alpine', Labels: labels },
    ...extra,
  };
}

describe('toContainerStatus', function () {
  it('running podman container', function () {
    expect(toContainerStatus(container({}))).to.deep.equal({
      taskId: 'task-1',
      executorIndex: 2,
      containerId: 'abc123',
      name: 'poiesis-task-1-exec-2',
      image: 'docker.io/library/alpine:latest',
      state: 'running',
      startTime: '2026-12-04T15:54:01.129Z',
    });
  });

  it('exited container with code and times', function () {
    const status = toContainerStatus(
      container({ Status: 'exited', ExitCode: 3, FinishedAt: '2026-12-04T15:54:02.5Z' }),
    );
    expect(status?.state).to.equal('exited');
    expect(status?.exitCode).to.equal(3);
    expect(status?.endTime).to.equal('2026-12-04T15:54:02.500Z');
    expect(status?.reason).to.equal('Error');
  });

  it('start after the end lowered to the end', function () {
    const status = toContainerStatus(
      container({
        Status: 'exited',
        StartedAt: '2026-12-04T15:54:01.180Z',
        FinishedAt: '2026-12-04T15:54:01.150Z',
      }),
    );
    expect(status?.startTime).to.equal('2026-12-04T15:54:01.150Z');
    expect(status?.endTime).to.equal('2026-12-04T15:54:01.150Z');
  });

  it('reasons Completed and OOMKilled', function () {
    expect(toContainerStatus(container({ Status: 'exited' }))?.reason).to.equal('Completed');
    const killed = container({ Status: 'exited', ExitCode: 137, OOMKilled: true });
    expect(toContainerStatus(killed)?.reason).to.equal('OOMKilled');
  });

  it('docker name and image', function () {
    const status = toContainerStatus(
      container({}, { Name: '/poiesis-task-1-exec-2', ImageName: undefined }),
    );
    expect(status?.name).to.equal('poiesis-task-1-exec-2');
    expect(status?.image).to.equal('alpine');
  });

  it('engine states mapped', function () {
    const cases: Array<[string, string]> = [
      ['created', 'created'],
      ['configured', 'created'],
      ['running', 'running'],
      ['paused', 'running'],
      ['stopped', 'exited'],
      ['dead', 'exited'],
      ['removing', 'unknown'],
    ];
    for (const [engineState, state] of cases) {
      expect(toContainerStatus(container({ Status: engineState }))?.state, engineState).to.equal(
        state,
      );
    }
  });

  it('engine error kept as message', function () {
    const status = toContainerStatus(container({ Status: 'exited', Error: 'runc failed' }));
    expect(status?.message).to.equal('runc failed');
  });

  it('container without executor labels ignored', function () {
    const foreign = container({}, { Config: { Labels: { other: 'x' } } });
    expect(toContainerStatus(foreign)).to.equal(undefined);
    const noLabels = container({}, { Config: { Labels: null } });
    expect(toContainerStatus(noLabels)).to.equal(undefined);
  });
});

describe('toRfc3339', function () {
  it('nanoseconds and offsets', function () {
    expect(toRfc3339('2026-12-04T15:54:01.129056183Z')).to.equal('2026-12-04T15:54:01.129Z');
    expect(toRfc3339('2026-12-04T16:54:01.5+01:00')).to.equal('2026-12-04T15:54:01.500Z');
  });

  it('zero time and garbage unset', function () {
    expect(toRfc3339('0001-01-01T00:00:00Z')).to.equal(undefined);
    expect(toRfc3339('')).to.equal(undefined);
    expect(toRfc3339('yesterday')).to.equal(undefined);
    expect(toRfc3339(undefined)).to.equal(undefined);
  });
});

describe('containerName', function () {
  it('derived from task and index', function () {
    expect(containerName({ taskId: 'abc', executorIndex: 4 })).to.equal('poiesis-abc-exec-4');
  });
});
