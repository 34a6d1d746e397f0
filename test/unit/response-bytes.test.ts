// The compiled reads' response body (src/reads/plugin.ts): the UTF-8 of `{"data":…}` whatever the
// text holds, whether the ASCII path takes it or a wider character sends it to the fallback.
import { describe, expect, it } from 'vitest';
import { responseBytes } from '../../src/reads/plugin.ts';

const expected = (text: string) => Buffer.from(`{"data":${text}}`, 'utf8');

describe('responseBytes', () => {
  it('writes an ASCII text as its bytes, with the head and the closing brace', () => {
    for (const text of ['null', '{}', '{"a" : 1}', `{"s" : "${'x'.repeat(100_000)}"}`]) {
      expect(responseBytes(text).equals(expected(text))).toBe(true);
    }
  });

  it('writes wider characters wherever they are, the last ones included (the room left past an ASCII text is 4 bytes)', () => {
    const wide = ['é', '€', '😀', 'Ω'.repeat(3), '😀'.repeat(2), '\u{10FFFF}', '\u00ff'];
    for (const character of wide) {
      for (const text of [`"${character}"`, `"abc${character}"`, `"${character}abc"`, `"${'a'.repeat(1000)}${character}"`, character]) {
        const bytes = responseBytes(text);
        expect(bytes.equals(expected(text)), JSON.stringify(text)).toBe(true);
        if (text.startsWith('"')) expect(JSON.parse(bytes.toString('utf8'))).toEqual({ data: JSON.parse(text) });
      }
    }
  });

  it('is read as its text where a streaming processor puts it in a template or a TextEncoder', () => {
    const text = '{"name" : "café"}';
    expect(`data: ${responseBytes(text)}\n`).toBe(`data: {"data":${text}}\n`);
    expect(Buffer.from(new TextEncoder().encode(responseBytes(text) as unknown as string)).equals(expected(text))).toBe(true);
  });
});
