import { expect } from 'chai';
import { fitTails, MAX_TASK_LOG_CHARACTERS } from '../../functions/texam/log-budget.js';
import type { Task } from '../../functions/lib/tes/schemas.js';

function taskWithLogs(outputs: Array<{ stdout: string; stderr: string }>): Task {
  return {
    id: 't',
    state: 'RUNNING',
    executors: [],
    logs: [{ logs: outputs.map((log) => ({ ...log, exit_code: 0 })), outputs: [] }],
  } as unknown as Task;
}

describe('texam: log budget', () => {
  const half = MAX_TASK_LOG_CHARACTERS / 2;

  it('keeps tails within the budget whole', () => {
    const fitted = fitTails(taskWithLogs([]), 0, { stdout: 'out', stderr: 'err' });
    expect(fitted).to.deep.equal({ stdout: 'out', stderr: 'err', shortened: false });
  });

  it('shortens tails from the start', () => {
    const used = 'x'.repeat(MAX_TASK_LOG_CHARACTERS - 10);
    const task = taskWithLogs([{ stdout: used, stderr: '' }]);

    const fitted = fitTails(task, 1, { stdout: '0123456789', stderr: 'abcdefghij' });

    expect(fitted.stdout).to.equal('56789');
    expect(fitted.stderr).to.equal('fghij');
    expect(fitted.shortened).to.equal(true);
  });

  it('keeps nothing once the budget is spent', () => {
    const task = taskWithLogs([{ stdout: 'x'.repeat(half), stderr: 'y'.repeat(half) }]);
    const fitted = fitTails(task, 1, { stdout: 'late', stderr: '' });
    expect(fitted).to.deep.equal({ stdout: '', stderr: '', shortened: true });
  });

  it('ignores the earlier log of the same executor', () => {
    const task = taskWithLogs([{ stdout: 'x'.repeat(MAX_TASK_LOG_CHARACTERS), stderr: '' }]);
    const fitted = fitTails(task, 0, { stdout: 'again', stderr: '' });
    expect(fitted.stdout).to.equal('again');
  });
});
