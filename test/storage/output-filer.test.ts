import { expect } from 'chai';
import { access, mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { HostPathOf } from '../../functions/lib/storage/backend.js';
import {
  InvalidTaskFileError,
  OutputMissingError,
  UnsupportedOperationError,
  UrlNotAllowedError,
} from '../../functions/lib/storage/errors.js';
import { fileOutputs } from '../../functions/lib/storage/output-filer.js';
import {
  createStorageRegistry,
  type StorageRegistry,
} from '../../functions/lib/storage/registry.js';
import type { TesOutput, TesOutputFileLog } from '../../functions/lib/tes/schemas.js';
import { hostPathsIn, silentLogger, TempDirectory } from './fixtures.js';

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

describe('storage output filer', () => {
  let work: TempDirectory;
  let registry: StorageRegistry;
  /** The `file://` URL of the results directory, without a trailing slash. */
  let results: string;

  beforeEach(async () => {
    work = await TempDirectory.create();
    await mkdir(work.path('results'));
    registry = createStorageRegistry({
      file: { allowedDirectories: [work.path('results')], logger: silentLogger },
    });
    results = pathToFileURL(work.path('results')).href;
  });

  afterEach(async () => {
    await work.remove();
  });

  const file = (outputs: TesOutput[], hostPathOf: HostPathOf = hostPathsIn(work.path('volume'))) =>
    fileOutputs(outputs, hostPathOf, { registry, logger: silentLogger });

  async function fileError(outputs: TesOutput[]): Promise<unknown> {
    try {
      await file(outputs);
    } catch (error) {
      return error;
    }
    return undefined;
  }

  const text = async (relative: string) => (await work.read(relative)).toString();

  describe('FILE', () => {
    it('uploads and logs the file', async () => {
      await work.write('volume/out/result.txt', 'result\n');
      const logs = await file([{ path: '/out/result.txt', url: `${results}/r/result.txt` }]);

      expect(await text('results/r/result.txt')).to.equal('result\n');
      expect(logs).to.deep.equal([
        { url: `${results}/r/result.txt`, path: '/out/result.txt', size_bytes: '7' },
      ]);
    });

    it('uploads an empty file with size 0', async () => {
      await work.write('volume/out/empty', '');
      const logs = await file([{ path: '/out/empty', url: `${results}/empty` }]);

      expect(await text('results/empty')).to.equal('');
      expect(logs).to.deep.equal([
        { url: `${results}/empty`, path: '/out/empty', size_bytes: '0' },
      ]);
    });

    it('missing file names the path', async () => {
      const error = await fileError([{ path: '/out/nothing.txt', url: `${results}/x` }]);

      expect(error).to.be.instanceOf(OutputMissingError);
      const missing = error as OutputMissingError;
      expect(missing.reason).to.equal('OutputMissing');
      expect(missing.path).to.equal('/out/nothing.txt');
      expect(missing.message).to.contain('/out/nothing.txt');
      expect(missing.message).to.contain('does not exist');
    });

    it('directory at a FILE path fails', async () => {
      await work.write('volume/out/dir/a.txt', 'a');
      const error = await fileError([{ path: '/out/dir', url: `${results}/x` }]);

      expect(error).to.be.instanceOf(OutputMissingError);
      expect((error as Error).message).to.contain('set the output type to DIRECTORY');
    });

    it('url outside the allow-list rejected', async () => {
      await work.write('volume/out/a.txt', 'a');
      const url = pathToFileURL(work.path('elsewhere/a.txt')).href;
      const error = await fileError([{ path: '/out/a.txt', url }]);

      expect(error).to.be.instanceOf(UrlNotAllowedError);
      expect(await exists(work.path('elsewhere'))).to.equal(false);
    });

    it('http url rejected', async () => {
      await work.write('volume/out/a.txt', 'a');
      const error = await fileError([{ path: '/out/a.txt', url: 'http://127.0.0.1:9/a.txt' }]);

      expect(error).to.be.instanceOf(UnsupportedOperationError);
      expect((error as Error).message).to.contain('file');
    });

    it('other outputs filed after a failure', async () => {
      await work.write('volume/out/stderr', 'warning\n');
      const error = await fileError([
        { path: '/out/rc', url: `${results}/rc` },
        { path: '/out/stderr', url: `${results}/stderr` },
      ]);

      expect(error).to.be.instanceOf(OutputMissingError);
      expect((error as OutputMissingError).path).to.equal('/out/rc');
      expect(await text('results/stderr')).to.equal('warning\n');
    });
  });

  describe('symbolic links in the volume', () => {
    it('relative link uploads its target', async () => {
      await work.write('volume/out/a.txt', 'a');
      await symlink('a.txt', work.path('volume/out/link.txt'));
      const logs = await file([{ path: '/out/link.txt', url: `${results}/link.txt` }]);

      expect(await text('results/link.txt')).to.equal('a');
      expect(logs[0]?.path).to.equal('/out/link.txt');
    });

    it('absolute link resolves in the container', async () => {
      await work.write('volume/data/a.txt', 'in the volume');
      await mkdir(work.path('volume/out'), { recursive: true });
      await symlink('/data/a.txt', work.path('volume/out/link.txt'));
      await file([{ path: '/out/link.txt', url: `${results}/link.txt` }]);

      expect(await text('results/link.txt')).to.equal('in the volume');
    });

    it('link to a host file is not followed', async () => {
      const secret = await work.write('secret.txt', 'host secret');
      await mkdir(work.path('volume/out'), { recursive: true });
      await symlink(secret, work.path('volume/out/leak.txt'));
      const error = await fileError([{ path: '/out/leak.txt', url: `${results}/leak.txt` }]);

      expect(error).to.be.instanceOf(OutputMissingError);
      expect((error as Error).message).to.include(`leads through a symbolic link to ${secret}`);
      expect(await exists(work.path('results/leak.txt'))).to.equal(false);
    });

    it('link with .. stays in the container', async () => {
      await work.write('secret.txt', 'host secret');
      await mkdir(work.path('volume/out'), { recursive: true });
      // On the host this link reaches work/secret.txt, but in the container it stops at the root.
      await symlink('../../secret.txt', work.path('volume/out/leak.txt'));
      const error = await fileError([{ path: '/out/leak.txt', url: `${results}/leak.txt` }]);

      expect(error).to.be.instanceOf(OutputMissingError);
      expect(await exists(work.path('results/leak.txt'))).to.equal(false);
    });

    it('link outside mapped paths fails', async () => {
      await mkdir(work.path('volume/out'), { recursive: true });
      await symlink('/etc/hostname', work.path('volume/out/leak'));
      const onlyOut: HostPathOf = (containerPath) => {
        if (containerPath !== '/out' && !containerPath.startsWith('/out/')) {
          throw new Error(`${containerPath} is not in a volume`);
        }
        return path.join(work.path('volume'), containerPath);
      };
      let error: unknown;
      try {
        await file([{ path: '/out/leak', url: `${results}/leak` }], onlyOut);
      } catch (caught) {
        error = caught;
      }

      expect(error).to.be.instanceOf(OutputMissingError);
      expect((error as Error).message).to.contain('outside the task volume');
    });

    it('link loop fails', async () => {
      await mkdir(work.path('volume/out'), { recursive: true });
      await symlink('b', work.path('volume/out/a'));
      await symlink('a', work.path('volume/out/b'));
      const error = await fileError([{ path: '/out/a', url: `${results}/a` }]);

      expect(error).to.be.instanceOf(OutputMissingError);
      expect((error as Error).message).to.contain('too many levels of symbolic links');
    });
  });

  describe('wildcards', () => {
    beforeEach(async () => {
      await work.write('volume/out/a.txt', 'a\n');
      await work.write('volume/out/b.txt', 'bb\n');
      await work.write('volume/out/skip.log', 'x\n');
      await work.write('volume/out/sub/c.txt', 'c\n');
      await work.write('volume/out/.hidden.txt', 'h\n');
      await mkdir(work.path('volume/out/dir.txt'));
    });

    const expectedLogs = (base: string): TesOutputFileLog[] => [
      { url: `${base}/a.txt`, path: '/out/a.txt', size_bytes: '2' },
      { url: `${base}/b.txt`, path: '/out/b.txt', size_bytes: '3' },
    ];

    for (const prefix of ['/out/', '/out']) {
      for (const slash of ['/', '']) {
        it(`prefix ${prefix} and url ending "${slash}"`, async () => {
          const logs = await file([
            { path: '/out/*.txt', path_prefix: prefix, url: `${results}${slash}`, type: 'FILE' },
          ]);

          expect(logs).to.deep.equal(expectedLogs(results));
          expect(await text('results/a.txt')).to.equal('a\n');
          expect(await text('results/b.txt')).to.equal('bb\n');
          expect(await exists(work.path('results/skip.log'))).to.equal(false);
          expect(await exists(work.path('results/sub'))).to.equal(false);
          expect(await exists(work.path('results/.hidden.txt'))).to.equal(false);
          expect(await exists(work.path('results/dir.txt'))).to.equal(false);
        });
      }
    }

    it('* does not enter directories', async () => {
      const logs = await file([{ path: '/out/*', path_prefix: '/out/', url: results }]);

      expect(logs.map((log) => log.path)).to.deep.equal([
        '/out/a.txt',
        '/out/b.txt',
        '/out/skip.log',
      ]);
    });

    it('* in a directory segment', async () => {
      await work.write('volume/runs/s1/result.txt', '1');
      await work.write('volume/runs/s2/result.txt', '2');
      await work.write('volume/runs/s3/other.txt', '3');
      const logs = await file([
        { path: '/runs/*/result.txt', path_prefix: '/runs/', url: `${results}/runs` },
      ]);

      expect(logs.map((log) => log.url)).to.deep.equal([
        `${results}/runs/s1/result.txt`,
        `${results}/runs/s2/result.txt`,
      ]);
      expect(await text('results/runs/s2/result.txt')).to.equal('2');
    });

    it('prefix above the matched directory', async () => {
      const logs = await file([{ path: '/out/sub/*.txt', path_prefix: '/out', url: results }]);

      expect(logs).to.deep.equal([
        { url: `${results}/sub/c.txt`, path: '/out/sub/c.txt', size_bytes: '2' },
      ]);
    });

    it('no match gives no entries', async () => {
      const logs = await file([{ path: '/out/*.csv', path_prefix: '/out/', url: results }]);

      expect(logs).to.deep.equal([]);
    });

    it('missing directory gives no entries', async () => {
      const logs = await file([{ path: '/nowhere/*.txt', path_prefix: '/nowhere/', url: results }]);

      expect(logs).to.deep.equal([]);
    });

    it('bracket and question mark', async () => {
      await work.write('volume/out/sample_1.fq', '1');
      await work.write('volume/out/sample_2.fq', '2');
      await work.write('volume/out/sample_x.fq', 'x');
      const logs = await file([
        { path: '/out/sample_[0-9].f?', path_prefix: '/out/', url: results },
      ]);

      expect(logs.map((log) => log.path)).to.deep.equal(['/out/sample_1.fq', '/out/sample_2.fq']);
    });

    it('empty match uploaded with size 0', async () => {
      await work.write('volume/out/zero.txt', '');
      const logs = await file([{ path: '/out/zero.txt*', path_prefix: '/out/', url: results }]);

      expect(logs).to.deep.equal([
        { url: `${results}/zero.txt`, path: '/out/zero.txt', size_bytes: '0' },
      ]);
      expect(await text('results/zero.txt')).to.equal('');
    });

    it('missing path_prefix rejected', async () => {
      const error = await fileError([{ path: '/out/*.txt', url: results }]);

      expect(error).to.be.instanceOf(InvalidTaskFileError);
      expect((error as InvalidTaskFileError).reason).to.equal('InvalidOutput');
      expect((error as Error).message).to.contain('outputs[0].path_prefix');
    });

    it('path_prefix not a prefix rejected', async () => {
      const error = await fileError([{ path: '/out/*.txt', path_prefix: '/other/', url: results }]);

      expect(error).to.be.instanceOf(InvalidTaskFileError);
      expect((error as Error).message).to.contain('/out/a.txt');
    });

    it('match through a linked directory', async () => {
      await work.write('volume/real/r.txt', 'r');
      await symlink('/real', work.path('volume/out/linked'));
      const logs = await file([{ path: '/out/linked/*.txt', path_prefix: '/out/', url: results }]);

      expect(logs).to.deep.equal([
        { url: `${results}/linked/r.txt`, path: '/out/linked/r.txt', size_bytes: '1' },
      ]);
    });

    it('nextflow shape without slashes', async () => {
      await work.write('volume/work/ab/12cd/sample_1.txt', 'aligned\n');
      await work.write('volume/work/ab/12cd/sample_1.qc.txt', 'qc\n');
      await work.write('volume/work/ab/12cd/.command.out', 'progress\n');
      const logs = await file([
        { path: '/work/ab/12cd/*.txt', path_prefix: '/work/ab/12cd', url: `${results}/nf` },
      ]);

      expect(logs.map((log) => log.url)).to.deep.equal([
        `${results}/nf/sample_1.qc.txt`,
        `${results}/nf/sample_1.txt`,
      ]);
      expect(await text('results/nf/sample_1.txt')).to.equal('aligned\n');
    });
  });

  describe('DIRECTORY', () => {
    it('copies into the url itself', async () => {
      await work.write('volume/results/x/y.txt', 'y\n');
      await work.write('volume/results/z.txt', 'z\n');
      const logs = await file([{ path: '/results', url: `${results}/dir`, type: 'DIRECTORY' }]);

      expect(await text('results/dir/x/y.txt')).to.equal('y\n');
      expect(await text('results/dir/z.txt')).to.equal('z\n');
      expect(logs).to.deep.equal([
        { url: `${results}/dir/x/y.txt`, path: '/results/x/y.txt', size_bytes: '2' },
        { url: `${results}/dir/z.txt`, path: '/results/z.txt', size_bytes: '2' },
      ]);
    });

    it('trailing slashes on path and url', async () => {
      await work.write('volume/results/z.txt', 'z\n');
      const logs = await file([{ path: '/results/', url: `${results}/dir/`, type: 'DIRECTORY' }]);

      expect(logs).to.deep.equal([
        { url: `${results}/dir/z.txt`, path: '/results/z.txt', size_bytes: '2' },
      ]);
    });

    it('deep tree with empty files', async () => {
      await work.write('volume/d/a/b/c/deep.txt', 'deep');
      await work.write('volume/d/a/empty', '');
      await work.write('volume/d/.hidden', 'h');
      const logs = await file([{ path: '/d', url: `${results}/d`, type: 'DIRECTORY' }]);

      expect(logs.map((log) => [log.path, log.size_bytes])).to.deep.equal([
        ['/d/.hidden', '1'],
        ['/d/a/b/c/deep.txt', '4'],
        ['/d/a/empty', '0'],
      ]);
      expect(await text('results/d/a/empty')).to.equal('');
      expect(await text('results/d/.hidden')).to.equal('h');
    });

    it('empty directory gives no entries', async () => {
      await mkdir(work.path('volume/d'), { recursive: true });
      const logs = await file([{ path: '/d', url: `${results}/d`, type: 'DIRECTORY' }]);

      expect(logs).to.deep.equal([]);
    });

    it('missing directory fails', async () => {
      const error = await fileError([{ path: '/d', url: `${results}/d`, type: 'DIRECTORY' }]);

      expect(error).to.be.instanceOf(OutputMissingError);
      expect((error as OutputMissingError).path).to.equal('/d');
    });

    it('file at a DIRECTORY path fails', async () => {
      await work.write('volume/d', 'a file');
      const error = await fileError([{ path: '/d', url: `${results}/d`, type: 'DIRECTORY' }]);

      expect(error).to.be.instanceOf(OutputMissingError);
      expect((error as Error).message).to.contain('set the output type to FILE');
    });

    it('skips links that leave the volume', async () => {
      const secret = await work.write('secret.txt', 'host secret');
      await work.write('volume/d/ok.txt', 'ok');
      await symlink(secret, work.path('volume/d/leak.txt'));
      await symlink('/', work.path('volume/d/root'));
      const logs = await file([{ path: '/d', url: `${results}/d`, type: 'DIRECTORY' }]);

      expect(logs.map((log) => log.path)).to.deep.equal(['/d/ok.txt']);
      expect(await exists(work.path('results/d/leak.txt'))).to.equal(false);
    });
  });
});
