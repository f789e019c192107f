import { Command } from '@oclif/core';
import { ConfigError } from '../../functions/lib/errors.js';
import { onShutdown } from '../../functions/lib/http-server.js';
import { startService } from '../../functions/local/standalone.js';
import { configFromFlags, serverFlags } from '../flags.js';

export default class Tof extends Command {
  static override summary = 'Start TOF alone: the task output filer.';
  static override description =
    'Consumes executors.done, files the outputs of the task from its volume and sends outputs.filed. ' +
    'Events are published to the broker at POIESIS_BROKER_URL or K_SINK, which is required.';
  static override examples = ['K_SINK=http://broker.example/ <%= config.bin %> tof --port 8080'];
  static override flags = serverFlags;

  async run(): Promise<void> {
    const { flags } = await this.parse(Tof);
    const config = configFromFlags(flags, (message, options) => this.error(message, options));
    try {
      const service = await startService('tof', config);
      this.log(`tof listening on ${service.url}`);
      onShutdown(() => service.stop());
    } catch (error) {
      if (error instanceof ConfigError) this.error(error.message, { exit: 2 });
      throw error;
    }
  }
}
