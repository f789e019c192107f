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
  /** Highest allowed value of a number. */
  max?: number;
  /** Allowed values of a string. */
  choices?: readonly string[];
}

function defaultDataDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share');
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
    description: 'Lowest level of the JSON log lines written to standard error.',
  },
  maxBodyBytes: {
    env: 'POIESIS_MAX_BODY_BYTES',
    kind: 'integer',
    default: String(16 * 1024 * 1024),
    unit: 'bytes',
    min: 256 * 1024,
    description: 'Maximum size of a request body; larger ones get 413.',
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
  brokerUrl: {
    env: 'POIESIS_BROKER_URL',
    kind: 'string',
    default: '',
    description:
      'URL events are posted to; K_SINK, set by a Knative SinkBinding, is used when this is empty. ' +
      '`poiesis local` runs its own broker and ignores it.',
  },
  fileAllow: {
    env: 'POIESIS_FILE_ALLOW',
    kind: 'list',
    default: 'the home directory and the temporary directory',
    description:
      'Comma-separated host directories that file:// inputs may read and outputs may write; ' +
      'anything outside them, and the data directory inside them, is rejected.',
  },
  httpTimeoutSeconds: {
    env: 'POIESIS_HTTP_TIMEOUT',
    kind: 'integer',
    default: '600',
    unit: 'seconds',
    min: 1,
    description: 'Maximum time an http:// or https:// input download may take.',
  },
  containerEngine: {
    env: 'POIESIS_CONTAINER_ENGINE',
    kind: 'string',
    default: 'auto',
    description:
      'Container CLI of `poiesis local`: podman, docker, a path to either, or auto (podman, then docker).',
  },
  containerRunArgs: {
    env: 'POIESIS_CONTAINER_RUN_ARGS',
    kind: 'string',
    default: '',
    description:
      'Extra arguments for every `run`, split on spaces, such as ' +
      '`--ulimit nofile=10000:10000` on hosts whose hard limits are below the engine defaults.',
  },
  helperBinary: {
    env: 'POIESIS_HELPER_BINARY',
    kind: 'string',
    default: '/bin/busybox',
    description:
      'Static busybox mounted into executor containers to wire stdin, stdout and stderr files ' +
      'without a shell in the image (Debian package busybox-static).',
  },
  logTailBytes: {
    env: 'POIESIS_LOG_TAIL_BYTES',
    kind: 'integer',
    default: String(64 * 1024),
    unit: 'bytes',
    min: 0,
    description: 'How much of the end of each executor stdout and stderr the task log keeps.',
  },
  maxActiveTasks: {
    env: 'POIESIS_MAX_ACTIVE_TASKS',
    kind: 'integer',
    default: 'four per CPU core of the host',
    min: 0,
    description:
      'Tasks that may be INITIALIZING, RUNNING or CANCELING at once; more stay QUEUED until one ' +
      'ends. 0 sets no limit. Concurrent starts can exceed it by a few.',
  },
  reconcileIntervalSeconds: {
    env: 'POIESIS_RECONCILE_INTERVAL',
    kind: 'integer',
    default: '15',
    unit: 'seconds',
    min: 1,
    description: 'How often unfinished tasks are checked against the runtime and repaired.',
  },
  deliveryAttempts: {
    env: 'POIESIS_DELIVERY_ATTEMPTS',
    kind: 'integer',
    default: '6',
    min: 1,
    description: 'Delivery attempts of an event by the embedded broker before it is dead-lettered.',
  },
  deliveryBackoffMs: {
    env: 'POIESIS_DELIVERY_BACKOFF',
    kind: 'integer',
    default: '200',
    unit: 'milliseconds',
    min: 1,
    description: 'First retry delay of the embedded broker; each further retry doubles it.',
  },
  deliveryDuplicate: {
    env: 'POIESIS_DELIVERY_DUPLICATE',
    kind: 'number',
    default: '0',
    min: 0,
    max: 1,
    description:
      'Fault injection: probability (0 to 1) that the embedded broker delivers an event twice.',
  },
  deliveryDelayMs: {
    env: 'POIESIS_DELIVERY_DELAY',
    kind: 'integer',
    default: '0',
    unit: 'milliseconds',
    min: 0,
    description: 'Fault injection: maximum random delay the embedded broker adds to a delivery.',
  },
  deliveryReorderWindowMs: {
    env: 'POIESIS_DELIVERY_REORDER_WINDOW',
    kind: 'integer',
    default: '0',
    unit: 'milliseconds',
    min: 0,
    description:
      'Fault injection: the embedded broker holds deliveries this long and sends them shuffled; 0 keeps their order.',
  },
  deliverySeed: {
    env: 'POIESIS_DELIVERY_SEED',
    kind: 'integer',
    default: '1',
    description: 'Seed of the fault injection randomness, so that a run can be repeated.',
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
      if (setting.max !== undefined && value > setting.max) {
        problems.push(`${where}: must be at most ${setting.max}, got ${value}`);
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

/** Defaults that depend on the environment rather than being fixed text. */
function fallback(key: keyof Settings, env: NodeJS.ProcessEnv): string | undefined {
  if (key === 'dataDir') return defaultDataDir(env);
  if (key === 'brokerUrl') return env.K_SINK;
  if (key === 'fileAllow') return [os.homedir(), os.tmpdir()].join(',');
  if (key === 'maxActiveTasks') return String(4 * os.availableParallelism());
  return undefined;
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
    if (raw === undefined) raw = fallback(key, env) ?? setting.default;
    config[key] = parseValue(key, setting, raw, problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  config.dataDir = path.resolve(config.dataDir as string);
  return config as Config;
}
