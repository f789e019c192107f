import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { SETTINGS } from '../../functions/lib/config.js';
import {
  copySourceProblems,
  isIgnored,
  parseCopy,
  parseIgnorePatterns,
  parseStages,
  type Stage,
} from './dockerfile.js';
import { readAllManifests, REPO_ROOT } from './manifests.js';

const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
const ignorePatterns = parseIgnorePatterns(
  readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8'),
);
const stages = parseStages(dockerfile);

function stage(name: string): Stage {
  const found = stages.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no stage named ${name}`);
  return found;
}

function values(target: Stage, keyword: string): string[] {
  return target.instructions
    .filter((instruction) => instruction.keyword === keyword)
    .map((instruction) => instruction.value);
}

describe('Dockerfile', () => {
  it('has a build and a runtime stage', () => {
    expect(stages.map((candidate) => candidate.name)).to.deep.equal(['build', 'runtime']);
  });

  it('builds on slim Node 20 Debian', () => {
    for (const candidate of stages) {
      expect(candidate.base, candidate.name).to.match(/^node:20(\.\d+)*-[a-z]+-slim$/);
    }
  });

  it('builds with npm ci and prunes dev packages', () => {
    const run = values(stage('build'), 'RUN').join('\n');
    for (const tool of ['python3', 'make', 'g++']) expect(run, tool).to.contain(tool);
    const steps = ['npm ci', 'npm run build', 'npm prune --omit=dev'];
    const positions = steps.map((step) => run.indexOf(step));
    for (const [index, step] of steps.entries()) expect(positions[index], step).to.be.at.least(0);
    expect(positions).to.deep.equal([...positions].sort((a, b) => a - b));
  });

  it('installs busybox-static as the helper', () => {
    expect(values(stage('runtime'), 'RUN').join('\n')).to.contain('busybox-static');
    expect(SETTINGS.helperBinary.default).to.equal('/bin/busybox');
  });

  it('runs as the user the services expect', () => {
    const user = values(stage('runtime'), 'USER').at(-1);
    const uid = Number(user?.split(':')[0]);
    expect(uid, `USER ${user}`).to.be.greaterThan(0);
    const services = readAllManifests().filter(
      ({ manifest }) => manifest.apiVersion === 'serving.knative.dev/v1',
    );
    expect(services).to.not.be.empty;
    for (const { manifest } of services) {
      const security = manifest.spec.template.spec.containers[0].securityContext;
      expect(security.runAsUser, manifest.metadata.name).to.equal(uid);
    }
  });

  it('starts the poiesis cli', () => {
    const entrypoint = JSON.parse(values(stage('runtime'), 'ENTRYPOINT').at(-1)!) as string[];
    const packageJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(entrypoint[0]).to.equal('node');
    expect(path.posix.relative('/app', entrypoint[1]!)).to.equal(
      path.posix.normalize(packageJson.bin.poiesis),
    );
  });

  it('copies only existing, included paths', () => {
    expect(copySourceProblems(stages, REPO_ROOT, ignorePatterns)).to.deep.equal([]);
  });

  it('copies build outputs from the build stage', () => {
    const tsconfig = JSON.parse(readFileSync(path.join(REPO_ROOT, 'tsconfig.json'), 'utf8'));
    const build = stage('build');
    const workdir = values(build, 'WORKDIR').at(-1)!;
    const copiedIn = values(build, 'COPY').flatMap((value) => parseCopy(value).sources);
    const produced = new Set([...copiedIn, 'node_modules', tsconfig.compilerOptions.outDir]);
    const fromBuild = values(stage('runtime'), 'COPY')
      .map(parseCopy)
      .filter((copy) => copy.from === 'build');
    expect(fromBuild).to.not.be.empty;
    for (const copy of fromBuild) {
      for (const source of copy.sources) {
        const relative = path.posix.relative(workdir, source);
        expect(relative.startsWith('..'), `${source} is under ${workdir}`).to.equal(false);
        expect(produced.has(relative.split('/')[0]!), `${source} is made by the build`).to.equal(
          true,
        );
      }
    }
  });

  it('reports a missing copy source', () => {
    const problems = copySourceProblems(
      parseStages('FROM node:20-bookworm-slim AS a\nCOPY no-such-file ./\n'),
      REPO_ROOT,
      ignorePatterns,
    );
    expect(problems).to.deep.equal(['a: COPY no-such-file: not found in the build context']);
  });

  it('reports an ignored copy source', () => {
    const problems = copySourceProblems(
      parseStages('FROM node:20-bookworm-slim AS a\nCOPY test ./test\n'),
      REPO_ROOT,
      ignorePatterns,
    );
    expect(problems).to.deep.equal(['a: COPY test: excluded by .dockerignore']);
  });
});

describe('.dockerignore', () => {
  it('keeps packages, builds and tests out', () => {
    for (const file of ['node_modules/koa/package.json', 'dist/cli/flags.js', 'test/x.test.ts']) {
      expect(isIgnored(file, ignorePatterns), file).to.equal(true);
    }
  });

  it('keeps the sources in', () => {
    for (const file of ['functions/lib/config.ts', 'cli/flags.ts', 'bin/run.js', 'package.json']) {
      expect(isIgnored(file, ignorePatterns), file).to.equal(false);
    }
  });

  it('brings back negated paths', () => {
    const patterns = ['docs', '!docs/keep.md'];
    expect(isIgnored('docs/keep.md', patterns)).to.equal(false);
    expect(isIgnored('docs/other.md', patterns)).to.equal(true);
  });
});
