import { expect } from 'chai';
import { access, chmod, mkdir, readdir, stat, symlink, truncate } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import {
  InputFetchFailedError,
  InvalidUrlError,
  OutputUploadFailedError,
  UrlNotAllowedError,
} from '../../functions/lib/storage/errors.js';
import { FileBackend } from '../../functions/lib/storage/file.js';
import { silentLogger, TempDirectory } from './fixtures.js';

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return undefined;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

describe('storage file backend', () => {
  let work: TempDirectory;
  let backend: FileBackend;

  beforeEach(async () => {
    work = await TempDirectory.create();
    await mkdir(work.path('allowed'));
    await work.write('outside/secret.txt', 'secret');
    backend = new FileBackend({ allowedDirectories: [work.path('allowed')], logger: silentLogger });
  });

  afterEach(async () => {
    await work.remove();
  });

  const fileUrl = (...relative: string[]) => pathToFileURL(work.path(...relative));

  describe('download', () => {
    it('copies a file inside the allow-list', async () => {
      await work.write('allowed/a.txt', 'hello');
      await backend.download(fileUrl('allowed', 'a.txt'), work.path('volume/in/a.txt'), {
        type: 'FILE',
      });

      expect((await work.read('volume/in/a.txt')).toString()).to.equal('hello');
    });

    it('keeps the executable bit', async () => {
      const script = await work.write('allowed/run.sh', '#!/bin/sh\n');
      await chmod(script, 0o755);
      await backend.download(fileUrl('allowed', 'run.sh'), work.path('volume/run.sh'), {
        type: 'FILE',
      });

      expect((await stat(work.path('volume/run.sh'))).mode & 0o777).to.equal(0o755);
    });

    it('large copy stopped by signal', async () => {
      const source = await work.write('allowed/big.bin', '');
      await truncate(source, 2 * 1024 ** 3);
      await chmod(source, 0o755);
      const controller = new AbortController();
      const target = work.path('volume/big.bin');

      const copy = backend.download(fileUrl('allowed', 'big.bin'), target, {
        type: 'FILE',
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 50);
      const error = await caught(copy);

      expect(error).to.be.instanceOf(Error);
      expect(controller.signal.aborted).to.equal(true);
      expect(await exists(target)).to.equal(false);
      expect(await readdir(work.path('volume'))).to.deep.equal([]);
    });

    it('large copy keeps the mode', async () => {
      const source = await work.write('allowed/big.sh', '');
      await truncate(source, 65 * 1024 ** 2);
      await chmod(source, 0o750);

      await backend.download(fileUrl('allowed', 'big.sh'), work.path('volume/big.sh'), {
        type: 'FILE',
        signal: new AbortController().signal,
      });

      const copied = await stat(work.path('volume/big.sh'));
      expect(copied.size).to.equal(65 * 1024 ** 2);
      expect(copied.mode & 0o777).to.equal(0o750);
    });

    it('rejects a path outside the allow-list', async () => {
      const error = await caught(
        backend.download(fileUrl('outside', 'secret.txt'), work.path('volume/x'), { type: 'FILE' }),
      );

      expect(error).to.be.instanceOf(UrlNotAllowedError);
      const rejection = error as UrlNotAllowedError;
      expect(rejection.reason).to.equal('UrlNotAllowed');
      expect(rejection.hostPath).to.contain('secret.txt');
      expect(rejection.message).to.contain(work.path('outside', 'secret.txt'));
      expect(rejection.message).to.contain(work.path('allowed'));
      expect(await exists(work.path('volume/x'))).to.equal(false);
    });

    it('rejects .. that leaves the allow-list', async () => {
      const url = new URL(`${pathToFileURL(work.path('allowed')).href}/../outside/secret.txt`);
      const error = await caught(backend.download(url, work.path('volume/x'), { type: 'FILE' }));

      expect(error).to.be.instanceOf(UrlNotAllowedError);
      expect((error as UrlNotAllowedError).hostPath).to.equal(work.path('outside', 'secret.txt'));
    });

    it('rejects a symlink escaping the allow-list', async () => {
      await symlink(work.path('outside', 'secret.txt'), work.path('allowed', 'link.txt'));
      const error = await caught(
        backend.download(fileUrl('allowed', 'link.txt'), work.path('volume/x'), { type: 'FILE' }),
      );

      expect(error).to.be.instanceOf(UrlNotAllowedError);
      expect((error as UrlNotAllowedError).hostPath).to.equal(work.path('outside', 'secret.txt'));
      expect(await exists(work.path('volume/x'))).to.equal(false);
    });

    it('follows a symlink inside the allow-list', async () => {
      await work.write('allowed/real.txt', 'real');
      await symlink(work.path('allowed', 'real.txt'), work.path('allowed', 'link.txt'));
      await backend.download(fileUrl('allowed', 'link.txt'), work.path('volume/x'), {
        type: 'FILE',
      });

      expect((await work.read('volume/x')).toString()).to.equal('real');
    });

    it('rejects a denied directory inside the allow-list', async () => {
      await work.write('allowed/data/tasks/other/secret.txt', 'other task');
      const guarded = new FileBackend({
        allowedDirectories: [work.path('allowed')],
        deniedDirectories: [work.path('allowed', 'data')],
        logger: silentLogger,
      });
      const error = await caught(
        guarded.download(
          fileUrl('allowed', 'data', 'tasks', 'other', 'secret.txt'),
          work.path('v/x'),
          {
            type: 'FILE',
          },
        ),
      );
      expect(error).to.be.instanceOf(UrlNotAllowedError);
      expect((error as UrlNotAllowedError).deniedDirectory).to.equal(work.path('allowed', 'data'));
      expect((error as Error).message).to.include('holds the data of the server');
      const upload = await caught(
        guarded.upload(await work.write('v/y', 'z'), fileUrl('allowed', 'data', 'poiesis.db')),
      );
      expect(upload).to.be.instanceOf(UrlNotAllowedError);
      expect(await exists(work.path('allowed', 'data', 'poiesis.db'))).to.equal(false);
    });

    it('rejects everything with an empty allow-list', async () => {
      await work.write('allowed/a.txt', 'a');
      const closed = new FileBackend({ logger: silentLogger });
      const error = await caught(
        closed.download(fileUrl('allowed', 'a.txt'), work.path('volume/x'), { type: 'FILE' }),
      );

      expect(error).to.be.instanceOf(UrlNotAllowedError);
      expect((error as Error).message).to.contain('allowed directories (none)');
    });

    it('fails on a missing file', async () => {
      const error = await caught(
        backend.download(fileUrl('allowed', 'nope.txt'), work.path('volume/x'), { type: 'FILE' }),
      );

      expect(error).to.be.instanceOf(InputFetchFailedError);
      expect((error as Error).message).to.contain('no such file or directory');
      expect((error as Error).message).to.contain('nope.txt');
    });

    it('fails on a directory of type FILE', async () => {
      await mkdir(work.path('allowed', 'dir'));
      const error = await caught(
        backend.download(fileUrl('allowed', 'dir'), work.path('volume/x'), { type: 'FILE' }),
      );

      expect(error).to.be.instanceOf(InputFetchFailedError);
      expect((error as Error).message).to.contain('set the input type to DIRECTORY');
    });

    it('fails on a file of type DIRECTORY', async () => {
      await work.write('allowed/a.txt', 'a');
      const error = await caught(
        backend.download(fileUrl('allowed', 'a.txt'), work.path('volume/x'), { type: 'DIRECTORY' }),
      );

      expect(error).to.be.instanceOf(InputFetchFailedError);
      expect((error as Error).message).to.contain('set the input type to FILE');
    });

    it('rejects a url with a remote host', async () => {
      const error = await caught(
        backend.download(new URL('file://example.org/data/a.txt'), work.path('volume/x'), {
          type: 'FILE',
        }),
      );

      expect(error).to.be.instanceOf(InvalidUrlError);
    });
  });

  describe('directory download', () => {
    it('copies a nested tree', async () => {
      await work.write('allowed/tree/a.txt', 'a');
      await work.write('allowed/tree/sub/b.txt', 'b');
      await work.write('allowed/tree/sub/deeper/c.txt', 'c');
      await work.write('allowed/tree/empty.txt', '');
      await mkdir(work.path('allowed/tree/empty-dir'));
      await backend.download(fileUrl('allowed', 'tree'), work.path('volume/data'), {
        type: 'DIRECTORY',
      });

      expect((await work.read('volume/data/a.txt')).toString()).to.equal('a');
      expect((await work.read('volume/data/sub/b.txt')).toString()).to.equal('b');
      expect((await work.read('volume/data/sub/deeper/c.txt')).toString()).to.equal('c');
      expect((await stat(work.path('volume/data/empty.txt'))).size).to.equal(0);
      expect((await stat(work.path('volume/data/empty-dir'))).isDirectory()).to.equal(true);
    });

    it('copies link content, not links', async () => {
      await work.write('allowed/shared.txt', 'shared');
      await mkdir(work.path('allowed/tree'));
      await symlink(work.path('allowed', 'shared.txt'), work.path('allowed/tree/link.txt'));
      await backend.download(fileUrl('allowed', 'tree'), work.path('volume/data'), {
        type: 'DIRECTORY',
      });

      const copied = work.path('volume/data/link.txt');
      expect((await stat(copied)).isFile()).to.equal(true);
      expect((await work.read('volume/data/link.txt')).toString()).to.equal('shared');
    });

    it('rejects a symlink escaping from the tree', async () => {
      await work.write('allowed/tree/a.txt', 'a');
      await symlink(work.path('outside'), work.path('allowed/tree/escape'));
      const error = await caught(
        backend.download(fileUrl('allowed', 'tree'), work.path('volume/data'), {
          type: 'DIRECTORY',
        }),
      );

      expect(error).to.be.instanceOf(UrlNotAllowedError);
      expect((error as UrlNotAllowedError).hostPath).to.equal(work.path('outside'));
      expect(await exists(work.path('volume/data/escape'))).to.equal(false);
    });

    it('skips a symlink cycle', async () => {
      await work.write('allowed/tree/a.txt', 'a');
      await symlink(work.path('allowed/tree'), work.path('allowed/tree/loop'));
      await backend.download(fileUrl('allowed', 'tree'), work.path('volume/data'), {
        type: 'DIRECTORY',
      });

      expect(await readdir(work.path('volume/data'))).to.deep.equal(['a.txt']);
    });
  });

  describe('upload', () => {
    it('writes inside the allow-list with parents', async () => {
      const source = await work.write('volume/out.txt', 'result');
      await backend.upload(source, fileUrl('allowed', 'results', 'deep', 'out.txt'));

      expect((await work.read('allowed/results/deep/out.txt')).toString()).to.equal('result');
      expect(await readdir(work.path('allowed/results/deep'))).to.deep.equal(['out.txt']);
    });

    it('replaces an existing file', async () => {
      await work.write('allowed/out.txt', 'old and longer');
      const source = await work.write('volume/out.txt', 'new');
      await backend.upload(source, fileUrl('allowed', 'out.txt'));

      expect((await work.read('allowed/out.txt')).toString()).to.equal('new');
    });

    it('rejects a target outside the allow-list', async () => {
      const source = await work.write('volume/out.txt', 'result');
      const error = await caught(backend.upload(source, fileUrl('outside', 'new', 'out.txt')));

      expect(error).to.be.instanceOf(UrlNotAllowedError);
      expect(await exists(work.path('outside/new'))).to.equal(false);
    });

    it('rejects a symlinked directory escaping', async () => {
      await symlink(work.path('outside'), work.path('allowed', 'escape'));
      const source = await work.write('volume/out.txt', 'result');
      const error = await caught(backend.upload(source, fileUrl('allowed', 'escape', 'out.txt')));

      expect(error).to.be.instanceOf(UrlNotAllowedError);
      expect((error as UrlNotAllowedError).hostPath).to.equal(work.path('outside', 'out.txt'));
      expect(await exists(work.path('outside/out.txt'))).to.equal(false);
    });

    it('fails when a directory is in the way', async () => {
      await mkdir(work.path('allowed', 'out.txt'));
      const source = await work.write('volume/out.txt', 'result');
      const error = await caught(backend.upload(source, fileUrl('allowed', 'out.txt')));

      expect(error).to.be.instanceOf(OutputUploadFailedError);
      expect((error as OutputUploadFailedError).reason).to.equal('OutputUploadFailed');
    });
  });

  it('rejects a relative allowed directory', () => {
    expect(() => new FileBackend({ allowedDirectories: ['data'] })).to.throw(TypeError, 'data');
  });
});
