/**
 * Writes docs/events.md, the table of event types, from the catalogue. A
 * test fails when the committed page and the catalogue disagree.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventsPage } from './events-page.js';

const target = path.join(path.dirname(fileURLToPath(import.meta.url)), '../docs/events.md');
writeFileSync(target, eventsPage());
console.log(`wrote ${target}`);
