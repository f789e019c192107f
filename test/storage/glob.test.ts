import { expect } from 'chai';
import { compileSegment, hasWildcards } from '../../functions/lib/storage/glob.js';

function matches(pattern: string, name: string): boolean {
  const compiled = compileSegment(pattern);
  return 'literal' in compiled ? compiled.literal === name : compiled.matches(name);
}

describe('storage glob', () => {
  const cases: Array<[pattern: string, name: string, expected: boolean]> = [
    ['*.txt', 'a.txt', true],
    ['*.txt', 'a.txt.gz', false],
    ['*.txt', '.hidden.txt', false],
    ['.*.txt', '.hidden.txt', true],
    ['*', 'anything at all', true],
    ['*', '', true],
    ['?', 'a', true],
    ['?', 'ab', false],
    ['?.txt', '.txt', false],
    ['sample_?.fq', 'sample_1.fq', true],
    ['[abc].txt', 'b.txt', true],
    ['[abc].txt', 'd.txt', false],
    ['[a-c]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    ['[!a-c]x', 'dx', true],
    ['[!a-c]x', 'ax', false],
    ['[^a-c]x', 'dx', true],
    ['[]]', ']', true],
    ['[!]]', 'a', true],
    ['[!]]', ']', false],
    ['[a-]', '-', true],
    ['[[:digit:]][[:digit:]]', '42', true],
    ['[[:digit:]]', 'x', false],
    ['[[:alpha:]_]*', '_x', true],
    ['[[:upper:]]', 'a', false],
    ['[[:space:]]', ' ', true],
    ['[[:punct:]]', '!', true],
    ['[z-a]', 'm', false],
    ['a[', 'a[', true],
    ['a[b', 'a[b', true],
    ['\\*', '*', true],
    ['\\*', 'x', false],
    ['a\\?', 'a?', true],
    ['a.b', 'axb', false],
    ['(x)+', '(x)+', true],
    ['*(x)+', 'a(x)+', true],
    ['{a,b}', 'a', false],
    ['é*', 'été', true],
    ['?', '😀', true],
    ['*.txt', 'line\nbreak.txt', true],
  ];

  for (const [pattern, name, expected] of cases) {
    it(`${pattern} ${expected ? 'matches' : 'rejects'} ${JSON.stringify(name)}`, () => {
      expect(matches(pattern, name)).to.equal(expected);
    });
  }

  it('segment without pattern is literal', () => {
    expect(compileSegment('a\\*b')).to.deep.equal({ literal: 'a*b' });
    expect(compileSegment('plain.txt')).to.deep.equal({ literal: 'plain.txt' });
    expect(compileSegment('a[b')).to.deep.equal({ literal: 'a[b' });
  });

  it('hasWildcards', () => {
    expect(hasWildcards('/out/*.txt')).to.equal(true);
    expect(hasWildcards('/out/?')).to.equal(true);
    expect(hasWildcards('/out/[ab]')).to.equal(true);
    expect(hasWildcards('/out/a.txt')).to.equal(false);
  });
});
