/**
 * The shape shared by `poiesis torc`, `tif`, `texam` and `tof`: each starts
 * one core service alone and publishes to an external broker.
 */
import { Command } from '@oclif/core';
import { ConfigError } from '../functions/lib/errors.js';
import { onShutdown } from '../functions/lib/http-server.js';
import type { ServiceName } from '../functions/local/components.js';
import { startService } from '../functions/local/standalone.js';
import { configFromFlags, serverFlags } from './flags.js';

export const BROKER_NOTE =
  'Events are published to the broker at POIESIS_BROKER_URL or K_SINK, which is required.';

export abstract class ServiceCommand extends Command {
  static override flags = serverFlags;

  /** The core service this command starts. */
  protected abstract readonly service: ServiceName;

  async run(): Promise<void> {
    const { flags } = await this.parse(this.constructor as typeof ServiceCommand);
    const config = configFromFlags(flags, (message, options) => this.error(message, options));
    try {
      const service = await startService(this.service, config);
      this.log(`${this.service} listening on ${service.url}`);
      onShutdown(() => service.stop());
    } catch (error) {
      if (error instanceof ConfigError) this.error(error.message, { exit: 2 });
      throw error;
    }
  }
}
