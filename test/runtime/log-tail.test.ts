import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { readTail } from '../../functions/lib/runtime/log-tail.js';

describe('readTail', function () {
  let dir: string;

  beforeEach(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'poiesis-tail-'));
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('small file read whole', async function () {
    const file = path.join(dir, 'log');
    await writeFile(file, 'short\n');
    expect(await readTail(file, 1024)).to.equal('short\n');
  });

  it('large file cut to the last bytes', async function () {
    const file = path.join(dir, 'log');
    await writeFile(file, `${'x'.repeat(10_000)}the end\n`);
    const tail = await readTail(file, 100);
    expect(tail).to.have.length(100);
    expect(tail.endsWith('the end\n')).to.equal(true);
  });

  it('character cut in two dropped', async function () {
    const file = path.join(dir, 'log');
    // "é" is two bytes and "€" three: the last 4 bytes start at "€", the last 3 inside it.
    await writeFile(file, 'aé€b');
    expect(await readTail(file, 4)).to.equal('€b');
    expect(await readTail(file, 3)).to.equal('b');
  });

  it('missing file reads as empty', async function () {
    expect(await readTail(path.join(dir, 'none'), 100)).to.equal('');
  });
});
