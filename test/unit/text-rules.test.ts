// What text the service refuses (NUL, lone surrogates: PostgreSQL and JSON cannot hold them as
// sent), how a JSON value's problems are collected, and what makes an instance name.
import { describe, expect, it } from 'vitest';
import {
  FieldErrorList,
  MAX_FIELD_ERRORS,
  MAX_JSON_DEPTH,
  MAY_HOLD_REFUSED_TEXT,
  nameProblem,
  normalizeName,
  textProblem,
} from '../../src/rules/text.ts';

describe('textProblem', () => {
  it('accepts any valid Unicode, paired surrogates (emoji) included', () => {
    for (const text of ['', 'plain', 'Café ☕', '😀 at the end 😀', 'tab\tnewline\n', '\u200b zero-width is text']) {
      expect(textProblem(text), text).toBeNull();
    }
  });

  it('refuses NUL and says where', () => {
    expect(textProblem('ab\u0000c')).toBe('contains U+0000 (NUL) at character 3, which text cannot hold');
  });

  it('refuses a high surrogate without its low one, and a low one without its high one', () => {
    expect(textProblem('a\ud800b')).toBe(
      'contains a lone UTF-16 surrogate (\\uD800 without its pair) at character 2, which is not valid Unicode',
    );
    expect(textProblem('\udfff')).toMatch(/^contains a lone UTF-16 surrogate \(\\uDFFF without its pair\) at character 1,/);
    // Reversed pair: both are lone.
    expect(textProblem('\ude00\ud83d')).toMatch(/\\uDE00 .* at character 1,/);
    expect(textProblem('x\ud83d')).toMatch(/at character 2,/);
  });

  it('the fast first pass never misses what textProblem refuses', () => {
    for (const text of ['ab\u0000c', 'a\ud800b', '\udfff', 'x\ud83d']) expect(MAY_HOLD_REFUSED_TEXT.test(text), text).toBe(true);
    expect(MAY_HOLD_REFUSED_TEXT.test('plain ASCII and Café')).toBe(false);
  });
});

describe('FieldErrorList', () => {
  it('walks a JSON value and names each refused string by its path', () => {
    const errors = new FieldErrorList();
    errors.json({ ok: 'fine', list: ['x', 'bad\u0000'], nested: { deeper: { text: '\ud800' } } }, ['input', 'inputs']);
    expect(errors.errors).toEqual([
      { path: ['input', 'inputs', 'list', '1'], message: expect.stringMatching(/^contains U\+0000 \(NUL\) at character 4/) },
      { path: ['input', 'inputs', 'nested', 'deeper', 'text'], message: expect.stringMatching(/^contains a lone UTF-16 surrogate/) },
    ]);
  });

  it('a refused key is named by its position, not echoed', () => {
    const errors = new FieldErrorList();
    errors.json({ good: 1, ['k\u0000ey']: 2 }, ['attributes']);
    expect(errors.errors).toEqual([
      { path: ['attributes'], message: 'key 2 contains U+0000 (NUL) at character 2, which text cannot hold' },
    ]);
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels at the level that goes past it`, () => {
    let deep: unknown = 'leaf';
    for (let level = 0; level < MAX_JSON_DEPTH; level++) deep = [deep];
    const atLimit = new FieldErrorList();
    atLimit.json(deep, ['v']);
    expect(atLimit.errors).toEqual([]);

    const tooDeep = new FieldErrorList();
    tooDeep.json({ a: deep }, ['v']);
    expect(tooDeep.errors).toHaveLength(1);
    expect(tooDeep.errors[0].path).toEqual(['v', 'a', ...Array.from({ length: MAX_JSON_DEPTH - 1 }, () => '0')]);
    expect(tooDeep.errors[0].message).toBe(`nested deeper than ${MAX_JSON_DEPTH} levels (objects and arrays inside each other)`);
  });

  it(`stops at ${MAX_FIELD_ERRORS} problems`, () => {
    const errors = new FieldErrorList();
    errors.json(
      Array.from({ length: 1000 }, () => '\u0000'),
      ['rows'],
    );
    expect(errors.errors).toHaveLength(MAX_FIELD_ERRORS);
    expect(errors.full).toBe(true);
    errors.add(['more'], 'ignored');
    expect(errors.errors).toHaveLength(MAX_FIELD_ERRORS);
  });
});

describe('instance names', () => {
  it('are stored composed and trimmed, so names that look alike are one name', () => {
    expect(normalizeName('  Cafe\u0301 ')).toBe('Café');
    expect(normalizeName('Café')).toBe(normalizeName('Cafe\u0301'));
  });

  it('must be visible: not empty, no control or format characters', () => {
    expect(nameProblem('Customer Segmentation')).toBeNull();
    expect(nameProblem('')).toBe('must not be empty');
    expect(nameProblem('ab\u200bc')).toBe('contains the invisible character U+200B at character 3: a name must look like what it is');
    expect(nameProblem('\u202eevil')).toMatch(/U\+202E at character 1/);
    expect(nameProblem('tab\there')).toMatch(/U\+0009 at character 4/);
  });
});
