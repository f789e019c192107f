import { BROKER_NOTE, ServiceCommand } from '../service-command.js';

export default class Tif extends ServiceCommand {
  static override summary = 'Start TIF alone: the task input filer.';
  static override description = `Consumes task.initialized and stages the inputs of the task into its volume, then sends inputs.staged. ${BROKER_NOTE}`;
  static override examples = ['K_SINK=http://broker.example/ <%= config.bin %> tif --port 8080'];
  protected readonly service = 'tif';
}
