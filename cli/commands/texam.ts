import { Command } from '@oclif/core';
import { ConfigError } from '../../functions/lib/errors.js';
import { onShutdown } from '../../functions/lib/http-server.js';
import { startService } from '../../functions/local/standalone.js';
import { configFromFlags, serverFlags } from '../flags.js';

export default class Texam extends Command {
  static override summary = 'Start TExAM alone: the executor runner and monitor.';
  static override description =
    'Consumes inputs.staged and executor.exited, runs the executors one after another and records their logs. Also watches the containers and sends executor.exited for each exit. ' +
    'Events are published to the broker at POIESIS_BROKER_URL or K_SINK, which is required.';
  static override examples = ['K_SINK=http://broker.example/ <%= config.bin %> texam --port 8080'];
  static override flags = serverFlags;

  async run(): Promise<void> {
    const { flags } = await this.parse(Texam);
    const config = configFromFlags(flags, (message, options) => this.error(message, options));
    try {
      const service = await startService('texam', config);
      this.log(`texam listening on ${service.url}`);
      onShutdown(() => service.stop());
    } catch (error) {
      if (error instanceof ConfigError) this.error(error.message, { exit: 2 });
      throw error;
    }
  }
}
