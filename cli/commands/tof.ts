import { BROKER_NOTE, ServiceCommand } from '../service-command.js';

export default class Tof extends ServiceCommand {
  static override summary = 'Start TOF alone: the task output filer.';
  static override description = `Consumes executors.done, files the outputs of the task from its volume and sends outputs.filed. ${BROKER_NOTE}`;
  static override examples = ['K_SINK=http://broker.example/ <%= config.bin %> tof --port 8080'];
  protected readonly service = 'tof';
}
