/**
 * Validators for Kubernetes manifests, built from the official schemas kept
 * beside the repository: the Knative CRDs (their `openAPIV3Schema`) and the
 * standalone strict Kubernetes JSON schemas.
 *
 * Objects in a CRD schema are closed here: a field the schema does not list
 * is an error unless the schema preserves unknown fields. The API server
 * would prune such a field, and `kubectl apply` rejects it by default
 * (server-side field validation `Strict`), so a misspelled field fails here too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

type JsonObject = Record<string, unknown>;

/** Returns the problems of one manifest document, or an empty list when it is valid. */
export type ManifestValidator = (document: unknown) => string[];

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keys whose value is a map of property names to schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties']);
/** Keys whose value is one schema. */
const SCHEMA_VALUES = new Set(['items', 'additionalProperties', 'not']);
/** Keys whose value is a list of schemas. */
const SCHEMA_LISTS = new Set(['anyOf', 'allOf', 'oneOf']);

/**
 * Copies an OpenAPI v3 structural schema, adding `additionalProperties: false`
 * to every object schema that lists properties and neither preserves unknown
 * fields nor sets `additionalProperties` itself.
 */
export function closeObjects(schema: unknown): unknown {
  if (!isObject(schema)) return schema;
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (SCHEMA_MAPS.has(key) && isObject(value)) {
      result[key] = Object.fromEntries(
        Object.entries(value).map(([name, member]) => [name, closeObjects(member)]),
      );
    } else if (SCHEMA_VALUES.has(key)) {
      result[key] = closeObjects(value);
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
      result[key] = value.map((member) => closeObjects(member));
    } else {
      result[key] = value;
    }
  }
  const open =
    schema['x-kubernetes-preserve-unknown-fields'] === true || 'additionalProperties' in schema;
  if (isObject(schema.properties) && !open) result.additionalProperties = false;
  return result;
}

function documentKey(apiVersion: unknown, kind: unknown): string {
  return `${String(apiVersion)} ${String(kind)}`;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => {
    const where = error.instancePath === '' ? '(root)' : error.instancePath;
    const extra =
      error.keyword === 'additionalProperties'
        ? ` (${String(error.params.additionalProperty)})`
        : '';
    return `${where}: ${error.message ?? error.keyword}${extra}`;
  });
}

interface Schemas {
  /** Validators by `apiVersion kind`. */
  byKind: Map<string, JsonObject>;
  objectMeta: JsonObject;
}

function loadKubernetesSchemas(directory: string, schemas: Schemas): void {
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.json'))) {
    const { $schema: _meta, ...schema } = JSON.parse(
      readFileSync(path.join(directory, file), 'utf8'),
    ) as JsonObject;
    const properties = schema.properties as Record<string, JsonObject>;
    const apiVersion = (properties.apiVersion!.enum as string[])[0];
    const kind = (properties.kind!.enum as string[])[0];
    schemas.byKind.set(documentKey(apiVersion, kind), schema);
  }
  const configMap = schemas.byKind.get(documentKey('v1', 'ConfigMap'));
  schemas.objectMeta = (configMap!.properties as Record<string, JsonObject>).metadata!;
}

interface CustomResourceDefinition {
  spec: {
    group: string;
    names: { kind: string };
    versions: Array<{ name: string; served: boolean; schema: { openAPIV3Schema: JsonObject } }>;
  };
}

/**
 * Adds the schema of each served version of each CRD. The Eventing CRDs
 * describe only `spec` and `status`, so `apiVersion`, `kind` and `metadata`
 * are added: the version and kind the CRD defines, and Kubernetes' ObjectMeta.
 */
function loadCrdSchemas(directory: string, schemas: Schemas): void {
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.yaml'))) {
    const crd = parse(readFileSync(path.join(directory, file), 'utf8')) as CustomResourceDefinition;
    for (const version of crd.spec.versions.filter((candidate) => candidate.served)) {
      const apiVersion = `${crd.spec.group}/${version.name}`;
      const kind = crd.spec.names.kind;
      const closed = closeObjects(version.schema.openAPIV3Schema) as JsonObject;
      schemas.byKind.set(documentKey(apiVersion, kind), {
        ...closed,
        required: [...((closed.required as string[] | undefined) ?? []), 'apiVersion', 'kind'],
        properties: {
          ...(closed.properties as JsonObject),
          apiVersion: { const: apiVersion },
          kind: { const: kind },
          metadata: schemas.objectMeta,
        },
        additionalProperties: false,
      });
    }
  }
}

/**
 * Builds a validator from `schemasDir`, which contains `knative/` (CRD YAML
 * files) and `kubernetes/` (JSON schemas). A document of a kind with no
 * schema is a problem, as is every schema violation.
 */
export function loadManifestValidator(schemasDir: string): ManifestValidator {
  const schemas: Schemas = { byKind: new Map(), objectMeta: {} };
  loadKubernetesSchemas(path.join(schemasDir, 'kubernetes'), schemas);
  loadCrdSchemas(path.join(schemasDir, 'knative'), schemas);

  // strict: false because both sets use x-kubernetes-* keywords that Ajv does not know.
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  const validators = new Map<string, ValidateFunction>();

  return (document) => {
    if (!isObject(document)) return ['document: expected a mapping'];
    const key = documentKey(document.apiVersion, document.kind);
    const schema = schemas.byKind.get(key);
    if (!schema) return [`no schema for apiVersion ${key.replace(' ', ', kind ')}`];
    let validate = validators.get(key);
    if (!validate) {
      validate = ajv.compile(schema);
      validators.set(key, validate);
    }
    return validate(document) ? [] : describeErrors(validate.errors);
  };
}
