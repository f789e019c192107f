import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { buildOpenApiDocument } from '../../functions/api/openapi.js';
import { POIESIS_VERSION } from '../../functions/lib/version.js';
import { startApi, minimalTask, type ApiHarness } from '../support/api-harness.js';
import { assertOfficial, loadOfficialSpec } from '../support/official-spec.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('api: service-info', () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApi({ env: { POIESIS_ENVIRONMENT: 'test' } });
  });
  after(async () => {
    await api.destroy();
  });

  it('is complete and official', async () => {
    const response = await api.request('GET', '/service-info');
    expect(response.status).to.equal(200);
    assertOfficial('tesServiceInfo', response.body, { closed: false });
    const info = response.body;
    expect(info.type).to.deep.equal({ group: 'org.ga4gh', artifact: 'tes', version: '1.1.0' });
    expect(info.id).to.equal('org.poiesis.tes');
    expect(info.name).to.equal('Poiesis');
    expect(info.version).to.equal(POIESIS_VERSION);
    expect(info.organization.name).to.be.a('string');
    expect(info.organization.url).to.match(/^https:\/\//);
    expect(info.environment).to.equal('test');
    expect(info.storage).to.deep.equal(['file:///tmp', 'http://', 'https://']);
    expect(info.tesResources_backend_parameters).to.deep.equal(['network']);
    expect(Date.parse(info.createdAt)).to.not.be.NaN;
    expect(Date.parse(info.updatedAt)).to.be.at.least(Date.parse(info.createdAt));
  });

  it('keeps createdAt across restarts', async () => {
    const first = (await api.request('GET', '/service-info')).body;
    const again = await startApi({ dataDir: api.dataDir });
    try {
      const second = (await again.request('GET', '/service-info')).body;
      expect(second.createdAt).to.equal(first.createdAt);
    } finally {
      await again.stop();
    }
  });
});

describe('api: OpenAPI document', () => {
  const ours = buildOpenApiDocument() as any;
  const official = loadOfficialSpec() as any;

  it('is served', async () => {
    const api = await startApi();
    try {
      const response = await api.request('GET', '/openapi.json');
      expect(response.status).to.equal(200);
      expect(response.body).to.deep.equal(JSON.parse(JSON.stringify(ours)));
    } finally {
      await api.destroy();
    }
  });

  it('matches the committed openapi/openapi.json', () => {
    const committed = JSON.parse(
      readFileSync(path.join(here, '../../openapi/openapi.json'), 'utf8'),
    ) as unknown;
    expect(committed, 'run npm run openapi').to.deep.equal(JSON.parse(JSON.stringify(ours)));
  });

  it('has the official operations', () => {
    const operations = (document: any) =>
      Object.entries(document.paths as Record<string, Record<string, any>>)
        .flatMap(([route, methods]) =>
          Object.entries(methods).map(([method, op]) => `${method} ${route} ${op.operationId}`),
        )
        .sort();
    expect(operations(ours)).to.deep.equal(operations(official));
  });

  it('has the official parameters', () => {
    const resolve = (document: any, parameter: any) =>
      parameter.$ref ? document.components.parameters[parameter.$ref.split('/').pop()] : parameter;
    for (const [route, methods] of Object.entries(official.paths as Record<string, any>)) {
      for (const [method, op] of Object.entries(methods as Record<string, any>)) {
        const names = (document: any, operation: any) =>
          ((operation.parameters ?? []) as any[])
            .map((parameter) => resolve(document, parameter))
            .map((parameter) => `${parameter.in}:${parameter.name}`)
            .sort();
        expect(names(ours, ours.paths[route][method]), `${method} ${route}`).to.deep.equal(
          names(official, op),
        );
      }
    }
  });

  it('has every official schema field with its type', () => {
    const officialSchemas = official.components.schemas as Record<string, any>;
    const ourSchemas = ours.components.schemas as Record<string, any>;
    for (const [name, schema] of Object.entries(officialSchemas)) {
      expect(ourSchemas, name).to.have.property(name);
      const properties = (schema.properties ?? schema.allOf?.[1]?.properties ?? {}) as Record<
        string,
        any
      >;
      for (const [field, definition] of Object.entries(properties)) {
        const ourField = ourSchemas[name].properties?.[field];
        expect(ourField, `${name}.${field}`).to.not.equal(undefined);
        if (definition.type) expect(ourField.type, `${name}.${field}`).to.equal(definition.type);
        if (definition.$ref) expect(ourField.$ref, `${name}.${field}`).to.equal(definition.$ref);
        if (definition.items?.$ref) {
          expect(ourField.items?.$ref, `${name}.${field}[]`).to.equal(definition.items.$ref);
        }
      }
      for (const field of (schema.required ?? []) as string[]) {
        expect(ourSchemas[name].required ?? [], `${name} requires ${field}`).to.include(field);
      }
      if (schema.enum) expect(ourSchemas[name].enum, name).to.deep.equal(schema.enum);
    }
  });

  it('validates a created task against both documents', async () => {
    const api = await startApi();
    try {
      const { body } = await api.request('POST', '/tasks', minimalTask({ tags: { a: 'b' } }));
      const task = (await api.request('GET', `/tasks/${body.id}?view=FULL`)).body;
      assertOfficial('tesTask', task);
    } finally {
      await api.destroy();
    }
  });
});

describe('api: persistence', () => {
  it('keeps tasks and page tokens across restarts', async () => {
    const first = await startApi();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await first.request('POST', '/tasks', minimalTask({ name: `p${i}` }))).body.id);
    }
    await first.request('POST', `/tasks/${ids[1]}:cancel`);
    const page = (await first.request('GET', '/tasks?page_size=2')).body;
    const before = (await first.request('GET', `/tasks/${ids[0]}?view=FULL`)).body;
    await first.stop();

    const second = await startApi({ dataDir: first.dataDir });
    try {
      expect((await second.request('GET', `/tasks/${ids[0]}?view=FULL`)).body).to.deep.equal(
        before,
      );
      expect((await second.request('GET', `/tasks/${ids[1]}`)).body.state).to.equal('CANCELED');
      const next = await second.request(
        'GET',
        `/tasks?page_size=2&page_token=${encodeURIComponent(page.next_page_token)}`,
      );
      expect(next.status).to.equal(200);
      expect(next.body.tasks.map((task: { id: string }) => task.id)).to.deep.equal([
        ids[2],
        ids[1],
      ]);
    } finally {
      await second.destroy();
    }
  });
});
