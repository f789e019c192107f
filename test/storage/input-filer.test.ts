import { expect } from 'chai';
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import {
  InputFetchFailedError,
  InvalidTaskFileError,
  InvalidUrlError,
  UnsupportedSchemeError,
  UrlNotAllowedError,
} from '../../functions/lib/storage/errors.js';
import { stageInputs } from '../../functions/lib/storage/input-filer.js';
import {
  createStorageRegistry,
  type StorageRegistry,
} from '../../functions/lib/storage/registry.js';
import type { TesInput } from '../../functions/lib/tes/schemas.js';
import { hostPathsIn, silentLogger, snapshotTree, TempDirectory } from './fixtures.js';
import { TestHttpServer } from './http-server.js';

describe('storage input filer', () => {
  let server: TestHttpServer;
  let work: TempDirectory;
  let registry: StorageRegistry;

  before(async () => {
    server = await TestHttpServer.start();
  });

  after(async () => {
    await server.stop();
  });

  beforeEach(async () => {
    work = await TempDirectory.create();
    registry = createStorageRegistry({
      file: { allowedDirectories: [work.path('shared')], logger: silentLogger },
      http: { headersTimeoutMs: 1000, idleTimeoutMs: 1000, logger: silentLogger },
    });
  });

  afterEach(async () => {
    await work.remove();
  });

  const stage = (inputs: TesInput[]) =>
    stageInputs(inputs, hostPathsIn(work.path('volume')), { registry, logger: silentLogger });

  async function stageError(inputs: TesInput[]): Promise<unknown> {
    try {
      await stage(inputs);
    } catch (error) {
      return error;
    }
    return undefined;
  }

  it('writes content', async () => {
    await stage([{ path: '/in/deep/script.sh', content: 'echo hi\n' }]);

    expect((await work.read('volume/in/deep/script.sh')).toString()).to.equal('echo hi\n');
  });

  it('content wins over url', async () => {
    await stage([{ path: '/in/a.txt', content: 'inline', url: 'gs://bucket/never-fetched' }]);

    expect((await work.read('volume/in/a.txt')).toString()).to.equal('inline');
  });

  it('empty content uses url', async () => {
    await stage([{ path: '/in/data.bin', content: '', url: server.url('/data.bin') }]);

    expect((await work.read('volume/in/data.bin')).equals(server.data)).to.equal(true);
  });

  it('empty content without url is an empty file', async () => {
    await stage([{ path: '/in/empty', content: '' }]);

    expect((await stat(work.path('volume/in/empty'))).size).to.equal(0);
  });

  it('content of 128 KiB', async () => {
    const content = '0123456789abcde\n'.repeat(8192);
    await stage([{ path: '/in/big.txt', content }]);

    const written = await work.read('volume/in/big.txt');
    expect(written.length).to.equal(128 * 1024);
    expect(written.toString()).to.equal(content);
  });

  it('content as utf-8', async () => {
    await stage([{ path: '/in/u.txt', content: 'é😀' }]);

    expect((await work.read('volume/in/u.txt')).length).to.equal(6);
  });

  it('http input byte for byte', async () => {
    await stage([{ path: '/in/data.bin', url: server.url('/data.bin'), type: 'FILE' }]);

    expect((await work.read('volume/in/data.bin')).equals(server.data)).to.equal(true);
  });

  it('http 404 fails the input', async () => {
    const error = await stageError([{ path: '/in/x', url: server.url('/missing') }]);

    expect(error).to.be.instanceOf(InputFetchFailedError);
    expect((error as InputFetchFailedError).responseStatus).to.equal(404);
  });

  it('file url input', async () => {
    await work.write('shared/reads.fq', '@r1\nACGT\n');
    const url = pathToFileURL(work.path('shared/reads.fq')).href;
    await stage([{ path: '/work/reads.fq', url, type: 'FILE' }]);

    expect((await work.read('volume/work/reads.fq')).toString()).to.equal('@r1\nACGT\n');
  });

  it('plain path input as file url', async () => {
    await work.write('shared/reads.fq', 'plain');
    await stage([{ path: '/work/reads.fq', url: work.path('shared/reads.fq') }]);

    expect((await work.read('volume/work/reads.fq')).toString()).to.equal('plain');
  });

  it('plain path with .. rejected', async () => {
    await work.write('outside/secret', 'secret');
    const url = `${work.path('shared')}/../outside/secret`;
    const error = await stageError([{ path: '/in/x', url }]);

    expect(error).to.be.instanceOf(UrlNotAllowedError);
    expect((error as UrlNotAllowedError).hostPath).to.equal(work.path('outside/secret'));
  });

  it('directory input', async () => {
    await work.write('shared/ref/genome.fa', '>chr1\n');
    await work.write('shared/ref/index/genome.fai', 'chr1\t1\n');
    const url = pathToFileURL(work.path('shared/ref')).href;
    await stage([{ path: '/ref', url, type: 'DIRECTORY' }]);

    expect(await snapshotTree(work.path('volume/ref'))).to.deep.equal(
      await snapshotTree(work.path('shared/ref')),
    );
  });

  it('unsupported scheme lists schemes', async () => {
    const error = await stageError([{ path: '/in/x', url: 's3://bucket/key' }]);

    expect(error).to.be.instanceOf(UnsupportedSchemeError);
    const rejection = error as UnsupportedSchemeError;
    expect(rejection.reason).to.equal('UnsupportedScheme');
    expect(rejection.scheme).to.equal('s3');
    expect(rejection.supportedSchemes).to.deep.equal(['file', 'http', 'https']);
    expect(rejection.message).to.contain('s3://bucket/key');
  });

  it('relative url rejected', async () => {
    const error = await stageError([{ path: '/in/x', url: 'data/x' }]);

    expect(error).to.be.instanceOf(InvalidUrlError);
  });

  it('input without url or content rejected', async () => {
    const error = await stageError([{ path: '/in/x' }]);

    expect(error).to.be.instanceOf(InvalidTaskFileError);
    expect((error as InvalidTaskFileError).reason).to.equal('InvalidInput');
    expect((error as Error).message).to.contain('inputs[0].url');
  });

  it('content of type DIRECTORY rejected', async () => {
    const error = await stageError([{ path: '/in/x', content: 'x', type: 'DIRECTORY' }]);

    expect(error).to.be.instanceOf(InvalidTaskFileError);
    expect((error as Error).message).to.contain('inputs[0].type');
  });

  it('later input wins on overlap', async () => {
    await work.write('shared/dir/a.txt', 'from directory');
    const url = pathToFileURL(work.path('shared/dir')).href;
    await stage([
      { path: '/data', url, type: 'DIRECTORY' },
      { path: '/data/a.txt', content: 'from content' },
    ]);

    expect((await work.read('volume/data/a.txt')).toString()).to.equal('from content');
  });

  it('canceled by signal', async () => {
    const controller = new AbortController();
    controller.abort();
    let error: unknown;
    try {
      await stageInputs([{ path: '/in/x', content: 'x' }], hostPathsIn(work.path('volume')), {
        registry,
        logger: silentLogger,
        signal: controller.signal,
      });
    } catch (caught) {
      error = caught;
    }

    expect(error).to.be.instanceOf(InputFetchFailedError);
    expect(await readdir(work.path()).then((names) => names.includes('volume'))).to.equal(false);
  });

  it('re-staging after a partial run is idempotent', async () => {
    await work.write('shared/tree/a.txt', 'a');
    await work.write('shared/tree/sub/b.txt', 'b');
    await work.write('shared/single.txt', 'single');
    const inputs: TesInput[] = [
      { path: '/in/script.sh', content: 'echo hi\n' },
      { path: '/in/data.bin', url: server.url('/data.bin') },
      { path: '/in/single.txt', url: work.path('shared/single.txt') },
      { path: '/in/tree', url: pathToFileURL(work.path('shared/tree')).href, type: 'DIRECTORY' },
    ];
    await stage(inputs);
    const complete = await snapshotTree(work.path('volume'));

    // A partial run: one file missing, one truncated, a leftover temporary file.
    await rm(work.path('volume/in/tree/sub/b.txt'));
    await writeFile(work.path('volume/in/data.bin'), 'trunc');
    await writeFile(work.path('volume/in/.single.txt.poiesis-partial'), 'half');
    await rm(work.path('volume/in/single.txt'));
    await stage(inputs);

    expect(await snapshotTree(work.path('volume'))).to.deep.equal(complete);

    await stage(inputs);
    expect(await snapshotTree(work.path('volume'))).to.deep.equal(complete);
  });
});
