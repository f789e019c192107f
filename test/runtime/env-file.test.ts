import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { envArguments } from '../../functions/lib/runtime/env-file.js';

describe('envArguments', function () {
  let dir: string;
  let file: string;

  beforeEach(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'poiesis-env-'));
    file = path.join(dir, 'env');
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('values written to a private file', async function () {
    const result = await envArguments(file, { TOKEN: 'secret', EMPTY: '', SPACED: ' a = b ' });
    expect(result).to.deep.equal({ args: ['--env-file', file], dropped: [] });
    expect(await readFile(file, 'utf8')).to.equal('TOKEN=secret\nEMPTY=\nSPACED= a = b \n');
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
  });

  it('value with a line break passed as an argument', async function () {
    const result = await envArguments(file, { PLAIN: 'x', MULTI: 'a\nb' });
    expect(result.args).to.deep.equal(['--env-file', file, '--env', 'MULTI=a\nb']);
    expect(await readFile(file, 'utf8')).to.equal('PLAIN=x\n');
  });

  it('names that are not shell identifiers dropped', async function () {
    const result = await envArguments(file, { 'dotted.name': 'x', '1ST': 'y', 'A-B': 'z' });
    expect(result.dropped).to.deep.equal(['dotted.name', '1ST', 'A-B']);
    expect(result.args).to.deep.equal([]);
  });

  it('empty environment writes no file', async function () {
    expect(await envArguments(file, {})).to.deep.equal({ args: [], dropped: [] });
    let missing = false;
    await stat(file).catch(() => (missing = true));
    expect(missing).to.equal(true);
  });
});
