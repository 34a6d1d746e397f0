// Run list cursors: opaque to clients, bound to the order they were made for, and checked when
// they come back (a cursor is client input).
import { describe, expect, it } from 'vitest';
import { decodeRunCursor, encodeRunCursor, RunListInputError, type RunOrder } from '../../src/runs/run-filter.ts';

const ID = '0b0f3c8e-6a3e-4c1a-9d2e-5f4b3a2c1d0e';
const CREATED_DESC: RunOrder = { field: 'CREATED_AT', direction: 'DESC' };
const FINISHED_ASC: RunOrder = { field: 'FINISHED_AT', direction: 'ASC' };
const DURATION_DESC: RunOrder = { field: 'DURATION', direction: 'DESC' };
const NAME_ASC: RunOrder = { field: 'NAME', direction: 'ASC' };

const forge = (parts: unknown) => Buffer.from(JSON.stringify(parts)).toString('base64url');

describe('run cursors', () => {
  it('a cursor decodes to the sort value and id of the row it was made from, for every kind of sort column', () => {
    const createdAt = new Date('2026-11-30T12:34:56.789Z');
    expect(decodeRunCursor(CREATED_DESC, encodeRunCursor(CREATED_DESC, { id: ID, createdAt }))).toEqual({ value: createdAt, id: ID });
    expect(decodeRunCursor(DURATION_DESC, encodeRunCursor(DURATION_DESC, { id: ID, durationMs: 1234 }))).toEqual({ value: 1234, id: ID });
    expect(decodeRunCursor(NAME_ASC, encodeRunCursor(NAME_ASC, { id: ID, name: 'nightly "fit" ✓' }))).toEqual({
      value: 'nightly "fit" ✓',
      id: ID,
    });
  });

  it('a nullable sort column that is null (an unfinished run) round-trips as null', () => {
    expect(decodeRunCursor(FINISHED_ASC, encodeRunCursor(FINISHED_ASC, { id: ID, finishedAt: null }))).toEqual({ value: null, id: ID });
    // A row without the column at all encodes the same way.
    expect(decodeRunCursor(FINISHED_ASC, encodeRunCursor(FINISHED_ASC, { id: ID }))).toEqual({ value: null, id: ID });
  });

  it('is URL-safe text', () => {
    const cursor = encodeRunCursor(NAME_ASC, { id: ID, name: '???>>>~~~' });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('no cursor is no position', () => {
    expect(decodeRunCursor(CREATED_DESC, null)).toBeNull();
    expect(decodeRunCursor(CREATED_DESC, undefined)).toBeNull();
  });

  it('a cursor of a list in another order is refused, naming both orders', () => {
    const cursor = encodeRunCursor(CREATED_DESC, { id: ID, createdAt: new Date() });
    expect(() => decodeRunCursor({ field: 'CREATED_AT', direction: 'ASC' }, cursor)).toThrow(
      'Invalid cursor: it belongs to a list ordered by CREATED_AT DESC, not CREATED_AT ASC',
    );
    expect(() => decodeRunCursor(NAME_ASC, cursor)).toThrow(/ordered by CREATED_AT DESC, not NAME ASC/);
  });

  it('refuses what no list handed out, as client input', () => {
    const refused: Array<[string, string | RegExp]> = [
      ['not base64 JSON at all', /pass the cursor of an edge/],
      [forge({ field: 'CREATED_AT' }), /pass the cursor of an edge/],
      [forge(['CREATED_AT', 'DESC', '2026-01-01T00:00:00Z']), /pass the cursor of an edge/],
      [forge(['CREATED_AT', 'DESC', '2026-01-01T00:00:00Z', 'not-a-uuid']), 'Invalid cursor: it names no run'],
      [forge(['CREATED_AT', 'DESC', '2026-01-01T00:00:00Z', 42]), 'Invalid cursor: it names no run'],
      [forge(['CREATED_AT', 'DESC', 'yesterday', ID]), 'Invalid cursor: bad sort value'],
      [forge(['CREATED_AT', 'DESC', 1764500000000, ID]), 'Invalid cursor: bad sort value'],
      // A column that is never null has no null position.
      [forge(['CREATED_AT', 'DESC', null, ID]), 'Invalid cursor: missing sort value'],
    ];
    for (const [cursor, message] of refused) {
      let thrown: unknown;
      try {
        decodeRunCursor(CREATED_DESC, cursor);
      } catch (error) {
        thrown = error;
      }
      // The client-input error that schema/run-list-args.ts answers as BAD_USER_INPUT.
      expect(thrown, cursor).toBeInstanceOf(RunListInputError);
      expect((thrown as Error).message, cursor).toMatch(message);
    }
  });

  it('checks the sort value against the column: integers for durations, strings for names', () => {
    expect(() => decodeRunCursor(DURATION_DESC, forge(['DURATION', 'DESC', 1.5, ID]))).toThrow('Invalid cursor: bad sort value');
    expect(() => decodeRunCursor(DURATION_DESC, forge(['DURATION', 'DESC', '15', ID]))).toThrow('Invalid cursor: bad sort value');
    expect(() => decodeRunCursor(NAME_ASC, forge(['NAME', 'ASC', 15, ID]))).toThrow('Invalid cursor: bad sort value');
    expect(decodeRunCursor(DURATION_DESC, forge(['DURATION', 'DESC', null, ID]))).toEqual({ value: null, id: ID });
  });
});
