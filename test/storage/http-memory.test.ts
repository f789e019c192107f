import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { HttpBackend } from '../../functions/lib/storage/http.js';
import { silentLogger, TempDirectory } from './fixtures.js';
import { LARGE_SIZE, TestHttpServer } from './http-server.js';

const MiB = 1024 * 1024;

/**
 * Largest growth over the baseline allowed while 200 MiB stream through, in
 * bytes. A download that buffered the body grows by at least 200 MiB (a
 * `response.arrayBuffer()` version grew by over 600 MiB of resident memory).
 * Streaming still shows growth because V8 frees array buffers lazily: with
 * Node.js 20 the streaming download peaked at about 60 to 70 MiB of garbage.
 */
const MAX_GROWTH = 128 * MiB;

/** Samples the resident set size and the JavaScript-owned memory until stopped. */
class MemorySampler {
  private readonly timer: NodeJS.Timeout;
  readonly baseline = MemorySampler.sample();
  peak = { ...this.baseline };

  constructor(intervalMs: number) {
    this.timer = setInterval(() => {
      const current = MemorySampler.sample();
      this.peak.rss = Math.max(this.peak.rss, current.rss);
      this.peak.owned = Math.max(this.peak.owned, current.owned);
    }, intervalMs);
  }

  private static sample() {
    const usage = process.memoryUsage();
    return { rss: usage.rss, owned: usage.heapUsed + usage.arrayBuffers + usage.external };
  }

  stop() {
    clearInterval(this.timer);
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

describe('storage http download memory', function () {
  this.timeout(120_000);
  let server: TestHttpServer;
  let work: TempDirectory;

  before(async () => {
    server = await TestHttpServer.start();
    work = await TempDirectory.create();
  });

  after(async () => {
    await server.stop();
    await work.remove();
  });

  it('download of 200 MiB stays flat', async () => {
    const backend = new HttpBackend({ logger: silentLogger });
    const target = work.path('in', 'large.bin');

    const sampler = new MemorySampler(5);
    try {
      await backend.download(new URL(server.url('/large')), target, { type: 'FILE' });
    } finally {
      sampler.stop();
    }

    const rssGrowth = sampler.peak.rss - sampler.baseline.rss;
    const ownedGrowth = sampler.peak.owned - sampler.baseline.owned;
    expect((await stat(target)).size).to.equal(LARGE_SIZE);
    expect(await sha256Of(target)).to.equal(TestHttpServer.largeSha256());
    expect(rssGrowth, `rss grew by ${(rssGrowth / MiB).toFixed(1)} MiB`).to.be.below(MAX_GROWTH);
    expect(
      ownedGrowth,
      `heap and buffers grew by ${(ownedGrowth / MiB).toFixed(1)} MiB`,
    ).to.be.below(MAX_GROWTH);
  });
});
