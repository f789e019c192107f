import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { SETTINGS } from '../../functions/lib/config.js';
import { eventRoutes, isEventType } from '../../functions/lib/events/catalogue.js';
import {
  BROKER_NAME,
  DEAD_LETTER_PATH,
  deliverySpec,
  NAMESPACE,
  renderTriggers,
  serviceName,
  TRIGGERS_FILE,
  type ServiceComponent,
} from '../../scripts/generate-knative.js';
import {
  documentName,
  KNATIVE_DIR,
  parseManifests,
  readAllManifests,
  readKustomization,
  REPO_ROOT,
  SCHEMAS_DIR,
  type Manifest,
  type ManifestDocument,
} from './manifests.js';
import { loadManifestValidator } from './schemas.js';

const COMPONENTS: ServiceComponent[] = ['api', 'torc', 'tif', 'texam', 'tof'];
const CONTAINER_PORT = 8080;

const documents = readAllManifests();

function manifestsOf(kind: string): Manifest[] {
  return documents.filter((document) => document.manifest.kind === kind).map((d) => d.manifest);
}

function knativeServices(): Manifest[] {
  return documents
    .filter(({ manifest }) => manifest.apiVersion === 'serving.knative.dev/v1')
    .map(({ manifest }) => manifest);
}

function triggers(): Manifest[] {
  return documents
    .filter((document) => document.file === path.basename(TRIGGERS_FILE))
    .map((document) => document.manifest);
}

function onlyContainer(service: Manifest): any {
  const containers = service.spec.template.spec.containers as unknown[];
  expect(containers, `${service.metadata.name} containers`).to.have.lengthOf(1);
  return containers[0];
}

/** Collects every `ref` object found anywhere under `value`, such as sinks and subscribers. */
function findRefs(value: unknown): Array<{ apiVersion: string; kind: string; name: string }> {
  if (Array.isArray(value)) return value.flatMap(findRefs);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, member]) =>
    key === 'ref' ? [member, ...findRefs(member)] : findRefs(member),
  );
}

function clone(manifest: Manifest): any {
  return structuredClone(manifest);
}

describe('knative triggers', () => {
  it('match a fresh generation', async () => {
    const committed = readFileSync(path.join(REPO_ROOT, TRIGGERS_FILE), 'utf8');
    const fresh = await renderTriggers(REPO_ROOT);
    expect(
      committed,
      `${TRIGGERS_FILE} is stale: run npx tsx scripts/generate-knative.ts`,
    ).to.equal(fresh);
  });

  it('say they are generated', () => {
    const committed = readFileSync(path.join(REPO_ROOT, TRIGGERS_FILE), 'utf8');
    expect(committed.split('\n')[0]).to.contain('npx tsx scripts/generate-knative.ts');
  });

  it('cover every catalogue route', () => {
    const routes = triggers().map((trigger) => ({
      type: trigger.spec.filter.attributes.type,
      subscriber: trigger.spec.subscriber.ref.name,
    }));
    for (const { type, consumer } of eventRoutes()) {
      expect(routes, `route ${type} to ${consumer}`).to.deep.include({
        type,
        subscriber: serviceName(consumer as ServiceComponent),
      });
    }
    expect(routes).to.have.lengthOf(eventRoutes().length);
  });

  it('filter on catalogue types only', () => {
    for (const trigger of triggers()) {
      const type = trigger.spec.filter.attributes.type as string;
      expect(isEventType(type), `${trigger.metadata.name} type ${type}`).to.equal(true);
      expect(Object.keys(trigger.spec.filter.attributes)).to.deep.equal(['type']);
    }
  });

  it('read from the broker', () => {
    for (const trigger of triggers()) {
      expect(trigger.spec.broker, trigger.metadata.name).to.equal(BROKER_NAME);
    }
  });

  it('dead-letter to torc', () => {
    for (const trigger of triggers()) {
      const sink = trigger.spec.delivery.deadLetterSink;
      expect(sink.ref.name, trigger.metadata.name).to.equal(serviceName('torc'));
      expect(sink.uri, trigger.metadata.name).to.equal(DEAD_LETTER_PATH);
    }
  });

  it('retry like the embedded broker', () => {
    const delivery = deliverySpec();
    expect(delivery.retry).to.equal(Number(SETTINGS.deliveryAttempts.default) - 1);
    expect(delivery.backoffDelay).to.equal(
      `PT${Number(SETTINGS.deliveryBackoffMs.default) / 1000}S`,
    );
    expect(delivery.backoffPolicy).to.equal('exponential');
    for (const trigger of triggers()) {
      expect(trigger.spec.delivery, trigger.metadata.name).to.deep.equal(delivery);
    }
  });
});

describe('knative manifest schemas', () => {
  const validate = loadManifestValidator(SCHEMAS_DIR);

  function problemsOf(document: ManifestDocument): string[] {
    return validate(document.manifest).map((problem) => `${documentName(document)} ${problem}`);
  }

  it('accept every document', () => {
    expect(documents.length).to.be.greaterThan(0);
    expect(documents.flatMap(problemsOf)).to.deep.equal([]);
  });

  it('reject a wrong field type in a trigger', () => {
    const trigger = clone(triggers()[0]!);
    trigger.spec.delivery.retry = 'five';
    expect(validate(trigger).join('\n')).to.contain('/spec/delivery/retry');
  });

  it('reject a wrong field type in a service', () => {
    const service = clone(knativeServices()[0]!);
    service.spec.template.spec.containers[0].ports[0].containerPort = '8080';
    expect(validate(service).join('\n')).to.contain('/containerPort');
  });

  it('reject a wrong field type in a role', () => {
    const role = clone(manifestsOf('Role')[0]!);
    role.rules[0].verbs = 'get';
    expect(validate(role).join('\n')).to.contain('/rules/0/verbs');
  });

  it('reject an unknown kind', () => {
    const trigger = clone(triggers()[0]!);
    trigger.kind = 'Trigerr';
    expect(validate(trigger).join('\n')).to.contain('no schema');
  });

  it('reject an unknown api version', () => {
    const broker = clone(manifestsOf('Broker')[0]!);
    broker.apiVersion = 'eventing.knative.dev/v2';
    expect(validate(broker).join('\n')).to.contain('no schema');
  });

  it('reject an unknown container field', () => {
    const service = clone(knativeServices()[0]!);
    service.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    expect(validate(service).join('\n')).to.contain('imagePullPolicyy');
  });

  it('reject an unknown metadata field', () => {
    const source = clone(manifestsOf('PingSource')[0]!);
    source.metadata.nmae = 'reconcile';
    expect(validate(source).join('\n')).to.contain('nmae');
  });

  it('reject an unknown top-level field', () => {
    const config = clone(manifestsOf('ConfigMap')[0]!);
    config.dat = { POIESIS_LOG_LEVEL: 'info' };
    expect(validate(config).join('\n')).to.contain('dat');
  });
});

describe('knative kustomization', () => {
  const kustomization = readKustomization();

  it('is a kustomization', () => {
    expect(kustomization.apiVersion).to.equal('kustomize.config.k8s.io/v1beta1');
    expect(kustomization.kind).to.equal('Kustomization');
  });

  it('lists files that exist and parse', () => {
    expect(kustomization.resources.length).to.be.greaterThan(0);
    for (const file of kustomization.resources) {
      const target = path.join(KNATIVE_DIR, file);
      expect(existsSync(target), `${file} exists`).to.equal(true);
      const manifests = parseManifests(readFileSync(target, 'utf8'), file);
      expect(manifests, `${file} documents`).to.not.be.empty;
      for (const manifest of manifests) {
        expect(manifest.apiVersion, `${file} apiVersion`).to.be.a('string');
        expect(manifest.kind, `${file} kind`).to.be.a('string');
        expect(manifest.metadata?.name, `${file} ${manifest.kind} name`).to.be.a('string');
      }
    }
  });

  it('lists every manifest of the folder', () => {
    const files = readdirSync(KNATIVE_DIR).filter(
      (file) => file.endsWith('.yaml') && file !== 'kustomization.yaml',
    );
    expect([...kustomization.resources].sort()).to.deep.equal(files.sort());
  });

  it('sets the image of the services', () => {
    const names = new Set(knativeServices().map((service) => onlyContainer(service).image));
    expect([...names]).to.deep.equal(['poiesis']);
    expect(kustomization.images?.map((image) => image.name)).to.deep.equal(['poiesis']);
  });

  it('rejects a document that is not YAML', () => {
    expect(() => parseManifests('kind: [Service\n', 'broken.yaml')).to.throw('broken.yaml');
  });
});

describe('knative deployment', () => {
  it('keeps objects in one namespace', () => {
    const [namespace] = manifestsOf('Namespace');
    expect(namespace?.metadata.name).to.equal(NAMESPACE);
    for (const document of documents) {
      if (document.manifest.kind === 'Namespace') continue;
      expect(document.manifest.metadata.namespace, documentName(document)).to.equal(NAMESPACE);
    }
  });

  it('runs one service per component', () => {
    const services = knativeServices();
    expect(services.map((service) => service.metadata.name).sort()).to.deep.equal(
      COMPONENTS.map(serviceName).sort(),
    );
    for (const component of COMPONENTS) {
      const service = services.find(
        (candidate) => candidate.metadata.name === serviceName(component),
      );
      const container = onlyContainer(service!);
      expect(container.args, component).to.deep.equal([
        component,
        '--port',
        String(CONTAINER_PORT),
      ]);
      expect(container.ports, component).to.deep.equal([{ containerPort: CONTAINER_PORT }]);
    }
  });

  it('refers only to defined objects', () => {
    const defined = new Set(
      documents.map(
        ({ manifest }) => `${manifest.apiVersion} ${manifest.kind}/${manifest.metadata.name}`,
      ),
    );
    for (const document of documents) {
      for (const ref of findRefs(document.manifest.spec)) {
        const key = `${ref.apiVersion} ${ref.kind}/${ref.name}`;
        expect(defined.has(key), `${documentName(document)} refers to ${key}`).to.equal(true);
      }
    }
  });

  it('delivers the broker like its triggers', () => {
    const [broker] = manifestsOf('Broker');
    expect(broker?.metadata.name).to.equal(BROKER_NAME);
    expect(broker?.spec.delivery).to.deep.equal(deliverySpec());
  });

  it('binds every service to the broker', () => {
    const [binding] = manifestsOf('SinkBinding');
    expect(binding?.spec.sink.ref).to.deep.equal({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      name: BROKER_NAME,
    });
    const selector = binding?.spec.subject.selector.matchLabels as Record<string, string>;
    for (const service of knativeServices()) {
      for (const [key, value] of Object.entries(selector)) {
        expect(service.metadata.labels?.[key], `${service.metadata.name} label ${key}`).to.equal(
          value,
        );
      }
    }
  });

  it('locks down every container', () => {
    for (const service of knativeServices()) {
      const name = service.metadata.name;
      const container = onlyContainer(service);
      const security = container.securityContext;
      expect(security.runAsNonRoot, `${name} runAsNonRoot`).to.equal(true);
      expect(security.runAsUser, `${name} runAsUser`).to.be.greaterThan(0);
      expect(security.allowPrivilegeEscalation, `${name} allowPrivilegeEscalation`).to.equal(false);
      expect(security.readOnlyRootFilesystem, `${name} readOnlyRootFilesystem`).to.equal(true);
      expect(security.capabilities, `${name} capabilities`).to.deep.equal({ drop: ['ALL'] });
      expect(security.seccompProfile, `${name} seccompProfile`).to.deep.equal({
        type: 'RuntimeDefault',
      });
      for (const bound of ['requests', 'limits']) {
        expect(container.resources[bound], `${name} ${bound}`).to.have.keys('cpu', 'memory');
      }
      expect(container.readinessProbe, `${name} readinessProbe`).to.be.an('object');
    }
  });

  it('probes the api on service-info', () => {
    const api = knativeServices().find((service) => service.metadata.name === serviceName('api'));
    expect(onlyContainer(api!).readinessProbe.httpGet).to.deep.equal({
      path: '/ga4gh/tes/v1/service-info',
      port: CONTAINER_PORT,
    });
  });

  it('mounts writable directories', () => {
    const config = manifestsOf('ConfigMap')[0]!;
    for (const service of knativeServices()) {
      const mounts = onlyContainer(service).volumeMounts.map((mount: any) => mount.mountPath);
      expect(mounts, service.metadata.name).to.include(config.data.POIESIS_DATA_DIR);
      expect(mounts, service.metadata.name).to.include('/tmp');
    }
  });

  it('sets only known settings', () => {
    const known = new Set<string>(Object.values(SETTINGS).map((setting) => setting.env));
    const config = manifestsOf('ConfigMap')[0]!;
    for (const key of Object.keys(config.data)) {
      expect(known.has(key), `ConfigMap key ${key}`).to.equal(true);
    }
    expect(config.data).to.not.have.property(SETTINGS.pageTokenSecret.env);
    for (const service of knativeServices()) {
      for (const variable of onlyContainer(service).env) {
        expect(known.has(variable.name), `${service.metadata.name} env ${variable.name}`).to.equal(
          true,
        );
      }
    }
  });

  it('reads the page token secret from a secret', () => {
    const api = knativeServices().find((service) => service.metadata.name === serviceName('api'));
    const variable = onlyContainer(api!).env.find(
      (candidate: any) => candidate.name === SETTINGS.pageTokenSecret.env,
    );
    expect(variable?.value).to.equal(undefined);
    expect(variable?.valueFrom.secretKeyRef).to.deep.equal({
      name: 'poiesis-secrets',
      key: 'page-token-secret',
    });
  });

  it('uses defined service accounts', () => {
    const accounts = new Set(manifestsOf('ServiceAccount').map((account) => account.metadata.name));
    const roles = new Set(manifestsOf('Role').map((role) => role.metadata.name));
    const users = [
      ...knativeServices().map((service) => service.spec.template.spec.serviceAccountName),
      ...manifestsOf('ApiServerSource').map((source) => source.spec.serviceAccountName),
    ];
    for (const user of users) expect(accounts.has(user), `service account ${user}`).to.equal(true);
    for (const binding of manifestsOf('RoleBinding')) {
      expect(roles.has(binding.roleRef.name), `role ${binding.roleRef.name}`).to.equal(true);
      for (const subject of binding.subjects) {
        expect(accounts.has(subject.name), `subject ${subject.name}`).to.equal(true);
      }
    }
  });

  it('grants only task pods, logs and claims', () => {
    const allowed: Record<string, string[]> = {
      pods: ['get', 'list', 'watch', 'create', 'delete'],
      'pods/log': ['get'],
      persistentvolumeclaims: ['get', 'list', 'create', 'delete'],
    };
    for (const role of manifestsOf('Role')) {
      for (const rule of role.rules) {
        expect(rule.apiGroups, role.metadata.name).to.deep.equal(['']);
        for (const resource of rule.resources) {
          expect(allowed, `${role.metadata.name} resource ${resource}`).to.have.property(resource);
          expect(
            allowed[resource],
            `${role.metadata.name} verbs on ${resource}`,
          ).to.include.members(rule.verbs);
        }
      }
    }
    expect(manifestsOf('ClusterRole')).to.be.empty;
    expect(manifestsOf('ClusterRoleBinding')).to.be.empty;
  });

  it('gives the api no kubernetes access', () => {
    const api = knativeServices().find((service) => service.metadata.name === serviceName('api'));
    const account = api!.spec.template.spec.serviceAccountName as string;
    const bound = manifestsOf('RoleBinding').flatMap((binding) =>
      binding.subjects.map((subject: any) => subject.name),
    );
    expect(bound).to.not.include(account);
    expect(api!.spec.template.spec.automountServiceAccountToken).to.equal(false);
  });
});
