// Method processes without tsx when the service runs from its TypeScript sources (`npm start`).
// tsx costs every method process about half a second of CPU (its loader thread, then transforming
// each module the child loads), and method processes start once per run. Instead the method
// process's modules and the routines are transpiled once per service start, on a worker thread
// (method-process-builder.mjs), into a build folder, and method processes run on plain `node`.
//
// Freshness: before each fork the sources of the build are checked (a stat per file, a listing per
// routine folder); a change sends that fork to tsx and transpiles again in the background, so an
// edited routine is never run stale. Until the first build is done, and wherever it cannot be made
// (`typescript` is a dev dependency; a routine folder outside the project; a read-only checkout;
// a file that does not transpile), method processes run through tsx as before.
//
// The folder is a sibling of dist/ (dist-methods-<pid>-<random>/, ignored by git), so that
// src/paths.ts finds the project root two levels up and bare imports find node_modules, as for the
// compiled form; it is removed when this process exits, and a killed process's on the next start.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { COMPILED, PROJECT_ROOT } from '../paths.ts';
import { isRoutineFile, LIBRARY_DIR } from '../routines/registry.ts';

const METHOD_PROCESS_SOURCE = fileURLToPath(new URL('./method-process.ts', import.meta.url));
const BUILDER = fileURLToPath(new URL('./method-process-builder.mjs', import.meta.url));
const BUILD_PREFIX = 'dist-methods-';

export interface TranspiledMethodProcess {
  /** The method process's entry module, runnable by plain node. */
  entry: string;
  /** The extra routine folders as the transpiled child loads them. */
  extraRoutineDirs: string[];
}

interface BuiltSource {
  mtimeMs: number;
  size: number;
  output: string;
  imports: string[];
}

type BuilderReply = { sources: Record<string, BuiltSource> } | { error: string };

class MethodProcessBuild {
  private sources: Record<string, BuiltSource> = {};
  /** Routine folder sets (keys) the build holds and that were fresh at the last build. */
  private readonly builtKeys = new Set<string>();
  private readonly failedKeys = new Map<string, string>();
  private readonly wantedKeys = new Map<string, string[]>();
  private building: Promise<void> | null = null;

  constructor(readonly root: string) {}

  /** The build for these folders if it is up to date with the sources; else starts one and returns null. */
  current(extraRoutineDirs: string[]): TranspiledMethodProcess | null {
    const key = keyOf(extraRoutineDirs);
    if (this.failedKeys.has(key)) return null;
    if (this.builtKeys.has(key) && this.fresh(extraRoutineDirs)) {
      return { entry: this.outputFor(METHOD_PROCESS_SOURCE), extraRoutineDirs: extraRoutineDirs.map((dir) => this.outputFor(dir)) };
    }
    void this.request(extraRoutineDirs);
    return null;
  }

  /** Builds for these folders (with whatever else was asked for meanwhile); settles when done. */
  request(extraRoutineDirs: string[]): Promise<void> {
    const key = keyOf(extraRoutineDirs);
    this.builtKeys.delete(key);
    this.wantedKeys.set(key, extraRoutineDirs);
    this.building ??= this.buildWanted().finally(() => {
      this.building = null;
    });
    return this.building;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  private async buildWanted(): Promise<void> {
    // Requests that arrive while a build runs are served by the next round.
    while (this.wantedKeys.size > 0) {
      const wanted = [...this.wantedKeys.entries()];
      this.wantedKeys.clear();
      const routineDirs = [...new Set([LIBRARY_DIR, ...wanted.flatMap(([, dirs]) => dirs.map((dir) => path.resolve(dir)))])];
      const reply = await runBuilder({
        projectRoot: PROJECT_ROOT,
        buildRoot: this.root,
        entrySource: METHOD_PROCESS_SOURCE,
        routineDirs,
        known: this.sources,
      });
      for (const [key] of wanted) {
        if ('error' in reply) this.failedKeys.set(key, reply.error);
        else this.builtKeys.add(key);
      }
      if ('error' in reply) {
        process.emitWarning(`Method processes run through tsx: ${reply.error}`);
      } else {
        this.sources = reply.sources;
      }
    }
  }

  /** Every built source unchanged, and no routine added to the folders since. */
  private fresh(extraRoutineDirs: string[]): boolean {
    for (const [file, built] of Object.entries(this.sources)) {
      let stat;
      try {
        stat = statSync(file);
      } catch {
        // Deleted: a removed routine must not stay loadable from the build.
        rmSync(built.output, { force: true });
        delete this.sources[file];
        return false;
      }
      if (stat.mtimeMs !== built.mtimeMs || stat.size !== built.size) return false;
    }
    for (const dir of [LIBRARY_DIR, ...extraRoutineDirs]) {
      for (const file of readdirSync(dir)) if (isRoutineFile(file) && !this.sources[path.resolve(dir, file)]) return false;
    }
    return true;
  }

  private outputFor(source: string): string {
    return path.join(this.root, path.relative(PROJECT_ROOT, path.resolve(source))).replace(/\.(m?)ts$/, '.$1js');
  }
}

function runBuilder(workerData: {
  projectRoot: string;
  buildRoot: string;
  entrySource: string;
  routineDirs: string[];
  known: Record<string, BuiltSource>;
}): Promise<BuilderReply> {
  return new Promise((resolve) => {
    // Plain node for the thread (not the tsx loader this process may run under): it needs none.
    const worker = new Worker(BUILDER, { workerData, execArgv: [] });
    let reply: BuilderReply | null = null;
    worker.once('message', (message: BuilderReply) => {
      reply = message;
    });
    worker.once('error', (error) => {
      reply ??= { error: error.message };
    });
    worker.once('exit', (code) => resolve(reply ?? { error: `the transpiling thread exited with code ${code}` }));
  });
}

let build: MethodProcessBuild | null | undefined;

/**
 * The method process transpiled for plain node, with these routine folders and up to date with the
 * sources; or null when the method process must run through tsx this time (a build is then under
 * way if one can be made).
 */
export function transpiledMethodProcess(extraRoutineDirs: string[]): TranspiledMethodProcess | null {
  if (extraRoutineDirs.some((dir) => !isInside(PROJECT_ROOT, path.resolve(dir)))) return null;
  build ??= createBuild();
  return build?.current(extraRoutineDirs) ?? null;
}

/**
 * Starts transpiling for these folders ahead of the first method process; settles when done.
 * Nothing to do for the compiled form.
 */
export function prepareTranspiledMethodProcess(extraRoutineDirs: string[] = []): Promise<void> {
  if (COMPILED) return Promise.resolve();
  if (extraRoutineDirs.some((dir) => !isInside(PROJECT_ROOT, path.resolve(dir)))) return Promise.resolve();
  build ??= createBuild();
  return build?.request(extraRoutineDirs) ?? Promise.resolve();
}

function createBuild(): MethodProcessBuild | null {
  try {
    removeAbandonedBuilds();
    const root = path.join(PROJECT_ROOT, `${BUILD_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`);
    mkdirSync(root);
    const created = new MethodProcessBuild(root);
    process.once('exit', () => created.remove());
    return created;
  } catch (error) {
    process.emitWarning(`Method processes run through tsx: ${(error as Error).message}`);
    return null;
  }
}

/** Builds left by processes that were killed before they could remove theirs. */
function removeAbandonedBuilds(): void {
  for (const name of readdirSync(PROJECT_ROOT)) {
    if (!name.startsWith(BUILD_PREFIX)) continue;
    const pid = Number(name.slice(BUILD_PREFIX.length).split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !isRunning(pid)) {
      rmSync(path.join(PROJECT_ROOT, name), { recursive: true, force: true });
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function keyOf(extraRoutineDirs: string[]): string {
  return extraRoutineDirs.map((dir) => path.resolve(dir)).join(path.delimiter);
}

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}
