/**
 * Writes openapi/openapi.json from the TypeBox schemas. A test fails when
 * the committed file and the schemas disagree, so run this after changing them.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from '../functions/api/openapi.js';

const target = path.join(path.dirname(fileURLToPath(import.meta.url)), '../openapi/openapi.json');
writeFileSync(target, `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
console.log(`wrote ${target}`);
