/**
 * The helper script run directly by the host's busybox, without a
 * container: the paths it gets are host paths in a temporary directory.
 */
import { spawn } from 'node:child_process';
import { accessSync, mkdtempSync, rmSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { HELPER_FILES, helperArguments } from '../../functions/lib/runtime/helper.js';
import type { TesExecutor } from '../../functions/lib/tes/schemas.js';

const BUSYBOX = '/bin/busybox';

function busyboxPresent(): boolean {
  try {
    accessSync(BUSYBOX);
    return true;
  } catch {
    return false;
  }
}

const describeWithBusybox = busyboxPresent() ? describe : describe.skip;
const title = busyboxPresent() ? '' : ` (skipped: ${BUSYBOX} is missing)`;

interface HelperRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** What the helper process itself wrote, outside the log files. */
  processOutput: string;
}

describeWithBusybox(`helper script${title}`, function () {
  let dir: string;
  let logDir: string;

  beforeEach(async function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'poiesis-helper-'));
    logDir = path.join(dir, 'log');
    await mkdir(logDir);
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the helper; `env` replaces the environment. */
  function startHelper(executor: Partial<TesExecutor> & { command: string[] }, env = {}) {
    const args = helperArguments(
      { image: 'unused', ...executor },
      { busybox: BUSYBOX, logDirectory: logDir },
    );
    const child = spawn(BUSYBOX, args, { env: { PATH: '/usr/bin:/bin', ...env } });
    let processOutput = '';
    child.stdout.on('data', (chunk: Buffer) => (processOutput += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (processOutput += chunk.toString()));
    const done = new Promise<HelperRun>((resolve) => {
      child.on('close', (exitCode) => {
        void Promise.all([
          readFile(path.join(logDir, HELPER_FILES.stdout), 'utf8'),
          readFile(path.join(logDir, HELPER_FILES.stderr), 'utf8'),
        ]).then(([stdout, stderr]) => resolve({ exitCode, stdout, stderr, processOutput }));
      });
    });
    return { child, done };
  }

  function runHelper(executor: Partial<TesExecutor> & { command: string[] }, env = {}) {
    return startHelper(executor, env).done;
  }

  it('exit code and separate streams', async function () {
    const result = await runHelper({ command: ['sh', '-c', 'echo out; echo err >&2; exit 7'] });
    expect(result.exitCode).to.equal(7);
    expect(result.stdout).to.equal('out\n');
    expect(result.stderr).to.equal('err\n');
    expect(result.processOutput).to.equal('');
    expect(await readFile(path.join(logDir, HELPER_FILES.exitCode), 'utf8')).to.equal('7\n');
  });

  it('task stdout and stderr files also written', async function () {
    const result = await runHelper({
      command: ['sh', '-c', 'echo out; echo err >&2'],
      stdout: path.join(dir, 'new/dir/out.txt'),
      stderr: path.join(dir, 'err.txt'),
    });
    expect(result.exitCode).to.equal(0);
    expect(await readFile(path.join(dir, 'new/dir/out.txt'), 'utf8')).to.equal('out\n');
    expect(await readFile(path.join(dir, 'err.txt'), 'utf8')).to.equal('err\n');
    expect(result.stdout).to.equal('out\n');
  });

  it('stdin read from a file', async function () {
    await writeFile(path.join(dir, 'in.txt'), 'b\na\n');
    const result = await runHelper({ command: ['sort'], stdin: path.join(dir, 'in.txt') });
    expect(result.stdout).to.equal('a\nb\n');
  });

  it('no stdin file reads nothing', async function () {
    const result = await runHelper({ command: ['wc', '-c'] });
    expect(result.stdout.trim()).to.equal('0');
  });

  it('unreadable stdin fails before the command', async function () {
    const result = await runHelper({
      command: ['sh', '-c', 'echo ran'],
      stdin: path.join(dir, 'missing.txt'),
    });
    expect(result.exitCode).to.equal(1);
    expect(result.stdout).to.equal('');
    expect(result.stderr).to.match(/^poiesis: cannot read the stdin file .*missing\.txt/);
  });

  it('workdir created and entered', async function () {
    const workdir = path.join(dir, 'work/here');
    const result = await runHelper({ command: ['pwd'], workdir });
    expect(result.stdout).to.equal(`${workdir}\n`);
  });

  it('command not found exits 127', async function () {
    const result = await runHelper({ command: ['no-such-command'] });
    expect(result.exitCode).to.equal(127);
    expect(result.stderr).to.include('no-such-command: command not found');
  });

  it('PATH program preferred to busybox applet', async function () {
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'ls'), '#!/bin/sh\necho "own ls as $0"\n');
    await chmod(path.join(bin, 'ls'), 0o755);
    const result = await runHelper({ command: ['ls'] }, { PATH: `${bin}:/bin` });
    expect(result.stdout).to.equal(`own ls as ${bin}/ls\n`);
  });

  it('argv[0] kept as given', async function () {
    const result = await runHelper({ command: ['sh', '-c', 'echo "$0"'] });
    expect(result.stdout).to.equal('sh\n');
  });

  it('arguments passed unchanged', async function () {
    const awkward = ['with space', '', '$HOME', '"quoted"', '*', 'new\nline'];
    const result = await runHelper({ command: ['printf', '[%s]', ...awkward] });
    expect(result.stdout).to.equal(awkward.map((argument) => `[${argument}]`).join(''));
  });

  it('environment reaches the command, empty values included', async function () {
    const result = await runHelper(
      { command: ['sh', '-c', 'echo "$A|${B-unset}|$_poiesis_child"'] },
      { A: 'x y', B: '' },
    );
    expect(result.stdout).to.equal('x y||\n');
  });

  it('SIGTERM forwarded to the command', async function () {
    const { child, done } = startHelper({ command: ['sleep', '600'] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = Date.now();
    child.kill('SIGTERM');
    const result = await done;
    expect(Date.now() - before).to.be.below(3000);
    expect(result.exitCode).to.equal(143);
  });

  it('pipes removed after exit', async function () {
    await runHelper({ command: ['true'] });
    const files = await readdir(logDir);
    expect(files.sort()).to.deep.equal(['exit-code', 'stderr', 'stdout']);
  });
});
