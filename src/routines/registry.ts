// The routines this service knows: every file in src/routines/library/ default-exports one
// `defineRoutine(...)`. Adding a routine is adding a file; nothing else lists them.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { methodOf, methodSignature, type MethodDefinition, type MethodSignature, type RoutineDefinition } from './sdk.ts';

export const LIBRARY_DIR = fileURLToPath(new URL('./library/', import.meta.url));

export interface RoutineRegistry {
  list(): RoutineDefinition[];
  get(name: string): RoutineDefinition | undefined;
  method(routineName: string, methodName: string): MethodDefinition | undefined;
  /** The file a routine was loaded from. */
  origin(name: string): string | undefined;
  signatures(routineName: string): MethodSignature[];
}

export class RoutineRegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RoutineRegistryError';
  }
}

const cache = new Map<string, Promise<RoutineRegistry>>();

/**
 * Loads (once per set of folders) the built-in library plus any `extraDirs` — tests add
 * fixture routines this way; production passes nothing.
 */
export function loadRoutineRegistry({ extraDirs = [] }: { extraDirs?: string[] } = {}): Promise<RoutineRegistry> {
  const dirs = [LIBRARY_DIR, ...extraDirs.map((dir) => path.resolve(dir))];
  const key = dirs.join('\0');
  let registry = cache.get(key);
  if (!registry) {
    registry = discover({ dirs });
    // A failed load (syntax error in a routine) must not poison the cache for the next attempt.
    registry.catch(() => cache.delete(key));
    cache.set(key, registry);
  }
  return registry;
}

const ROUTINE_FILE = /^[^._].*\.(ts|mts|js|mjs)$/;
const NOT_ROUTINE = /\.(d|test|spec)\.[mc]?[tj]s$/;

/** A file the registry loads as a routine (TypeScript or JavaScript). */
export function isRoutineFile(file: string): boolean {
  return ROUTINE_FILE.test(file) && !NOT_ROUTINE.test(file);
}

async function discover({ dirs }: { dirs: string[] }): Promise<RoutineRegistry> {
  const routines = new Map<string, RoutineDefinition>();
  const origins = new Map<string, string>();
  for (const dir of dirs) {
    const files = (await fs.readdir(dir)).filter(isRoutineFile).sort();
    for (const file of files) {
      const fullPath = path.join(dir, file);
      const module = (await import(pathToFileURL(fullPath).href)) as { default?: unknown };
      const routine = module.default;
      if (!isRoutineDefinition(routine)) {
        throw new RoutineRegistryError(`${fullPath} must default-export a routine from defineRoutine(...)`);
      }
      const previous = origins.get(routine.name);
      if (previous) {
        throw new RoutineRegistryError(`Routine ${routine.name} is defined twice: ${previous} and ${fullPath}`);
      }
      routines.set(routine.name, routine);
      origins.set(routine.name, fullPath);
    }
  }

  const signatures = new Map<string, MethodSignature[]>();
  const sorted = [...routines.values()].sort((a, b) => a.name.localeCompare(b.name));
  return {
    list: () => sorted.slice(),
    get: (name) => routines.get(name),
    method: (routineName, methodName) => methodOf(routines.get(routineName), methodName),
    origin: (name) => origins.get(name),
    signatures: (routineName) => {
      const routine = routines.get(routineName);
      if (!routine) return [];
      let cached = signatures.get(routineName);
      if (!cached) {
        cached = Object.entries(routine.methods).map(([name, method]) => methodSignature(name, method));
        signatures.set(routineName, cached);
      }
      return cached;
    },
  };
}

function isRoutineDefinition(value: unknown): value is RoutineDefinition {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<RoutineDefinition>;
  return (
    typeof candidate.name === 'string' &&
    typeof candidate.version === 'string' &&
    typeof candidate.stateful === 'boolean' &&
    typeof candidate.methods === 'object' &&
    candidate.methods !== null
  );
}
