/**
 * Every shared task case, end to end, against `poiesis local` with real
 * containers: once with plain event delivery and once with deliveries
 * duplicated, delayed and reordered, which only idempotent handlers survive.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { engineForTests, ensureAlpineImage, skipWithoutEngine } from '../support/engine.js';
import {
  checkCase,
  containersOfTask,
  loadCases,
  runCase,
  serveDirectory,
} from '../support/cases.js';
import { startLocalProcess, type LocalProcess } from '../support/local-process.js';

const DELIVERY_MODES: Array<[string, Record<string, string>]> = [
  ['plain delivery', {}],
  [
    'duplicated, delayed and reordered delivery',
    {
      POIESIS_DELIVERY_DUPLICATE: '0.5',
      POIESIS_DELIVERY_DELAY: '40',
      POIESIS_DELIVERY_REORDER_WINDOW: '30',
      POIESIS_DELIVERY_SEED: '7',
    },
  ],
];

for (const [mode, env] of DELIVERY_MODES) {
  describe(`e2e: cases with ${mode}`, function () {
    this.timeout(180_000);
    let root: string;
    let local: LocalProcess;
    let http: { url: string; server: Server };
    const engine = engineForTests();

    before(async function () {
      skipWithoutEngine(this);
      ensureAlpineImage(engineForTests()!);
      root = mkdtempSync(path.join(os.tmpdir(), 'poiesis-cases-'));
      mkdirSync(path.join(root, 'http'), { recursive: true });
      local = await startLocalProcess({
        env: { ...env, POIESIS_FILE_ALLOW: root, POIESIS_RECONCILE_INTERVAL: '5' },
      });
    });
    after(async () => {
      await local?.stop();
      http?.server.close();
      if (local) rmSync(local.dataDir, { recursive: true, force: true });
      if (root) rmSync(root, { recursive: true, force: true });
    });

    for (const taskCase of loadCases()) {
      it(`${taskCase.file}: ${taskCase.about}`, async () => {
        const work = path.join(root, taskCase.file.replace(/\.json$/, ''));
        mkdirSync(path.join(work, 'http'), { recursive: true });
        http = await serveDirectory(path.join(work, 'http'));
        try {
          const result = await runCase(taskCase, {
            baseUrl: local.apiUrl,
            work,
            http: http.url,
            defaultSeconds: 60,
          });
          const problems = await checkCase(taskCase, result, {
            work,
            containersOf: (taskId) => containersOfTask(engine!, taskId),
            volumeOf: (taskId) => path.join(local.dataDir, 'tasks', taskId),
          });
          const taskLog = local
            .log()
            .split('\n')
            .filter((line) => line.includes(result.taskId))
            .join('\n');
          expect(problems, `${JSON.stringify(result.task, null, 2)}\n${taskLog}`).to.deep.equal([]);
        } finally {
          http.server.close();
        }
      });
    }
  });
}
