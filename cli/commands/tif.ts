import { Command } from '@oclif/core';
import { ConfigError } from '../../functions/lib/errors.js';
import { onShutdown } from '../../functions/lib/http-server.js';
import { startService } from '../../functions/local/standalone.js';
import { configFromFlags, serverFlags } from '../flags.js';

export default class Tif extends Command {
  static override summary = 'Start TIF alone: the task input filer.';
  static override description =
    'Consumes task.initialized and stages the inputs of the task into its volume, then sends inputs.staged. ' +
    'Events are published to the broker at POIESIS_BROKER_URL or K_SINK, which is required.';
  static override examples = ['K_SINK=http://broker.example/ <%= config.bin %> tif --port 8080'];
  static override flags = serverFlags;

  async run(): Promise<void> {
    const { flags } = await this.parse(Tif);
    const config = configFromFlags(flags, (message, options) => this.error(message, options));
    try {
      const service = await startService('tif', config);
      this.log(`tif listening on ${service.url}`);
      onShutdown(() => service.stop());
    } catch (error) {
      if (error instanceof ConfigError) this.error(error.message, { exit: 2 });
      throw error;
    }
  }
}
