/**
 * One core service alone in a process, publishing to an external broker:
 * what a Knative Service of that component runs. TExAM also watches the
 * containers and reports their exits; TOrc also runs the reconcile loop.
 */
import type { Config } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import { HttpEventPublisher } from '../lib/events/publisher.js';
import { listen } from '../lib/http-server.js';
import { componentLogger } from '../lib/logging.js';
import type { ContainerWatch } from '../lib/runtime/runtime.js';
import { openStore } from '../lib/store/open.js';
import { publishContainerEvents } from '../texam/container-events.js';
import { buildCoreServices, runtimeFromConfig, type ServiceName } from './components.js';

export interface StandaloneService {
  url: string;
  stop(): Promise<void>;
}

export async function startService(name: ServiceName, config: Config): Promise<StandaloneService> {
  if (!config.brokerUrl) {
    throw new ConfigError([
      `POIESIS_BROKER_URL (or K_SINK): required by poiesis ${name}, which publishes its events there`,
    ]);
  }
  const logger = componentLogger(name);
  const store = await openStore(config);
  const runtime = runtimeFromConfig(config);
  const publisher = new HttpEventPublisher({ brokerUrl: config.brokerUrl });
  const core = buildCoreServices(config, { store, runtime, publisher });
  const server = await listen(core.app(name), config.host, config.port);

  let watch: ContainerWatch | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (name === 'texam') watch = publishContainerEvents(runtime, publisher, logger);
  if (name === 'torc') {
    await core.reconciler.reconcile(true);
    timer = setInterval(
      () => void core.reconciler.reconcile(),
      config.reconcileIntervalSeconds * 1000,
    );
  }
  logger.info(
    { url: server.url, broker: config.brokerUrl, store: store.description },
    `${name} started`,
  );

  return {
    url: server.url,
    async stop() {
      clearInterval(timer);
      await watch?.close();
      await server.close();
      await core.drain();
      await store.close();
    },
  };
}
