import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { loadConfig, SETTINGS } from '../../functions/lib/config.js';
import { ConfigError } from '../../functions/lib/errors.js';
import { eventsPage } from '../../scripts/events-page.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('config', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({}, { HOME: '/home/someone' });
    expect(config.port).to.equal(8000);
    expect(config.host).to.equal('127.0.0.1');
    expect(config.logLevel).to.equal('info');
    expect(config.dataDir).to.equal(path.join(os.homedir(), '.local', 'share', 'poiesis'));
    expect(config.fileAllow).to.deep.equal([os.homedir(), os.tmpdir()]);
    expect(config.deliveryDuplicate).to.equal(0);
  });

  it('reads the environment', () => {
    const config = loadConfig(
      {},
      {
        POIESIS_PORT: '9000',
        POIESIS_FILE_ALLOW: '/a, /b',
        POIESIS_DELIVERY_DUPLICATE: '0.25',
        XDG_DATA_HOME: '/xdg',
      },
    );
    expect(config.port).to.equal(9000);
    expect(config.fileAllow).to.deep.equal(['/a', '/b']);
    expect(config.deliveryDuplicate).to.equal(0.25);
    expect(config.dataDir).to.equal('/xdg/poiesis');
  });

  it('flags win over the environment', () => {
    const config = loadConfig({ port: 7000, dataDir: 'relative' }, { POIESIS_PORT: '9000' });
    expect(config.port).to.equal(7000);
    expect(config.dataDir).to.equal(path.resolve('relative'));
  });

  it('takes K_SINK as the broker URL', () => {
    expect(loadConfig({}, { K_SINK: 'http://broker/' }).brokerUrl).to.equal('http://broker/');
    const both = loadConfig({}, { K_SINK: 'http://a/', POIESIS_BROKER_URL: 'http://b/' });
    expect(both.brokerUrl).to.equal('http://b/');
  });

  it('reports every invalid value at once', () => {
    try {
      loadConfig(
        {},
        {
          POIESIS_PORT: 'eighty',
          POIESIS_LOG_LEVEL: 'loud',
          POIESIS_DELIVERY_DUPLICATE: '2',
          POIESIS_RECONCILE_INTERVAL: '0',
        },
      );
      expect.fail('loadConfig accepted invalid values');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message).to.include('POIESIS_PORT (port): expected an integer, got "eighty"');
      expect(message).to.include('POIESIS_LOG_LEVEL (logLevel): expected one of');
      expect(message).to.include(
        'POIESIS_DELIVERY_DUPLICATE (deliveryDuplicate): must be at most 1',
      );
      expect(message).to.include(
        'POIESIS_RECONCILE_INTERVAL (reconcileIntervalSeconds): must be at least 1',
      );
    }
  });

  it('every key is in the README', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    for (const setting of Object.values(SETTINGS)) {
      expect(readme, setting.env).to.match(new RegExp(`\\|\\s*\`${setting.env}\`\\s*\\|`));
    }
  });
});

describe('docs/events.md', () => {
  it('matches the catalogue', () => {
    const page = readFileSync(path.join(root, 'docs/events.md'), 'utf8');
    expect(page, 'run npx tsx scripts/generate-events-doc.ts').to.equal(eventsPage());
  });
});
