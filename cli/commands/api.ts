import { Command } from '@oclif/core';
import { createApi, API_PREFIX } from '../../functions/api/index.js';
import { PublishingEventSink, UnroutedEventSink } from '../../functions/api/event-sink.js';
import { HttpEventPublisher } from '../../functions/lib/events/publisher.js';
import { listen, onShutdown } from '../../functions/lib/http-server.js';
import { componentLogger } from '../../functions/lib/logging.js';
import { openStore } from '../../functions/lib/store/open.js';
import { storageDescription } from '../../functions/lib/storage/from-config.js';
import { configFromFlags, serverFlags } from '../flags.js';

export default class Api extends Command {
  static override summary = 'Start the TES API alone.';
  static override description =
    'Serves the TES v1.1.0 API on the task store in the data directory. New tasks and cancel ' +
    'requests are sent as CloudEvents to the broker at POIESIS_BROKER_URL (or K_SINK); ' +
    'without a broker, tasks are stored and stay QUEUED. `poiesis local` runs everything.';
  static override examples = ['<%= config.bin %> api --port 8000 --data-dir /var/lib/poiesis'];
  static override flags = serverFlags;

  async run(): Promise<void> {
    const { flags } = await this.parse(Api);
    const config = configFromFlags(flags, (message, options) => this.error(message, options));
    const logger = componentLogger('api');
    const store = await openStore(config);
    const events = config.brokerUrl
      ? new PublishingEventSink(new HttpEventPublisher({ brokerUrl: config.brokerUrl }))
      : new UnroutedEventSink(logger);
    if (!config.brokerUrl) {
      logger.warn('no broker configured (POIESIS_BROKER_URL or K_SINK): tasks will stay QUEUED');
    }
    const storage = storageDescription(config);
    const app = createApi(config, { store, events, ...storage });
    const running = await listen(app, config.host, config.port);
    logger.info({ url: `${running.url}${API_PREFIX}`, store: store.description }, 'api listening');
    this.log(`Poiesis TES API listening on ${running.url}${API_PREFIX}`);
    onShutdown(async () => {
      await running.close();
      await store.close();
    });
  }
}
