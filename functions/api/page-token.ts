/**
 * Opaque ListTasks page tokens. A token names the last task of the previous
 * page and is bound to the filters of the query that made it; an HMAC-SHA256
 * tag makes any change to it detectable, so a tampered or foreign token is a
 * 400 rather than a silently wrong page.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BadRequestError } from '../lib/errors.js';

/** Bytes of the HMAC tag kept in a token: 128 bits. */
const TAG_BYTES = 16;

export class PageTokens {
  constructor(private readonly secret: Buffer) {}

  /** Issues a token for the page after `lastId`, valid only with the same `filters`. */
  issue(lastId: string, filters: unknown): string {
    const payload = Buffer.from(JSON.stringify({ a: lastId, f: digest(filters) }));
    return `${payload.toString('base64url')}.${this.tag(payload).toString('base64url')}`;
  }

  /** Returns the `lastId` of a token. Throws a 400 {@link BadRequestError} for anything not issued here. */
  open(token: string, filters: unknown): string {
    const invalid = new BadRequestError(
      'page_token: invalid; pass the next_page_token of the previous page with the same filters',
    );
    const [encoded, tag, extra] = token.split('.');
    if (!encoded || !tag || extra !== undefined) throw invalid;
    const payload = Buffer.from(encoded, 'base64url');
    const given = Buffer.from(tag, 'base64url');
    if (given.length !== TAG_BYTES || !timingSafeEqual(given, this.tag(payload))) throw invalid;
    const parsed = JSON.parse(payload.toString('utf8')) as { a?: unknown; f?: unknown };
    if (typeof parsed.a !== 'string' || parsed.f !== digest(filters)) throw invalid;
    return parsed.a;
  }

  private tag(payload: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(payload).digest().subarray(0, TAG_BYTES);
  }
}

function digest(filters: unknown): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 16);
}

/**
 * The signing key: the configured secret, or else a random 32-byte key
 * created once in `<dataDir>/page-token.key` and reused after restarts, so
 * tokens stay valid across them. Several API replicas must share a
 * configured secret.
 */
export function pageTokenSecret(configured: string, dataDir: string): Buffer {
  if (configured !== '') return Buffer.from(configured, 'utf8');
  const file = path.join(dataDir, 'page-token.key');
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(file, randomBytes(32).toString('base64'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}
