import { BROKER_NOTE, ServiceCommand } from '../service-command.js';

export default class Texam extends ServiceCommand {
  static override summary = 'Start TExAM alone: the executor runner and monitor.';
  static override description = `Consumes inputs.staged and executor.exited, runs the executors one after another and records their logs. Also watches the containers and sends executor.exited for each exit. ${BROKER_NOTE}`;
  static override examples = ['K_SINK=http://broker.example/ <%= config.bin %> texam --port 8080'];
  protected readonly service = 'texam';
}
