import { expect } from 'chai';
import { appendToUrl, redactUrl, schemeOf } from '../../functions/lib/storage/url.js';

describe('storage url', () => {
  it('schemeOf', () => {
    expect(schemeOf('HTTPS://example.org/x')).to.equal('https');
    expect(schemeOf('s3://bucket/key')).to.equal('s3');
    expect(schemeOf('/data/x')).to.equal(undefined);
    expect(schemeOf('data/x')).to.equal(undefined);
  });

  it('appendToUrl with and without slash', () => {
    expect(appendToUrl('file:///results', 'a.txt')).to.equal('file:///results/a.txt');
    expect(appendToUrl('file:///results/', 'a.txt')).to.equal('file:///results/a.txt');
    expect(appendToUrl('file:///results/', 'sub/c.txt')).to.equal('file:///results/sub/c.txt');
  });

  it('appendToUrl encodes segments', () => {
    expect(appendToUrl('file:///r', 'a b/c#1.txt')).to.equal('file:///r/a%20b/c%231.txt');
  });

  it('appendToUrl keeps the query last', () => {
    expect(appendToUrl('s3://bucket/dir?region=x', 'a.txt')).to.equal(
      's3://bucket/dir/a.txt?region=x',
    );
  });

  it('appendToUrl on a plain path', () => {
    expect(appendToUrl('/results', 'a b.txt')).to.equal('/results/a b.txt');
    expect(appendToUrl('/results/', 'sub/a.txt')).to.equal('/results/sub/a.txt');
  });

  it('redactUrl hides password and query', () => {
    const redacted = redactUrl('https://user:hunter2@example.org/x?X-Amz-Signature=abc#frag');
    expect(redacted).not.to.contain('hunter2');
    expect(redacted).not.to.contain('abc');
    expect(redacted).to.contain('user');
    expect(redacted).to.contain('example.org/x');
  });

  it('redactUrl leaves plain urls alone', () => {
    expect(redactUrl('file:///data/a.txt')).to.equal('file:///data/a.txt');
    expect(redactUrl('/data/a.txt')).to.equal('/data/a.txt');
  });
});
