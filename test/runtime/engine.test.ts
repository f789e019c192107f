import { expect } from 'chai';
import {
  ContainerEngine,
  detectEngine,
  parseInspect,
  type ExecFileFunction,
} from '../../functions/lib/runtime/engine.js';
import {
  ContainerEngineError,
  ContainerEngineNotFoundError,
} from '../../functions/lib/runtime/errors.js';

interface Call {
  file: string;
  args: readonly string[];
  timeout: number;
  cwd: string | undefined;
}

/** Makes a fake CLI whose `respond` decides each call's output or failure. */
function fakeCli(respond: (call: Call) => { stdout?: string; error?: object }) {
  const calls: Call[] = [];
  const execFile: ExecFileFunction = (file, args, options) => {
    const call = { file, args, timeout: options.timeout, cwd: options.cwd };
    calls.push(call);
    const { stdout = '', error } = respond(call);
    if (error) return Promise.reject(Object.assign(new Error('command failed'), error));
    return Promise.resolve({ stdout, stderr: '' });
  };
  return { calls, execFile };
}

const enoent = { error: { code: 'ENOENT' } };

describe('detectEngine', function () {
  it('first candidate that runs', async function () {
    const cli = fakeCli((call) => (call.file === 'podman' ? enoent : { stdout: 'Docker 28' }));
    expect(await detectEngine(['podman', 'docker'], cli.execFile)).to.equal('docker');
    expect(cli.calls.map((call) => [call.file, ...call.args])).to.deep.equal([
      ['podman', '--version'],
      ['docker', '--version'],
    ]);
  });

  it('none found', async function () {
    const cli = fakeCli(() => enoent);
    expect(await detectEngine(['podman', 'docker'], cli.execFile)).to.equal(undefined);
  });
});

describe('ContainerEngine', function () {
  it('configured binary used without detection', async function () {
    const cli = fakeCli(() => ({ stdout: '' }));
    const engine = new ContainerEngine({ binary: '/opt/podman', execFile: cli.execFile });
    await engine.run(['ps']);
    expect(cli.calls).to.have.length(1);
    expect(cli.calls[0]!.file).to.equal('/opt/podman');
  });

  it('no engine found', async function () {
    const cli = fakeCli(() => enoent);
    const engine = new ContainerEngine({ execFile: cli.execFile });
    const error = await engine.run(['ps']).catch((error: unknown) => error);
    expect(error).to.be.instanceOf(ContainerEngineNotFoundError);
    expect((error as ContainerEngineNotFoundError).message).to.include('podman, docker');
  });

  it('failure carries exit code and last stderr lines', async function () {
    const cli = fakeCli(() => ({ error: { code: 125, stderr: 'line 1\nError: boom\n' } }));
    const engine = new ContainerEngine({ binary: 'podman', execFile: cli.execFile });
    const error = await engine.run(['run', '--env', 'SECRET=x']).catch((error: unknown) => error);
    expect(error).to.be.instanceOf(ContainerEngineError);
    expect((error as ContainerEngineError).exitCode).to.equal(125);
    expect((error as ContainerEngineError).command).to.equal('podman run');
    expect((error as ContainerEngineError).detail).to.equal('line 1 Error: boom');
    expect((error as ContainerEngineError).message).to.not.include('SECRET');
  });

  it('timeout reported', async function () {
    const cli = fakeCli(() => ({ error: { killed: true, signal: 'SIGTERM' } }));
    const engine = new ContainerEngine({
      binary: 'podman',
      commandTimeoutMs: 1234,
      execFile: cli.execFile,
    });
    const error = await engine.run(['ps']).catch((error: unknown) => error);
    expect((error as ContainerEngineError).detail).to.equal('timed out after 1234 ms');
    expect(cli.calls[0]!.timeout).to.equal(1234);
  });

  it('timeout and cwd per call', async function () {
    const cli = fakeCli(() => ({}));
    const engine = new ContainerEngine({ binary: 'podman', execFile: cli.execFile });
    await engine.run(['ps']);
    await engine.run(['run'], { timeoutMs: 99, cwd: '/srv/task' });
    expect(cli.calls[0]!.timeout).to.equal(60_000);
    expect(cli.calls[0]!.cwd).to.equal(undefined);
    expect(cli.calls[1]!.timeout).to.equal(99);
    expect(cli.calls[1]!.cwd).to.equal('/srv/task');
  });

  it('listStates reads podman and docker states', async function () {
    const cli = fakeCli(() => ({
      stdout:
        'aaa a Up 3 seconds\nbbb b Exited (0) 1 second ago\nccc c running\nddd d exited\n' +
        'eee e Created\nfff f Removing\n',
    }));
    const engine = new ContainerEngine({ binary: 'podman', execFile: cli.execFile });
    expect(await engine.listStates({ a: '1' })).to.deep.equal([
      { id: 'aaa', name: 'a', state: 'running' },
      { id: 'bbb', name: 'b', state: 'exited' },
      { id: 'ccc', name: 'c', state: 'running' },
      { id: 'ddd', name: 'd', state: 'exited' },
      { id: 'eee', name: 'e', state: 'created' },
      { id: 'fff', name: 'f', state: 'unknown' },
    ]);
    expect(cli.calls[0]!.args).to.include('{{.ID}} {{.Names}} {{.State}}');
    expect(cli.calls[0]!.args).to.include('label=a=1');
  });

  it('listIds filters by every label', async function () {
    const cli = fakeCli(() => ({ stdout: 'aaa\nbbb\n' }));
    const engine = new ContainerEngine({ binary: 'podman', execFile: cli.execFile });
    expect(await engine.listIds({ a: '1', b: '2' })).to.deep.equal(['aaa', 'bbb']);
    expect(cli.calls[0]!.args).to.deep.equal([
      'ps',
      '--all',
      '--quiet',
      '--no-trunc',
      '--filter',
      'label=a=1',
      '--filter',
      'label=b=2',
    ]);
  });

  it('inspect keeps containers found before a missing one', async function () {
    const found = JSON.stringify([
      { Id: 'aaa', Name: 'x', State: { Status: 'running', ExitCode: 0 }, Config: {} },
    ]);
    const cli = fakeCli(() => ({ error: { code: 125, stdout: found, stderr: 'no such object' } }));
    const engine = new ContainerEngine({ binary: 'podman', execFile: cli.execFile });
    const containers = await engine.inspect(['aaa', 'gone']);
    expect(containers.map((container) => container.Id)).to.deep.equal(['aaa']);
  });

  it('inspect failure without output rethrown', async function () {
    const cli = fakeCli(() => ({ error: { code: 125, stdout: '', stderr: 'engine down' } }));
    const engine = new ContainerEngine({ binary: 'podman', execFile: cli.execFile });
    const error = await engine.inspect(['aaa']).catch((error: unknown) => error);
    expect(error).to.be.instanceOf(ContainerEngineError);
  });

  it('inspect of no ids calls nothing', async function () {
    const cli = fakeCli(() => ({ stdout: '[]' }));
    const engine = new ContainerEngine({ binary: 'podman', execFile: cli.execFile });
    expect(await engine.inspect([])).to.deep.equal([]);
    expect(cli.calls).to.have.length(0);
  });

  it('imageExists from the exit code', async function () {
    const cli = fakeCli((call) =>
      call.args.includes('present') ? { stdout: 'sha256:1' } : { error: { code: 125 } },
    );
    const engine = new ContainerEngine({ binary: 'podman', execFile: cli.execFile });
    expect(await engine.imageExists('present')).to.equal(true);
    expect(await engine.imageExists('absent')).to.equal(false);
  });
});

describe('parseInspect', function () {
  it('entries without the read fields dropped', function () {
    const stdout = JSON.stringify([
      { Id: 'a', State: { Status: 'exited', ExitCode: 0 }, Config: {} },
      { Id: 'b' },
      null,
    ]);
    expect(parseInspect(stdout).map((container) => container.Id)).to.deep.equal(['a']);
  });

  it('empty output is no container', function () {
    expect(parseInspect('')).to.deep.equal([]);
  });
});
