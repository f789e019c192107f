import { expect } from 'chai';
import type { StorageBackend } from '../../functions/lib/storage/backend.js';
import {
  InvalidUrlError,
  UnsupportedOperationError,
  UnsupportedSchemeError,
} from '../../functions/lib/storage/errors.js';
import { FileBackend } from '../../functions/lib/storage/file.js';
import { HttpBackend } from '../../functions/lib/storage/http.js';
import { createStorageRegistry, StorageRegistry } from '../../functions/lib/storage/registry.js';

describe('storage registry', () => {
  const registry = createStorageRegistry();

  it('lists schemes', () => {
    expect(registry.schemes).to.deep.equal(['file', 'http', 'https']);
    expect(registry.uploadSchemes).to.deep.equal(['file']);
  });

  it('picks backend by scheme', () => {
    expect(registry.resolve('https://example.org/a').backend).to.be.instanceOf(HttpBackend);
    expect(registry.resolve('HTTP://example.org/a').backend).to.be.instanceOf(HttpBackend);
    expect(registry.resolve('file:///data/a').backend).to.be.instanceOf(FileBackend);
  });

  it('plain path as file url', () => {
    const { backend, url } = registry.resolve('/data/my file#1.txt');

    expect(backend).to.be.instanceOf(FileBackend);
    expect(url.protocol).to.equal('file:');
    expect(decodeURIComponent(url.pathname)).to.equal('/data/my file#1.txt');
  });

  it('relative path rejected', () => {
    expect(() => registry.resolve('data/a.txt')).to.throw(InvalidUrlError, 'data/a.txt');
  });

  it('unparsable url rejected', () => {
    expect(() => registry.resolve('http://[bad/')).to.throw(InvalidUrlError);
  });

  it('unknown scheme rejected', () => {
    expect(() => registry.resolve('gs://bucket/key')).to.throw(UnsupportedSchemeError, 'gs');
  });

  it('upload over http rejected', () => {
    expect(() => registry.resolveForUpload('https://example.org/a')).to.throw(
      UnsupportedOperationError,
      'file',
    );
  });

  it('another backend plugs in', () => {
    const memory: StorageBackend = {
      schemes: ['mem'],
      supportsUpload: true,
      download: () => Promise.resolve(),
      upload: () => Promise.resolve(),
    };
    const extended = new StorageRegistry([new FileBackend(), memory]);

    expect(extended.schemes).to.deep.equal(['file', 'mem']);
    expect(extended.resolve('mem://x/y').backend).to.equal(memory);
  });

  it('duplicate scheme rejected', () => {
    expect(() => new StorageRegistry([new FileBackend(), new FileBackend()])).to.throw(
      TypeError,
      'file',
    );
  });
});
