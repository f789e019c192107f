import { Command } from '@oclif/core';
import { loadConfig } from '../../functions/lib/config.js';
import { ConfigError } from '../../functions/lib/errors.js';
import { sqliteFile } from '../../functions/lib/store/open.js';
import { POIESIS_VERSION, TES_SPEC } from '../../functions/lib/version.js';
import { dataDirFlags } from '../flags.js';

export default class Info extends Command {
  static override summary = 'Print versions, the data directory and the store in use.';
  static override description =
    'Shows the version of Poiesis, the TES version it implements with the commit of the ' +
    'specification it comes from, and where its data lives. Nothing is started or changed.';
  static override examples = ['<%= config.bin %> info', '<%= config.bin %> info --json'];
  static override enableJsonFlag = true;
  static override flags = dataDirFlags;

  async run() {
    const { flags } = await this.parse(Info);
    let dataDir: string;
    try {
      dataDir = loadConfig(flags['data-dir'] ? { dataDir: flags['data-dir'] } : {}).dataDir;
    } catch (error) {
      if (error instanceof ConfigError) this.error(error.message, { exit: 2 });
      throw error;
    }
    const info = {
      poiesis: POIESIS_VERSION,
      tes: {
        version: TES_SPEC.version,
        specification: `${TES_SPEC.repository} tag ${TES_SPEC.tag} commit ${TES_SPEC.commit.slice(0, 7)}`,
        commit: TES_SPEC.commit,
      },
      dataDir,
      store: `sqlite:${sqliteFile({ dataDir })}`,
    };
    this.log(`poiesis      ${info.poiesis}`);
    this.log(`tes          ${info.tes.version} (${info.tes.specification})`);
    this.log(`data dir     ${info.dataDir}`);
    this.log(`store        ${info.store}`);
    return info;
  }
}
