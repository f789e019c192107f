import { Command } from '@oclif/core';
import { ConfigError } from '../../functions/lib/errors.js';
import { onShutdown } from '../../functions/lib/http-server.js';
import { startService } from '../../functions/local/standalone.js';
import { configFromFlags, serverFlags } from '../flags.js';

export default class Torc extends Command {
  static override summary = 'Start TOrc alone: orchestration, teardown and the reconcile loop.';
  static override description =
    'Consumes task.created, outputs.filed, task.failed, cancel.requested and reconcile.requested at / and failed deliveries at /dead-letter. Repairs unfinished tasks at start-up and every POIESIS_RECONCILE_INTERVAL seconds. ' +
    'Events are published to the broker at POIESIS_BROKER_URL or K_SINK, which is required.';
  static override examples = ['K_SINK=http://broker.example/ <%= config.bin %> torc --port 8080'];
  static override flags = serverFlags;

  async run(): Promise<void> {
    const { flags } = await this.parse(Torc);
    const config = configFromFlags(flags, (message, options) => this.error(message, options));
    try {
      const service = await startService('torc', config);
      this.log(`torc listening on ${service.url}`);
      onShutdown(() => service.stop());
    } catch (error) {
      if (error instanceof ConfigError) this.error(error.message, { exit: 2 });
      throw error;
    }
  }
}
