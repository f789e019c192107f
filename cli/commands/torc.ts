import { BROKER_NOTE, ServiceCommand } from '../service-command.js';

export default class Torc extends ServiceCommand {
  static override summary = 'Start TOrc alone: orchestration, teardown and the reconcile loop.';
  static override description = `Consumes task.created, outputs.filed, task.failed, cancel.requested and reconcile.requested at / and failed deliveries at /dead-letter. Repairs unfinished tasks at start-up and every POIESIS_RECONCILE_INTERVAL seconds. ${BROKER_NOTE}`;
  static override examples = ['K_SINK=http://broker.example/ <%= config.bin %> torc --port 8080'];
  protected readonly service = 'torc';
}
