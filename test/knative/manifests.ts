/**
 * Reads the manifests of `knative/` the way `kubectl apply -k` finds them:
 * the files that `kustomization.yaml` lists, each split into its YAML documents.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const KNATIVE_DIR = path.join(REPO_ROOT, 'knative');
/** The official schemas beside the repository, which only tests read. */
export const SCHEMAS_DIR = path.resolve(REPO_ROOT, '../shared/schemas');

/** A Kubernetes object as the tests read it. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: any;
}

/** One document and the file it came from. */
export interface ManifestDocument {
  file: string;
  manifest: Manifest;
}

export interface Kustomization {
  apiVersion: string;
  kind: string;
  resources: string[];
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
}

export function readKustomization(): Kustomization {
  return parse(readFileSync(path.join(KNATIVE_DIR, 'kustomization.yaml'), 'utf8')) as Kustomization;
}

/**
 * Parses YAML text into its non-empty documents.
 *
 * @throws Error naming `file` when the text is not valid YAML.
 */
export function parseManifests(text: string, file: string): Manifest[] {
  const documents = parseAllDocuments(text);
  const problems = documents.flatMap((document) => [...document.errors, ...document.warnings]);
  if (problems.length > 0) {
    throw new Error(
      `${file}: invalid YAML: ${problems.map((problem) => problem.message).join('; ')}`,
    );
  }
  return documents
    .map((document) => document.toJS() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
}

/** Reads every document of every file that `kustomization.yaml` lists. */
export function readAllManifests(): ManifestDocument[] {
  return readKustomization().resources.flatMap((file) =>
    parseManifests(readFileSync(path.join(KNATIVE_DIR, file), 'utf8'), file).map((manifest) => ({
      file,
      manifest,
    })),
  );
}

/** Names a document in messages, such as `services.yaml: Service/poiesis-api`. */
export function documentName(document: ManifestDocument): string {
  const { kind, metadata } = document.manifest;
  return `${document.file}: ${kind}/${metadata?.name ?? '(no name)'}`;
}
