/**
 * The official TES v1.1.0 OpenAPI document, read from the shared reference
 * copy beside the repository, and JSON Schema validators for its components.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SHARED_DIR = path.resolve(here, '../../../shared');
const SPEC_DIR = path.join(SHARED_DIR, 'spec');

type JsonObject = Record<string, unknown>;

export function loadOfficialSpec(): JsonObject {
  return parse(readFileSync(path.join(SPEC_DIR, 'task_execution_service.openapi.yaml'), 'utf8'));
}

function loadServiceInfoSpec(): JsonObject {
  return parse(readFileSync(path.join(SPEC_DIR, 'service-info.v1.0.0.yaml'), 'utf8'));
}

const SERVICE_INFO_REF =
  'https://raw.githubusercontent.com/ga4gh-discovery/ga4gh-service-info/v1.0.0/service-info.yaml#/components/schemas/';

/**
 * Rewrites OpenAPI 3.0 schema details that JSON Schema reads differently:
 * references to the service-info document, and, with `closed`, objects
 * that list their properties reject any other member, so that a misspelled
 * field fails validation.
 */
function adapt(value: unknown, closed: boolean, base: string): unknown {
  if (Array.isArray(value)) return value.map((item) => adapt(item, closed, base));
  if (typeof value !== 'object' || value === null) return value;
  const result: JsonObject = {};
  for (const [key, member] of Object.entries(value as JsonObject)) {
    if (key === '$ref' && typeof member === 'string') {
      result.$ref = member.startsWith(SERVICE_INFO_REF)
        ? `service-info#/components/schemas/${member.slice(SERVICE_INFO_REF.length)}`
        : `${base}${member}`;
    } else {
      result[key] = adapt(member, closed, base);
    }
  }
  if (closed && result.properties && result.additionalProperties === undefined) {
    result.additionalProperties = false;
  }
  return result;
}

export interface OfficialOptions {
  /** Reject members the component does not list. @defaultValue true */
  closed?: boolean;
  /** Tasks are in the MINIMAL view, which leaves out the required `executors`. */
  minimal?: boolean;
}

/**
 * A validator for a component of the official document, for example
 * `tesTask`. With `closed`, unknown members are rejected too. `allOf`
 * compositions (service-info) are left open, since closing each part
 * would reject the other part's fields.
 */
export function officialValidator(
  component: string,
  options: OfficialOptions = {},
): ValidateFunction {
  const { closed = true, minimal = false } = options;
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  for (const format of ['int32', 'int64', 'double', 'boolean']) ajv.addFormat(format, true);
  const spec = adapt(loadOfficialSpec(), closed, 'tes') as any;
  // The MINIMAL view has only id and state, although the schema requires executors.
  if (minimal) delete spec.components.schemas.tesTask.required;
  ajv.addSchema({ ...spec, $id: 'tes' });
  ajv.addSchema({
    ...(adapt(loadServiceInfoSpec(), false, 'service-info') as JsonObject),
    $id: 'service-info',
  });
  const validate = ajv.getSchema(`tes#/components/schemas/${component}`);
  if (!validate) throw new Error(`no component ${component} in the official document`);
  return validate;
}

/** Throws with every problem unless `value` matches the official component. */
export function assertOfficial(component: string, value: unknown, options?: OfficialOptions) {
  const validate = officialValidator(component, options);
  if (!validate(value)) {
    throw new Error(
      `response does not match official ${component}: ${JSON.stringify(validate.errors, null, 2)}`,
    );
  }
}
