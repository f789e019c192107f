/**
 * The embedded home: the API, the four core services and a broker in one
 * process, on SQLite and podman or docker containers.
 *
 * Steps of start-up:
 * 1. open the store and the container runtime;
 * 2. start the broker, then each service's Koa app on a loopback port, and
 *    subscribe the services to their event types as Triggers would;
 * 3. publish container exits as events and start the reconcile timer;
 * 4. repair every unfinished task once, then serve the API.
 */
import path from 'node:path';
import { createApi, API_PREFIX } from '../api/index.js';
import { PublishingEventSink } from '../api/event-sink.js';
import type { Config } from '../lib/config.js';
import { buildReconcileEvent, eventRoutes, type Component } from '../lib/events/catalogue.js';
import { EmbeddedBroker } from '../lib/events/embedded-broker.js';
import { HttpEventPublisher } from '../lib/events/publisher.js';
import { InProcessFilers } from '../lib/filers/filer-jobs.js';
import { listen, type RunningServer } from '../lib/http-server.js';
import { componentLogger } from '../lib/logging.js';
import { ContainerCliRuntime } from '../lib/runtime/container-cli.js';
import { TaskLayout } from '../lib/runtime/layout.js';
import { storageDescription, storageFromConfig } from '../lib/storage/from-config.js';
import { openStore } from '../lib/store/open.js';
import { createTexamApp } from '../texam/app.js';
import { publishContainerEvents } from '../texam/container-events.js';
import { ExecutorMonitor } from '../texam/monitor.js';
import { createTifApp } from '../tif/app.js';
import { createTofApp } from '../tof/app.js';
import { createTorcApp } from '../torc/app.js';
import { Orchestrator } from '../torc/orchestrator.js';
import { Reconciler } from '../torc/reconciler.js';

export interface LocalPoiesis {
  /** Base URL of the TES API, such as `http://127.0.0.1:8000/ga4gh/tes/v1`. */
  apiUrl: string;
  broker: EmbeddedBroker;
  reconciler: Reconciler;
  /** Stops everything; running containers keep running and are picked up at the next start. */
  stop(): Promise<void>;
}

/** Splits the configured extra `run` arguments on white space. */
function runArguments(config: Config): string[] {
  return config.containerRunArgs.split(/\s+/).filter((argument) => argument !== '');
}

export async function startLocal(config: Config): Promise<LocalPoiesis> {
  const logger = componentLogger('local');
  const tasksDir = path.join(config.dataDir, 'tasks');
  const store = await openStore(config);
  const runtime = new ContainerCliRuntime({
    tasksDir,
    engine: config.containerEngine === 'auto' ? undefined : config.containerEngine,
    runArguments: runArguments(config),
    helperBinary: config.helperBinary,
    logTailBytes: config.logTailBytes,
  });

  const broker = new EmbeddedBroker({
    retry: { attempts: config.deliveryAttempts, backoffDelayMs: config.deliveryBackoffMs },
    faults: {
      duplicateProbability: config.deliveryDuplicate,
      delayMs: { min: 0, max: config.deliveryDelayMs },
      reorderWindowMs: config.deliveryReorderWindowMs,
      seed: config.deliverySeed,
    },
  });
  const brokerUrl = await broker.start();
  const publisher = new HttpEventPublisher({ brokerUrl });
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
    logger: componentLogger('torc'),
  });
  const reconciler = new Reconciler({
    ...flow,
    orchestrator,
    filers,
    logger: componentLogger('torc'),
  });
  const monitor = new ExecutorMonitor({ ...flow, runtime, logger: componentLogger('texam') });

  const services: Array<[Exclude<Component, 'api' | 'runtime' | 'timer'>, RunningServer]> = [
    ['torc', await listen(createTorcApp({ orchestrator, reconciler }), '127.0.0.1', 0)],
    [
      'tif',
      await listen(
        createTifApp({ ...flow, filers, logger: componentLogger('tif') }),
        '127.0.0.1',
        0,
      ),
    ],
    ['texam', await listen(createTexamApp(monitor), '127.0.0.1', 0)],
    [
      'tof',
      await listen(
        createTofApp({ ...flow, filers, logger: componentLogger('tof') }),
        '127.0.0.1',
        0,
      ),
    ],
  ];
  const serviceUrl = new Map(services.map(([name, running]) => [name as Component, running.url]));
  for (const { type, consumer } of eventRoutes()) {
    const url = serviceUrl.get(consumer);
    if (url) broker.subscribe({ type, url: `${url}/` });
  }
  broker.setDeadLetterSink(`${serviceUrl.get('torc')}/dead-letter`);

  const watch = publishContainerEvents(runtime, publisher, componentLogger('texam'));
  const timer = setInterval(() => {
    publisher.publish(buildReconcileEvent(new Date())).catch((error: unknown) => {
      logger.warn({ err: error }, 'sending the reconcile tick failed');
    });
  }, config.reconcileIntervalSeconds * 1000);
  timer.unref();
  await reconciler.reconcile(true);

  const api = createApi(config, {
    store,
    events: new PublishingEventSink(publisher),
    ...storageDescription(config),
  });
  const apiServer = await listen(api, config.host, config.port);
  const apiUrl = `${apiServer.url}${API_PREFIX}`;
  logger.info(
    { url: apiUrl, broker: brokerUrl, store: store.description },
    'poiesis local started',
  );

  return {
    apiUrl,
    broker,
    reconciler,
    async stop() {
      clearInterval(timer);
      await apiServer.close();
      await watch.close();
      await broker.close({ drainTimeoutMs: 2000 });
      await Promise.all([monitor.drain(), filers.drain(), orchestrator.drain()]);
      await Promise.all(services.map(([, running]) => running.close()));
      await store.close();
      logger.info('poiesis local stopped');
    },
  };
}
