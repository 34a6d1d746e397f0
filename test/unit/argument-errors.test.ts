// Error messages quote client input, which may be megabytes long: they quote an excerpt.
import { describe, expect, it } from 'vitest';
import { badInput, excerpt, invalidGlobalIdMessage, wrongGlobalIdTypeMessage } from '../../src/argument-errors.ts';

describe('excerpt', () => {
  it('short text is quoted whole', () => {
    expect(excerpt('abc')).toBe('abc');
    expect(excerpt('x'.repeat(100))).toBe('x'.repeat(100));
  });

  it('long text keeps its start and its end and says how long it was', () => {
    const text = `${'a'.repeat(60)}${'m'.repeat(1_000_000)}${'z'.repeat(60)}`;
    expect(excerpt(text)).toBe(`${'a'.repeat(50)}…${'z'.repeat(50)} (1000120 characters)`);
    expect(excerpt('0123456789', 4)).toBe('01…89 (10 characters)');
  });
});

describe('argument errors', () => {
  it('a bad id names the argument and quotes an excerpt of the id', () => {
    const long = 'Q'.repeat(5000);
    const message = invalidGlobalIdMessage('input.instanceId', long);
    expect(message).toBe(`input.instanceId: "${excerpt(long)}" is not a valid id (pass an \`id\` as the API returned it)`);
    expect(message.length).toBeLessThan(250);
    expect(wrongGlobalIdTypeMessage('ids[1]', 'VXNlcjox', ['RoutineRun', 'RoutineInstance'])).toBe(
      'ids[1]: "VXNlcjox" is not a RoutineRun or RoutineInstance id',
    );
  });

  it('badInput is a client error (BAD_USER_INPUT), with field errors only when given', () => {
    expect(badInput('nope').extensions).toEqual({ code: 'BAD_USER_INPUT' });
    const fieldErrors = [{ path: ['input', 'name'], message: 'must not be empty' }];
    expect(badInput('nope', fieldErrors).extensions).toEqual({ code: 'BAD_USER_INPUT', fieldErrors });
  });
});
