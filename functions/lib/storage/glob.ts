/**
 * POSIX pattern matching for output paths, as IEEE Std 1003.1-2017
 * section 2.13 defines it for filename expansion: `*`, `?`, bracket
 * expressions such as `[a-z]`, `[!0-9]` and `[[:digit:]]`, and `\` to quote
 * the next character. Patterns are matched one path segment at a time, so
 * `*` never matches a `/`, and a leading `.` of a name is matched only by a
 * literal `.` in the pattern. There is no `**` and no brace expansion.
 */

/** The POSIX character classes, as JavaScript regular-expression class contents for ASCII. */
const CHARACTER_CLASSES: Record<string, string> = {
  alnum: 'a-zA-Z0-9',
  alpha: 'a-zA-Z',
  blank: ' \\t',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '\\x21-\\x7e',
  lower: 'a-z',
  print: '\\x20-\\x7e',
  punct: '!-\\/:-@\\[-`{-~',
  space: ' \\t\\n\\v\\f\\r',
  upper: 'A-Z',
  xdigit: '0-9a-fA-F',
};

/**
 * Whether a path contains a pattern character: `*`, `?` or `[`. TES requires
 * `path_prefix` for such an output path, even where a `[` has no closing
 * `]` and so matches itself. The rule is the one request validation uses.
 */
export { hasWildcard as hasWildcards } from '../tes/paths.js';

/** A compiled pattern for one path segment: either the literal name or a matcher. */
export type SegmentPattern = { literal: string } | { matches: (name: string) => boolean };

/** Compiles one path segment of a pattern, such as `*.txt` or `sample_[0-9]`. */
export function compileSegment(segment: string): SegmentPattern {
  // Code points rather than UTF-16 units, so a character outside the BMP is one character.
  const chars = Array.from(segment);
  let source = '';
  let wildcard = false;
  let literal = '';

  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    if (char === '\\' && i + 1 < chars.length) {
      i++;
      literal += chars[i];
      source += escapeForRegExp(chars[i]!);
    } else if (char === '*') {
      wildcard = true;
      source += '.*';
    } else if (char === '?') {
      wildcard = true;
      source += '.';
    } else if (char === '[' && parseBracket(chars, i) !== undefined) {
      const bracket = parseBracket(chars, i)!;
      wildcard = true;
      source += bracket.source;
      i = bracket.end;
    } else {
      // This includes a `[` without its `]`, which matches itself (POSIX 2.13.1).
      literal += char;
      source += escapeForRegExp(char);
    }
  }

  if (!wildcard) return { literal };
  const regExp = new RegExp(`^(?:${source})$`, 'su');
  // A leading period must be matched explicitly (POSIX 2.13.3).
  const dotAllowed = segment.startsWith('.') || segment.startsWith('\\.');
  return {
    matches: (name) => (dotAllowed || !name.startsWith('.')) && regExp.test(name),
  };
}

/**
 * Parses the bracket expression that opens at `start`, returning its
 * regular-expression source and the index of its closing `]`, or undefined
 * when the bracket is not closed.
 */
function parseBracket(
  chars: readonly string[],
  start: number,
): { source: string; end: number } | undefined {
  let i = start + 1;
  const negated = chars[i] === '!' || chars[i] === '^';
  if (negated) i++;

  let members = '';
  // A `]` right after `[` or `[!` is a member, not the end.
  const firstMember = i;
  while (i < chars.length) {
    if (chars[i] === ']' && i > firstMember) {
      return { source: bracketSource(members, negated), end: i };
    }

    const characterClass = characterClassAt(chars, i);
    if (characterClass !== undefined) {
      members += characterClass.members;
      i = characterClass.end + 1;
      continue;
    }

    if (chars[i] === '\\' && i + 1 < chars.length) i++;
    const low = chars[i]!;
    const rangeEnd = chars[i + 2] === '\\' ? i + 3 : i + 2;
    if (chars[i + 1] === '-' && rangeEnd < chars.length && chars[i + 2] !== ']') {
      const high = chars[rangeEnd]!;
      // A range whose end comes before its start matches nothing.
      if (low.codePointAt(0)! <= high.codePointAt(0)!) {
        members += `${escapeForClass(low)}-${escapeForClass(high)}`;
      }
      i = rangeEnd + 1;
    } else {
      members += escapeForClass(low);
      i++;
    }
  }
  return undefined;
}

/** Reads a class such as `[:digit:]` at `start`, returning its members and the index of its `]`. */
function characterClassAt(
  chars: readonly string[],
  start: number,
): { members: string; end: number } | undefined {
  if (chars[start] !== '[' || chars[start + 1] !== ':') return undefined;
  const rest = chars.slice(start + 2).join('');
  const close = rest.indexOf(':]');
  if (close === -1) return undefined;
  const members = CHARACTER_CLASSES[rest.slice(0, close)];
  if (members === undefined) return undefined;
  return { members, end: start + 2 + Array.from(rest.slice(0, close)).length + 1 };
}

function bracketSource(members: string, negated: boolean): string {
  if (members !== '') return `[${negated ? '^' : ''}${members}]`;
  // Only empty ranges: nothing matches, or with `!` any one character does.
  return negated ? '.' : '(?!)';
}

function escapeForRegExp(char: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(char) ? `\\${char}` : char;
}

function escapeForClass(char: string): string {
  return `\\u{${char.codePointAt(0)!.toString(16)}}`;
}
