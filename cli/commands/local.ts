import { Command } from '@oclif/core';
import { PoiesisError } from '../../functions/lib/errors.js';
import { onShutdown } from '../../functions/lib/http-server.js';
import { startLocal } from '../../functions/local/local.js';
import { configFromFlags, serverFlags } from '../flags.js';

export default class Local extends Command {
  static override summary = 'Run Poiesis on this machine: API, services, broker and containers.';
  static override description =
    'Starts the TES API, TOrc, TIF, TExAM and TOF with an embedded event broker in one ' +
    'process. Tasks are stored in SQLite under the data directory and their executors run as ' +
    'podman or docker containers. Stopping the process leaves running containers alone; the ' +
    'next start picks them up, and unfinished tasks are resumed or failed with a reason.';
  static override examples = [
    '<%= config.bin %> local',
    '<%= config.bin %> local --port 8000 --data-dir ./poiesis-data',
  ];
  static override flags = serverFlags;

  async run(): Promise<void> {
    const { flags } = await this.parse(Local);
    const config = configFromFlags(flags, (message, options) => this.error(message, options));
    let local;
    try {
      local = await startLocal(config);
    } catch (error) {
      // Causes a user can act on get a plain message; anything else keeps its stack.
      if (error instanceof PoiesisError) this.error(error.message, { exit: 2 });
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        this.error(`port ${config.port} on ${config.host} is in use; pick another with --port`, {
          exit: 2,
        });
      }
      throw error;
    }
    this.log(`Poiesis TES API listening on ${local.apiUrl}`);
    this.log(`data directory: ${config.dataDir}`);
    onShutdown(() => local.stop());
  }
}
