import { expect } from 'chai';
import { ancestorsOf } from '../../functions/lib/tes/paths.js';

describe('paths: ancestorsOf', () => {
  const cases: Array<[string, string[]]> = [
    ['/', []],
    ['/a', ['/']],
    ['/a/b/c', ['/', '/a', '/a/b']],
    ['/with space/x', ['/', '/with space']],
  ];
  for (const [path, expected] of cases) {
    it(`${path} has ${expected.length}`, () => {
      expect(ancestorsOf(path)).to.deep.equal(expected);
    });
  }
});
