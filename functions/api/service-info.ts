/**
 * The GA4GH service-info document of this TES server, and the deployment
 * times it reports, kept in the data directory.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TesServiceInfo } from '../lib/tes/schemas.js';
import { TES_SPEC } from '../lib/version.js';

export interface ServiceInfoOptions {
  id: string;
  name: string;
  organization: { name: string; url: string };
  environment?: string;
  version: string;
  /** Storage locations and URL schemes the filers support, such as `file:///data` or `http://`. */
  storage: readonly string[];
  /** Supported `backend_parameters` keys. */
  backendParameters: readonly string[];
  createdAt: string;
  updatedAt: string;
}

export function buildServiceInfo(options: ServiceInfoOptions): TesServiceInfo {
  return {
    id: options.id,
    name: options.name,
    type: { group: 'org.ga4gh', artifact: 'tes', version: TES_SPEC.version },
    description: 'Poiesis: a GA4GH Task Execution Service running tasks as containers.',
    organization: { ...options.organization },
    createdAt: options.createdAt,
    updatedAt: options.updatedAt,
    ...(options.environment ? { environment: options.environment } : {}),
    version: options.version,
    storage: [...options.storage],
    tesResources_backend_parameters: [...options.backendParameters],
  };
}

interface DeploymentRecord {
  createdAt: string;
  updatedAt: string;
  version: string;
}

/**
 * When this deployment was first started (`createdAt`) and when it first
 * ran the current version (`updatedAt`), kept in `<dataDir>/deployment.json`.
 */
export function deploymentTimes(dataDir: string, version: string, now = new Date()) {
  const file = path.join(dataDir, 'deployment.json');
  let record: DeploymentRecord | undefined;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as DeploymentRecord;
  } catch {
    record = undefined;
  }
  if (!record || record.version !== version) {
    const time = now.toISOString();
    record = { createdAt: record?.createdAt ?? time, updatedAt: time, version };
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  }
  return { createdAt: record.createdAt, updatedAt: record.updatedAt };
}
