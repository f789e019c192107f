import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { storageDescription } from '../../functions/lib/storage/from-config.js';

describe('storage description', function () {
  let root: string;

  beforeEach(function () {
    root = mkdtempSync(path.join(os.tmpdir(), 'poiesis-storage-description-'));
  });

  afterEach(function () {
    rmSync(root, { recursive: true, force: true });
  });

  it('lists allowed directories as file urls', function () {
    const description = storageDescription({
      fileAllow: ['/srv/shared'],
      httpTimeoutSeconds: 30,
      dataDir: path.join(root, 'data'),
    });
    expect(description.storage).to.deep.equal(['file:///srv/shared', 'http://', 'https://']);
  });

  it('file access has configured and real paths', function () {
    const real = path.join(root, 'real');
    const link = path.join(root, 'link');
    mkdirSync(real);
    symlinkSync(real, link);

    const { fileAccess } = storageDescription({
      fileAllow: [link, '/not/there'],
      httpTimeoutSeconds: 30,
      dataDir: path.join(link, 'data'),
    });

    expect(fileAccess.allowed).to.deep.equal([link, real, '/not/there']);
    expect(fileAccess.denied).to.deep.equal([path.join(link, 'data')]);
  });
});
