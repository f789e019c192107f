/**
 * The curl walk-through of the README, run as written against a real
 * `poiesis local`, so that the README stays true. Only the API address and
 * the demo's output directory are replaced.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { engineForTests, skipWithoutEngine } from '../support/engine.js';
import { startLocalProcess, type LocalProcess } from '../support/local-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const README_API_URL = 'http://127.0.0.1:8000/ga4gh/tes/v1';
const README_DEMO_DIR = '/tmp/poiesis-demo';
const IMAGE = 'localhost/poiesis-busybox';

/** Returns the shell block of the README's walk-through section. */
function walkThrough(): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Walk-through with curl'));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README has no sh block under "Walk-through with curl"');
  return block[1]!;
}

function ensureDemoImage(engine: string): void {
  try {
    execFileSync(engine, ['image', 'inspect', IMAGE], { stdio: 'ignore' });
  } catch {
    execFileSync(path.join(root, 'scripts/build-test-image.sh'), ['--no-aliases', engine], {
      stdio: 'inherit',
    });
  }
}

describe('e2e: README walk-through', function () {
  this.timeout(180_000);
  let local: LocalProcess | undefined;
  let demoDir: string;

  before(function () {
    skipWithoutEngine(this);
    ensureDemoImage(engineForTests()!);
    demoDir = mkdtempSync(path.join(os.tmpdir(), 'poiesis-readme-'));
  });
  after(async () => {
    await local?.stop();
    if (local) rmSync(local.dataDir, { recursive: true, force: true });
    if (demoDir) rmSync(demoDir, { recursive: true, force: true });
  });

  it('runs as written', async () => {
    local = await startLocalProcess({ env: { POIESIS_FILE_ALLOW: demoDir } });
    const script = walkThrough()
      .replaceAll(README_API_URL, local.apiUrl)
      .replaceAll(README_DEMO_DIR, demoDir);
    expect(script).to.include(local.apiUrl);

    const { stdout } = await promisify(execFile)('bash', ['-eu', '-c', script], {
      timeout: 120_000,
    });
    const lines = stdout.split('\n');

    expect(JSON.parse(lines[0]!).type.artifact).to.equal('tes');
    const id = lines[1]!;
    expect(id).to.match(/^[0-9a-z]{26}$/);
    expect(JSON.parse(lines[2]!)).to.deep.equal({ id, state: 'COMPLETE' });
    const full = JSON.parse(lines[3]!);
    expect(full.logs[0].logs[0].stdout).to.equal('2 /data/in.txt\n');
    expect(full.logs[0].outputs[0].size_bytes).to.equal('11');
    expect(lines.slice(4, 6)).to.deep.equal(['alpha', 'beta']);
    expect(JSON.parse(lines[6]!).tasks[0]).to.include({ id, name: 'demo' });
    expect(JSON.parse(lines[7]!).tasks).to.have.lengthOf(1);
    expect(JSON.parse(lines[8]!)).to.deep.equal({});
    expect(JSON.parse(lines[9]!).state).to.equal('CANCELED');
    const error = JSON.parse(lines[10]!);
    expect(error.status_code).to.equal(400);
    expect(error.msg).to.include('executors[0].image');
    expect(error.msg).to.include('inputs[0].path');
  });
});
