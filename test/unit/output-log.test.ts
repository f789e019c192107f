import { expect } from 'chai';
import { DEFAULT_MAX_EVENT_BYTES } from '../../functions/lib/events/http-binding.js';
import { fitOutputLog, MAX_OUTPUT_LOG_BYTES } from '../../functions/lib/filers/filer-jobs.js';

function entries(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    url: `file:///results/run/sample-${i}.bam`,
    path: `/data/out/sample-${i}.bam`,
    size_bytes: String(i * 1000),
  }));
}

describe('fitOutputLog', () => {
  it('keeps a short log whole', () => {
    const outputs = entries(10);
    expect(fitOutputLog(outputs)).to.deep.equal({ outputs });
  });

  it('keeps an empty log', () => {
    expect(fitOutputLog([])).to.deep.equal({ outputs: [] });
  });

  it('shortens a long log in order', () => {
    const outputs = entries(20_000);

    const { outputs: kept, omitted } = fitOutputLog(outputs);

    expect(kept.length).to.be.above(1000);
    expect(kept).to.deep.equal(outputs.slice(0, kept.length));
    expect(omitted).to.equal(outputs.length - kept.length);
    expect(Buffer.byteLength(JSON.stringify(kept))).to.be.at.most(MAX_OUTPUT_LOG_BYTES);
  });

  it('limit leaves room under the event limit', () => {
    expect(MAX_OUTPUT_LOG_BYTES).to.be.below(DEFAULT_MAX_EVENT_BYTES);
  });
});
