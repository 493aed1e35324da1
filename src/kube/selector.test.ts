import { matchesSelector } from './selector.js';

describe('matchesSelector', () => {
  it('supports matchLabels and expressions', () => {
    const sel = {
      matchLabels: { a: '1' },
      matchExpressions: [
        { key: 'b', operator: 'In' as const, values: ['x', 'y'] },
        { key: 'c', operator: 'DoesNotExist' as const },
      ],
    };
    expect(matchesSelector(sel, { a: '1', b: 'x' })).toBe(true);
    expect(matchesSelector(sel, { a: '1', b: 'z' })).toBe(false);
    expect(matchesSelector(sel, { a: '1', b: 'x', c: '' })).toBe(false);
    expect(matchesSelector(undefined, {})).toBe(true);
    expect(matchesSelector({}, { q: 'r' })).toBe(true);
  });
});
