import { expect } from 'chai';
import { readdir, readFile, stat } from 'node:fs/promises';
import {
  InputFetchFailedError,
  UnsupportedOperationError,
} from '../../functions/lib/storage/errors.js';
import { HttpBackend } from '../../functions/lib/storage/http.js';
import { silentLogger, TempDirectory } from './fixtures.js';
import { TestHttpServer } from './http-server.js';

describe('storage http backend', () => {
  let server: TestHttpServer;
  let work: TempDirectory;
  const backend = new HttpBackend({
    headersTimeoutMs: 500,
    idleTimeoutMs: 500,
    logger: silentLogger,
  });

  before(async () => {
    server = await TestHttpServer.start();
  });

  after(async () => {
    await server.stop();
  });

  beforeEach(async () => {
    work = await TempDirectory.create();
  });

  afterEach(async () => {
    await work.remove();
  });

  /** Downloads `route` to `in/file` and returns the error thrown, if any. */
  async function downloadError(route: string, target = work.path('in', 'file')) {
    try {
      await backend.download(new URL(server.url(route)), target, { type: 'FILE' });
    } catch (error) {
      return error;
    }
    return undefined;
  }

  it('download binary byte for byte', async () => {
    const target = work.path('in', 'data.bin');
    await backend.download(new URL(server.url('/data.bin')), target, { type: 'FILE' });

    const written = await readFile(target);
    expect(written.length).to.equal(server.data.length);
    expect(written.equals(server.data)).to.equal(true);
  });

  it('download empty body', async () => {
    const target = work.path('empty');
    await backend.download(new URL(server.url('/empty')), target, { type: 'FILE' });

    expect((await stat(target)).size).to.equal(0);
  });

  it('download follows redirects', async () => {
    const target = work.path('redirected.bin');
    await backend.download(new URL(server.url('/redirect')), target, { type: 'FILE' });

    expect((await readFile(target)).equals(server.data)).to.equal(true);
  });

  it('download 404 names url and status', async () => {
    const error = await downloadError('/missing');

    expect(error).to.be.instanceOf(InputFetchFailedError);
    const failure = error as InputFetchFailedError;
    expect(failure.reason).to.equal('InputFetchFailed');
    expect(failure.responseStatus).to.equal(404);
    expect(failure.message).to.contain(server.url('/missing'));
    expect(failure.message).to.contain('404');
  });

  it('download 500 names status', async () => {
    const error = await downloadError('/server-error');

    expect(error).to.be.instanceOf(InputFetchFailedError);
    expect((error as InputFetchFailedError).responseStatus).to.equal(500);
    expect((error as InputFetchFailedError).message).to.contain('500');
  });

  it('download redirect to 404 fails', async () => {
    const error = await downloadError('/redirect-to-missing');

    expect(error).to.be.instanceOf(InputFetchFailedError);
    expect((error as InputFetchFailedError).responseStatus).to.equal(404);
  });

  it('download headers timeout', async () => {
    const error = await downloadError('/no-headers');

    expect(error).to.be.instanceOf(InputFetchFailedError);
    expect((error as InputFetchFailedError).message).to.contain(
      'timed out after 500 ms waiting for the response headers',
    );
  });

  it('download idle timeout leaves no file', async () => {
    const error = await downloadError('/stalled-body');

    expect(error).to.be.instanceOf(InputFetchFailedError);
    expect((error as InputFetchFailedError).message).to.contain('no data arrived for 500 ms');
    expect(await readdir(work.path('in'))).to.deep.equal([]);
  });

  it('download aborted response leaves no file', async () => {
    const error = await downloadError('/aborted');

    expect(error).to.be.instanceOf(InputFetchFailedError);
    expect(await readdir(work.path('in'))).to.deep.equal([]);
  });

  it('download total timeout', async () => {
    const limited = new HttpBackend({ timeoutMs: 300, logger: silentLogger });
    let error: unknown;
    try {
      await limited.download(new URL(server.url('/stalled-body')), work.path('x'), {
        type: 'FILE',
      });
    } catch (caught) {
      error = caught;
    }

    expect(error).to.be.instanceOf(InputFetchFailedError);
    expect((error as Error).message).to.contain('did not finish within 300 ms');
  });

  it('download canceled by signal', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    let error: unknown;
    try {
      await backend.download(new URL(server.url('/stalled-body')), work.path('x'), {
        type: 'FILE',
        signal: controller.signal,
      });
    } catch (caught) {
      error = caught;
    }

    expect(error).to.be.instanceOf(InputFetchFailedError);
    expect((error as Error).message).to.contain('the download was canceled');
  });

  it('download connection refused', async () => {
    const stopped = await TestHttpServer.start();
    const url = stopped.url('/data.bin');
    await stopped.stop();
    let error: unknown;
    try {
      await backend.download(new URL(url), work.path('x'), { type: 'FILE' });
    } catch (caught) {
      error = caught;
    }

    expect(error).to.be.instanceOf(InputFetchFailedError);
    expect((error as Error).message).to.contain('ECONNREFUSED');
  });

  it('download replaces an existing file', async () => {
    const target = await work.write('in/file', 'old content that is longer than nothing');
    await backend.download(new URL(server.url('/empty')), target, { type: 'FILE' });

    expect((await stat(target)).size).to.equal(0);
  });

  it('directory download unsupported', async () => {
    let error: unknown;
    try {
      await backend.download(new URL(server.url('/data.bin')), work.path('dir'), {
        type: 'DIRECTORY',
      });
    } catch (caught) {
      error = caught;
    }

    expect(error).to.be.instanceOf(UnsupportedOperationError);
    expect((error as UnsupportedOperationError).reason).to.equal('UnsupportedOperation');
  });

  it('upload unsupported', async () => {
    const source = await work.write('out.txt', 'x');
    let error: unknown;
    try {
      await backend.upload(source, new URL(server.url('/upload')));
    } catch (caught) {
      error = caught;
    }

    expect(error).to.be.instanceOf(UnsupportedOperationError);
    expect((error as Error).message).to.contain('upload is not supported');
  });

  it('download sends url credentials as basic auth', async () => {
    const url = new URL(server.url('/authorization'));
    url.username = 'user';
    url.password = 'p@ss word';
    await backend.download(url, work.path('auth'), { type: 'FILE' });

    const expected = `Basic ${Buffer.from('user:p@ss word').toString('base64')}`;
    expect((await work.read('auth')).toString()).to.equal(expected);
  });

  it('download drops credentials on cross-origin redirect', async () => {
    const other = await TestHttpServer.start();
    try {
      const url = new URL(server.url('/redirect-to'));
      url.searchParams.set('to', other.url('/authorization'));
      url.username = 'user';
      url.password = 'secret';
      await backend.download(url, work.path('auth'), { type: 'FILE' });

      expect((await work.read('auth')).toString()).to.equal('none');
    } finally {
      await other.stop();
    }
  });

  it('error message redacts credentials', async () => {
    const url = new URL(server.url('/missing?X-Amz-Signature=secret'));
    url.username = 'user';
    url.password = 'hunter2';
    let error: unknown;
    try {
      await backend.download(url, work.path('x'), { type: 'FILE' });
    } catch (caught) {
      error = caught;
    }

    expect(error).to.be.instanceOf(InputFetchFailedError);
    expect((error as Error).message).not.to.contain('hunter2');
    expect((error as Error).message).not.to.contain('secret');
  });
});
