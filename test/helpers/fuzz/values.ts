// Hostile values for the fuzz suite, and the JSON text that carries them: JSON.stringify cannot
// write 1e400, -0 or a 200,000-level object without overflowing the client's own stack, so
// such values travel as raw JSON text (RawJson) spliced in by `jsonText`.
import fc from 'fast-check';

/** JSON text sent as it is, for what a JS value cannot express (1e400, NaN-as-text, huge nesting). */
export class RawJson {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text.length > 40 ? `RawJson(${this.text.slice(0, 40)}… ${this.text.length} chars)` : `RawJson(${this.text})`;
  }
}

/** JSON text of a value that may hold RawJson parts; iterative over arrays/objects is not needed (depth is bounded). */
export function jsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : jsonText(item))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${jsonText(item)}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
  return JSON.stringify(value) ?? 'null';
}

/** `depth` nested objects (or arrays) as text: the server's JSON.parse copes, recursive walkers may not. */
export function deepJson(depth: number, kind: 'object' | 'array'): RawJson {
  return kind === 'object'
    ? new RawJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)
    : new RawJson(`${'['.repeat(depth)}1${']'.repeat(depth)}`);
}

/** Characters the issue names: NUL and other controls, lone surrogates, RTL marks, combining marks. */
const nastyPieces = [
  '\u0000',
  '\u0001',
  '\u001b',
  '\u007f',
  '\ud800',
  '\udfff',
  '\ud83d',
  '\u202e',
  '\u200f',
  '\u061c',
  'مرحبا',
  'שלום',
  'e\u0301\u0301\u0301',
  'Z\u0336\u0335\u0334',
  '\ufeff',
  '\u2028',
  '\uffff',
  '😀',
  '%00',
  "'; --",
  '\\',
  '"',
  '{}',
  'routine://',
  '../',
  // Names that every JavaScript object has: a lookup by name must not find them.
  'toString',
  '__proto__',
  'constructor',
];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...nastyPieces), fc.string({ maxLength: 4, unit: 'grapheme' })), { minLength: 1, maxLength: 6 })
      .map((parts) => parts.join('')),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 12, unit: 'binary' }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'a'.repeat(300), 'x'.repeat(70_000)) },
);

/** Numbers at and past every edge, some only expressible as JSON text. */
export const nastyNumber: fc.Arbitrary<number | RawJson> = fc.oneof(
  fc.constantFrom<number | RawJson>(
    0,
    -0,
    -1,
    1,
    2.5,
    -2.5,
    0.1,
    2 ** 31,
    2 ** 31 - 1,
    -(2 ** 31) - 1,
    2 ** 53,
    Number.MAX_SAFE_INTEGER + 2,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    1e21,
    -1e21,
    new RawJson('1e400'),
    new RawJson('-1e400'),
    new RawJson('1e-400'),
    new RawJson('123456789012345678901234567890'),
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** JSON-ish values, deep and wide, with hostile strings as keys and leaves. */
export const nastyJson: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        nastyString,
        nastyNumber,
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(nastyString, tie('value'), { maxKeys: 4 }),
      ),
    })).value,
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(10, 33, 200, 200_000)
      .chain((depth) => fc.constantFrom('object', 'array').map((kind) => deepJson(depth, kind as 'object' | 'array'))),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(1_000, 20_000).map((width) => Object.fromEntries(Array.from({ length: width }, (_, i) => [`k${i}`, i]))),
  },
);

/** Any value at all: what a wrong-type case sends for a parameter. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(nastyString, nastyNumber, fc.boolean(), fc.constant(null), nastyJson);

/** Values of a type other than the JSON Schema `type` a method parameter declares. */
export function wrongTypeFor(type: string): fc.Arbitrary<unknown> {
  const byType: Record<string, fc.Arbitrary<unknown>> = {
    string: fc.oneof(fc.integer(), fc.constant(2.5), fc.boolean(), fc.constant([]), fc.constant({ a: 1 })),
    integer: fc.oneof(
      fc.constantFrom('3', '2.5', 'many', ''),
      fc.constant(2.5),
      fc.constant(-0.5),
      fc.boolean(),
      fc.constant([3]),
      fc.constant({ n: 3 }),
      fc.constant(new RawJson('1e400')),
    ),
    number: fc.oneof(
      fc.constantFrom('3', '1e3', 'NaN', 'Infinity'),
      fc.boolean(),
      fc.constant([1]),
      fc.constant({ n: 1 }),
      fc.constant(new RawJson('1e400')),
    ),
    boolean: fc.oneof(fc.constantFrom('true', 'false', ''), fc.constantFrom(0, 1), fc.constant([true]), fc.constant({})),
    array: fc.oneof(fc.constantFrom('[1,2]', 'x'), fc.integer(), fc.boolean(), fc.constant({ 0: 1 })),
    object: fc.oneof(fc.constantFrom('{}', 'x'), fc.integer(), fc.boolean(), fc.constant([])),
  };
  return byType[type] ?? fc.oneof(fc.integer(), fc.boolean());
}

/** The JS type name of a value as the oracle reports it ("a string", "an array", ...). */
export function describeValue(value: unknown): string {
  if (value instanceof RawJson) return String(value);
  const text = jsonText(value);
  return text.length > 60 ? `${text.slice(0, 60)}… (${text.length} chars)` : text;
}
