/**
 * The core services built from configuration on one machine's adapters:
 * the SQLite store, the container CLI runtime and the configured storage.
 * `poiesis local` runs all of them in one process; `poiesis torc`, `tif`,
 * `texam` and `tof` run one each, publishing to the broker at
 * POIESIS_BROKER_URL or K_SINK.
 */
import path from 'node:path';
import type Koa from 'koa';
import type { Config } from '../lib/config.js';
import type { EventPublisher } from '../lib/events/publisher.js';
import { InProcessFilers } from '../lib/filers/filer-jobs.js';
import { componentLogger } from '../lib/logging.js';
import { ContainerCliRuntime } from '../lib/runtime/container-cli.js';
import { TaskLayout } from '../lib/runtime/layout.js';
import type { Runtime } from '../lib/runtime/runtime.js';
import { storageFromConfig } from '../lib/storage/from-config.js';
import type { TaskStore } from '../lib/store/store.js';
import { createTexamApp } from '../texam/app.js';
import { ExecutorMonitor } from '../texam/monitor.js';
import { createTifApp } from '../tif/app.js';
import { createTofApp } from '../tof/app.js';
import { createTorcApp } from '../torc/app.js';
import { Orchestrator } from '../torc/orchestrator.js';
import { Reconciler } from '../torc/reconciler.js';

export type ServiceName = 'torc' | 'tif' | 'texam' | 'tof';
export const SERVICE_NAMES: readonly ServiceName[] = ['torc', 'tif', 'texam', 'tof'];

/** Returns `<dataDir>/tasks`, which contains one directory per task. */
export function tasksDirOf(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'tasks');
}

export function runtimeFromConfig(config: Config): ContainerCliRuntime {
  return new ContainerCliRuntime({
    tasksDir: tasksDirOf(config),
    engine: config.containerEngine === 'auto' ? undefined : config.containerEngine,
    runArguments: config.containerRunArgs.split(/\s+/).filter((argument) => argument !== ''),
    helperBinary: config.helperBinary,
    logTailBytes: config.logTailBytes,
  });
}

export interface CoreServices {
  orchestrator: Orchestrator;
  reconciler: Reconciler;
  monitor: ExecutorMonitor;
  filers: InProcessFilers;
  /** The Koa app of a service. */
  app(name: ServiceName): Koa;
  /** Waits for background work: container starts, filer jobs, teardowns. */
  drain(): Promise<void>;
}

export function buildCoreServices(
  config: Config,
  adapters: { store: TaskStore; runtime: Runtime; publisher: EventPublisher },
): CoreServices {
  const { store, runtime, publisher } = adapters;
  const tasksDir = tasksDirOf(config);
  const flow = { store, publisher };
  const filers = new InProcessFilers({
    registry: storageFromConfig(config),
    hostPathOf: (taskId) => (containerPath) =>
      new TaskLayout(tasksDir, taskId).hostPath(containerPath),
    publisher,
  });
  const orchestrator = new Orchestrator({
    ...flow,
    runtime,
    filers,
    maxActiveTasks: config.maxActiveTasks,
    logger: componentLogger('torc'),
  });
  const reconciler = new Reconciler({
    ...flow,
    orchestrator,
    filers,
    runtime,
    logger: componentLogger('torc'),
  });
  const monitor = new ExecutorMonitor({ ...flow, runtime, logger: componentLogger('texam') });
  const apps: Record<ServiceName, () => Koa> = {
    torc: () => createTorcApp({ orchestrator, reconciler }),
    tif: () => createTifApp({ ...flow, filers, logger: componentLogger('tif') }),
    texam: () => createTexamApp(monitor),
    tof: () => createTofApp({ ...flow, filers, logger: componentLogger('tof') }),
  };
  return {
    orchestrator,
    reconciler,
    monitor,
    filers,
    app: (name) => apps[name](),
    async drain() {
      await Promise.all([monitor.drain(), filers.drain(), orchestrator.drain()]);
    },
  };
}
