/**
 * The configuration of Poiesis: one typed object, built in one place from
 * command-line flags and `POIESIS_*` environment variables (flags win), and
 * validated before anything starts.
 *
 * {@link SETTINGS} is the single list of keys; the README's configuration
 * table and `poiesis info` are made from it.
 */
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from './errors.js';

type Kind = 'string' | 'integer' | 'number' | 'boolean' | 'list';

interface Setting<K extends Kind = Kind> {
  /** Environment variable. */
  env: string;
  kind: K;
  /** Default, as it would be written in the environment. */
  default: string;
  unit?: string;
  description: string;
  /** Lowest allowed value of a number. */
  min?: number;
  /** Allowed values of a string. */
  choices?: readonly string[];
}

function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'poiesis');
}

/** Every configuration key, by the name used in code. */
export const SETTINGS = {
  host: {
    env: 'POIESIS_HOST',
    kind: 'string',
    default: '127.0.0.1',
    description: 'Address the HTTP server listens on; 0.0.0.0 listens on all interfaces.',
  },
  port: {
    env: 'POIESIS_PORT',
    kind: 'integer',
    default: '8000',
    min: 0,
    description: 'TCP port of the HTTP server; 0 picks a free port.',
  },
  dataDir: {
    env: 'POIESIS_DATA_DIR',
    kind: 'string',
    default: '$XDG_DATA_HOME/poiesis, else ~/.local/share/poiesis',
    description: 'Directory of the task database and the per-task working directories.',
  },
  logLevel: {
    env: 'POIESIS_LOG_LEVEL',
    kind: 'string',
    default: 'info',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    description: 'Lowest level of the JSON log lines written to standard output.',
  },
  maxBodyBytes: {
    env: 'POIESIS_MAX_BODY_BYTES',
    kind: 'integer',
    default: String(16 * 1024 * 1024),
    unit: 'bytes',
    min: 256 * 1024,
    description: 'Largest accepted request body; larger ones get 413.',
  },
  serviceId: {
    env: 'POIESIS_SERVICE_ID',
    kind: 'string',
    default: 'org.poiesis.tes',
    description: 'service-info `id`, reverse domain notation.',
  },
  serviceName: {
    env: 'POIESIS_SERVICE_NAME',
    kind: 'string',
    default: 'Poiesis',
    description: 'service-info `name`.',
  },
  organizationName: {
    env: 'POIESIS_ORGANIZATION_NAME',
    kind: 'string',
    default: 'Poiesis',
    description: 'service-info `organization.name`.',
  },
  organizationUrl: {
    env: 'POIESIS_ORGANIZATION_URL',
    kind: 'string',
    default: 'https://github.com/poiesis-tes/poiesis',
    description: 'service-info `organization.url`.',
  },
  environment: {
    env: 'POIESIS_ENVIRONMENT',
    kind: 'string',
    default: '',
    description: 'service-info `environment`, such as prod or test; empty leaves it out.',
  },
  pageTokenSecret: {
    env: 'POIESIS_PAGE_TOKEN_SECRET',
    kind: 'string',
    default: '',
    description:
      'Key that signs list page tokens; empty uses a random key kept in the data directory.',
  },
} satisfies Record<string, Setting>;

type Settings = typeof SETTINGS;
type ValueOf<S> = S extends { kind: 'integer' | 'number' }
  ? number
  : S extends { kind: 'boolean' }
    ? boolean
    : S extends { kind: 'list' }
      ? string[]
      : string;

/** The validated configuration. */
export type Config = { readonly [K in keyof Settings]: ValueOf<Settings[K]> };

/** Values given on the command line, by configuration key; they win over the environment. */
export type ConfigOverrides = Partial<Record<keyof Settings, string | number | boolean>>;

function parseValue(key: string, setting: Setting, raw: string, problems: string[]): unknown {
  const where = `${setting.env} (${key})`;
  switch (setting.kind) {
    case 'integer':
    case 'number': {
      const value = Number(raw);
      const valid =
        raw.trim() !== '' &&
        Number.isFinite(value) &&
        (setting.kind === 'number' || Number.isInteger(value));
      if (!valid) {
        problems.push(
          `${where}: expected ${setting.kind === 'integer' ? 'an integer' : 'a number'}, got "${raw}"`,
        );
        return undefined;
      }
      if (setting.min !== undefined && value < setting.min) {
        problems.push(`${where}: must be at least ${setting.min}, got ${value}`);
      }
      return value;
    }
    case 'boolean': {
      if (/^(true|1|yes)$/i.test(raw)) return true;
      if (/^(false|0|no|)$/i.test(raw)) return false;
      problems.push(`${where}: expected true or false, got "${raw}"`);
      return undefined;
    }
    case 'list':
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
    case 'string':
      if (setting.choices && !setting.choices.includes(raw)) {
        problems.push(`${where}: expected one of ${setting.choices.join(', ')}, got "${raw}"`);
      }
      return raw;
  }
}

/**
 * Builds the configuration from overrides, then the environment, then the
 * defaults. Throws {@link ConfigError} listing every invalid value.
 */
export function loadConfig(
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(SETTINGS) as Array<[keyof Settings, Setting]>) {
    const override = overrides[key];
    let raw = override !== undefined ? String(override) : env[setting.env];
    if (raw === undefined) raw = key === 'dataDir' ? defaultDataDir() : setting.default;
    config[key] = parseValue(key, setting, raw, problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  config.dataDir = path.resolve(config.dataDir as string);
  return config as Config;
}
