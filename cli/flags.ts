/**
 * Flags shared by the commands that start servers. Each maps to a key of
 * the configuration, so a flag overrides the matching `POIESIS_*` variable.
 */
import { Flags } from '@oclif/core';
import { loadConfig, type Config, type ConfigOverrides } from '../functions/lib/config.js';
import { ConfigError } from '../functions/lib/errors.js';
import { configureLogging } from '../functions/lib/logging.js';

export const serverFlags = {
  port: Flags.integer({ description: 'TCP port to listen on [env: POIESIS_PORT, default 8000]' }),
  host: Flags.string({
    description: 'Address to listen on [env: POIESIS_HOST, default 127.0.0.1]',
  }),
  'data-dir': Flags.string({
    description: 'Directory of the database and task files [env: POIESIS_DATA_DIR]',
  }),
  'log-level': Flags.string({
    description: 'Lowest log level [env: POIESIS_LOG_LEVEL, default info]',
  }),
};

export const dataDirFlags = { 'data-dir': serverFlags['data-dir'] };

/** Builds the configuration from parsed flags; an invalid value ends the command with exit code 2. */
export function configFromFlags(
  flags: Partial<Record<keyof typeof serverFlags, string | number | undefined>>,
  fail: (message: string, options: { exit: number }) => never,
): Config {
  const overrides: ConfigOverrides = {};
  if (flags.port !== undefined) overrides.port = flags.port;
  if (flags.host !== undefined) overrides.host = flags.host;
  if (flags['data-dir'] !== undefined) overrides.dataDir = flags['data-dir'];
  if (flags['log-level'] !== undefined) overrides.logLevel = flags['log-level'];
  try {
    const config = loadConfig(overrides);
    configureLogging(config.logLevel as Parameters<typeof configureLogging>[0]);
    return config;
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, { exit: 2 });
    throw error;
  }
}
