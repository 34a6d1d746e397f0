// schema/schema.graphql is printed from the code and checked in, so that schema changes show up
// in review. Regenerate with `npm run schema:print` (and `npm run codegen` for the typed documents).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printedSchema, SCHEMA_FILE } from '../../schema/print.ts';

describe('printed schema', () => {
  it('schema/schema.graphql matches the schema built from the code (run `npm run schema:print`)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(printedSchema());
  });

  it('keeps the contract names clients code against', () => {
    const sdl = printedSchema();
    for (const name of [
      'interface Error',
      'type ValidationError implements Error',
      'type FieldError',
      'type NotFoundError implements Error',
      'type RoutineRun implements Node',
      'type RoutineInstance implements Node',
      'type Routine implements Node',
      'type Artifact implements Node',
      'union CreateRunResult',
      'union CreateInstanceResult',
      'runUpdated(',
      'scalar DateTime',
      'scalar JSON',
      'scalar SafeInt',
    ]) {
      expect(sdl).toContain(name);
    }
  });
});
