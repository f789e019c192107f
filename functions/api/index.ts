/**
 * The API component assembled from configuration and its adapters.
 */
import type Koa from 'koa';
import type { Config } from '../lib/config.js';
import { componentLogger } from '../lib/logging.js';
import type { TaskStore } from '../lib/store/store.js';
import type { FileAccess } from '../lib/tes/validation-urls.js';
import { POIESIS_VERSION } from '../lib/version.js';
import { createApiApp } from './app.js';
import { PageTokens, pageTokenSecret } from './page-token.js';
import { buildServiceInfo, deploymentTimes } from './service-info.js';
import { TaskService, type TaskEventSink } from './task-service.js';

export { API_PREFIX } from './app.js';
export type { TaskEventSink } from './task-service.js';

export interface ApiDependencies {
  store: TaskStore;
  events: TaskEventSink;
  /** Storage locations for service-info, such as `file:///data` and `http://`. */
  storage: readonly string[];
  /** URL schemes inputs and outputs may use; undefined accepts any. */
  inputSchemes?: readonly string[];
  outputSchemes?: readonly string[];
  /** Directories that `file` URLs may point into; undefined accepts any. */
  fileAccess?: FileAccess;
  /** Supported `backend_parameters` keys, in lowercase. */
  backendParameters: readonly string[];
}

export function createApi(config: Config, dependencies: ApiDependencies): Koa {
  const logger = componentLogger('api');
  const tasks = new TaskService({
    store: dependencies.store,
    events: dependencies.events,
    pageTokens: new PageTokens(pageTokenSecret(config.pageTokenSecret, config.dataDir)),
    validation: {
      backendParameters: dependencies.backendParameters,
      inputSchemes: dependencies.inputSchemes,
      outputSchemes: dependencies.outputSchemes,
      fileAccess: dependencies.fileAccess,
    },
    logger,
  });
  const serviceInfo = buildServiceInfo({
    id: config.serviceId,
    name: config.serviceName,
    organization: { name: config.organizationName, url: config.organizationUrl },
    environment: config.environment,
    version: POIESIS_VERSION,
    storage: dependencies.storage,
    backendParameters: dependencies.backendParameters,
    ...deploymentTimes(config.dataDir, POIESIS_VERSION),
  });
  return createApiApp({ tasks, serviceInfo, maxBodyBytes: config.maxBodyBytes, logger });
}
