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
import { createApi, API_PREFIX } from '../api/index.js';
import { PublishingEventSink } from '../api/event-sink.js';
import type { Config } from '../lib/config.js';
import { buildReconcileEvent, eventRoutes } from '../lib/events/catalogue.js';
import { EmbeddedBroker } from '../lib/events/embedded-broker.js';
import { HttpEventPublisher } from '../lib/events/publisher.js';
import { listen, type RunningServer } from '../lib/http-server.js';
import { componentLogger, type Logger } from '../lib/logging.js';
import { storageDescription } from '../lib/storage/from-config.js';
import { openStore } from '../lib/store/open.js';
import { publishContainerEvents } from '../texam/container-events.js';
import type { Reconciler } from '../torc/reconciler.js';
import { buildCoreServices, runtimeFromConfig, SERVICE_NAMES } from './components.js';
import { lockDataDirectory } from './data-dir-lock.js';

export interface LocalPoiesis {
  /** Base URL of the TES API, such as `http://127.0.0.1:8000/ga4gh/tes/v1`. */
  apiUrl: string;
  broker: EmbeddedBroker;
  reconciler: Reconciler;
  /** Stops everything; running containers keep running and are picked up at the next start. */
  stop(): Promise<void>;
}

/** Steps that undo a start, run in reverse order of registration. */
type Cleanups = Array<() => Promise<void> | void>;

async function runCleanups(cleanups: Cleanups): Promise<void> {
  for (const cleanup of [...cleanups].reverse()) await cleanup();
}

export async function startLocal(config: Config): Promise<LocalPoiesis> {
  const logger = componentLogger('local');
  const cleanups: Cleanups = [lockDataDirectory(config.dataDir)];
  try {
    return await startParts(config, cleanups, logger);
  } catch (error) {
    logger.error({ err: error }, 'poiesis local failed to start');
    await runCleanups(cleanups).catch(() => undefined);
    throw error;
  }
}

async function startParts(
  config: Config,
  registered: Cleanups,
  logger: Logger,
): Promise<LocalPoiesis> {
  const store = await openStore(config);
  registered.push(() => store.close());
  const runtime = runtimeFromConfig(config);

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
  registered.push(() => broker.close({ drainTimeoutMs: 2000 }));
  const publisher = new HttpEventPublisher({ brokerUrl });

  // The API port is bound before anything acts on tasks, so a busy port stops the start early.
  const api = createApi(config, {
    store,
    events: new PublishingEventSink(publisher),
    ...storageDescription(config),
  });
  const apiServer = await listen(api, config.host, config.port);
  registered.push(() => apiServer.close());
  const apiUrl = `${apiServer.url}${API_PREFIX}`;

  const core = buildCoreServices(config, { store, runtime, publisher });
  registered.push(() => core.drain());
  const services = new Map<string, RunningServer>();
  for (const name of SERVICE_NAMES) {
    const running = await listen(core.app(name), '127.0.0.1', 0);
    registered.push(() => running.close());
    services.set(name, running);
  }
  for (const { type, consumer } of eventRoutes()) {
    const service = services.get(consumer);
    if (service) broker.subscribe({ type, url: `${service.url}/` });
  }
  broker.setDeadLetterSink(`${services.get('torc')!.url}/dead-letter`);

  const watch = publishContainerEvents(runtime, publisher, componentLogger('texam'));
  registered.push(() => watch.close());
  const timer = setInterval(() => {
    publisher.publish(buildReconcileEvent(new Date())).catch((error: unknown) => {
      logger.warn({ err: error }, 'sending the reconcile tick failed');
    });
  }, config.reconcileIntervalSeconds * 1000);
  timer.unref();
  registered.push(() => clearInterval(timer));
  await core.reconciler.reconcile(true);

  logger.info(
    { url: apiUrl, broker: brokerUrl, store: store.description },
    'poiesis local started',
  );
  return {
    apiUrl,
    broker,
    reconciler: core.reconciler,
    async stop() {
      await runCleanups(registered);
      logger.info('poiesis local stopped');
    },
  };
}
