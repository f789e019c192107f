/**
 * The text of docs/events.md, made from the event catalogue.
 */
import { CATALOGUE, EVENT_TYPES } from '../functions/lib/events/catalogue.js';

function dataFields(schema: unknown): string {
  const properties = (schema as { properties?: Record<string, unknown> }).properties ?? {};
  const required = new Set((schema as { required?: string[] }).required ?? []);
  const names = Object.keys(properties).map((name) => (required.has(name) ? name : `${name}?`));
  return names.length > 0 ? `\`{ ${names.join(', ')} }\`` : 'none';
}

export function eventsPage(): string {
  const rows = EVENT_TYPES.map((type) => {
    const entry = CATALOGUE[type];
    return `| \`${type}\` | ${entry.producers.join(', ')} | ${entry.consumers.join(', ')} | ${dataFields(entry.data)} | ${entry.meaning} |`;
  });
  return [
    '# Events',
    '',
    'The CloudEvents 1.0 types the components of Poiesis exchange, made from',
    '`functions/lib/events/catalogue.ts` by `npx tsx scripts/generate-events-doc.ts`.',
    'Every event has `source` `/poiesis/<producer>`, `subject` the task id, and an `id` of',
    '`<taskId>.<type>[.<step>]`, the same on every publish of the same step.',
    '',
    '| type | producers | consumers | data | meaning |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    'Deliveries that fail for good go to TOrc at `/dead-letter`, which ends the task in',
    'SYSTEM_ERROR with the reason `EventDeliveryFailed`.',
    '',
  ].join('\n');
}
