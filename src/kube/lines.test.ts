import { LineSplitter } from './lines.js';

describe('LineSplitter', () => {
  it('returns whole lines and keeps an unfinished tail for the next chunk', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('{"a":1}\n{"b"'))).toEqual(['{"a":1}']);
    expect(s.push(Buffer.from(':2}\n\n  \n{"c":3}'))).toEqual(['{"b":2}']);
    expect(s.rest()).toBe('{"c":3}');
    expect(s.rest()).toBe('');
  });

  it('joins a multi-byte character split across chunks', () => {
    const bytes = Buffer.from('{"n":"größe"}\n');
    const cut = bytes.indexOf(0xc3) + 1; // inside the two bytes of "ö"
    const s = new LineSplitter();
    expect(s.push(bytes.subarray(0, cut))).toEqual([]);
    expect(s.push(bytes.subarray(cut))).toEqual(['{"n":"größe"}']);
    expect(s.rest()).toBe('');
  });

  it('trims carriage returns and spaces around a line', () => {
    expect(new LineSplitter().push(Buffer.from(' {"a":1}\r\n'))).toEqual(['{"a":1}']);
  });
});
