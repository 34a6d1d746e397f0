// Method processes without tsx when the service runs from its TypeScript sources (`npm start`).
// tsx costs every method process about half a second of CPU (its loader thread, then transforming
// each module the child loads), and method processes start once per run. Instead the method
// process's modules and the routines are transpiled on a worker thread (method-process-builder.mjs)
// into a build folder, and method processes run on plain `node`.
//
// Builds are kept across starts: each is a folder named after its manifest (every source it was
// made from, with mtime and size), so a start whose sources are unchanged runs its first method
// process on plain node at once, with no transpiling thread competing with start-up. A folder is
// never changed once published: a build is written to a temporary folder, its manifest last, and
// renamed into place; two services started from the same checkout at once make the same folder,
// and the second rename finds the first's (identical) one.
//
// Freshness: before each fork the sources of the build in use are checked (a stat per file, a
// listing per routine folder); a change sends that fork to tsx and makes a new build in the
// background, so an edited, added or removed routine is never run stale. Until a fresh build
// exists, and wherever it cannot be made (`typescript` is a dev dependency; a routine folder
// outside the project; a read-only checkout; a file that does not transpile), method processes run
// through tsx as before.
//
// The folders are siblings of dist/ (dist-methods-v2-<manifest hash>/, ignored by git), so that
// src/paths.ts finds the project root two levels up and bare imports find node_modules, as for the
// compiled form. Stale folders not used for a while are removed when a new build is published.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { COMPILED, PROJECT_ROOT } from '../paths.ts';
import { isRoutineFile, LIBRARY_DIR } from '../routines/registry.ts';

const METHOD_PROCESS_SOURCE = fileURLToPath(new URL('./method-process.ts', import.meta.url));
const BUILDER = fileURLToPath(new URL('./method-process-builder.mjs', import.meta.url));
/** Builds of earlier versions: dist-methods-<pid>-<random>/, one per process. */
const LEGACY_PREFIX = 'dist-methods-';
const BUILD_PREFIX = 'dist-methods-v2-';
const TEMPORARY_PREFIX = 'dist-methods-tmp-';
const MANIFEST = 'manifest.json';
/** A stale build is removed only when unused this long: a process may still be loading from it. */
const STALE_BUILD_GRACE_MS = 10 * 60_000;

export interface TranspiledMethodProcess {
  /** The method process's entry module, runnable by plain node. */
  entry: string;
  /** The extra routine folders as the transpiled child loads them. */
  extraRoutineDirs: string[];
}

interface BuiltSource {
  mtimeMs: number;
  size: number;
  /** Absolute from the builder; relative to the build folder in a manifest. */
  output: string;
  imports: string[];
}

interface Manifest {
  /** Absolute routine folders the build holds (the library first). */
  routineDirs: string[];
  sources: Record<string, BuiltSource>;
}

interface Build {
  root: string;
  manifest: Manifest;
}

type BuilderReply = { sources: Record<string, BuiltSource> } | { error: string };

class MethodProcessBuilds {
  /** The build forks use while it stays fresh. */
  private build: Build | null = null;
  private readonly failedKeys = new Map<string, string>();
  private readonly wantedKeys = new Map<string, string[]>();
  private building: Promise<void> | null = null;

  constructor(readonly projectRoot: string) {}

  /** The build for these folders if it is up to date with the sources; else starts one and returns null. */
  current(extraRoutineDirs: string[]): TranspiledMethodProcess | null {
    const key = keyOf(extraRoutineDirs);
    if (this.failedKeys.has(key)) return null;
    const build = this.freshBuild(extraRoutineDirs);
    if (build) {
      return {
        entry: outputFor(build.root, METHOD_PROCESS_SOURCE),
        extraRoutineDirs: extraRoutineDirs.map((dir) => outputFor(build.root, dir)),
      };
    }
    void this.request(extraRoutineDirs);
    return null;
  }

  /** Makes sure a fresh build for these folders exists (kept, found on disk, or made now); settles when it does or failed. */
  request(extraRoutineDirs: string[]): Promise<void> {
    if (this.freshBuild(extraRoutineDirs)) return Promise.resolve();
    this.wantedKeys.set(keyOf(extraRoutineDirs), extraRoutineDirs);
    this.building ??= this.buildWanted().finally(() => {
      this.building = null;
    });
    return this.building;
  }

  /** The build in use, or a published one on disk, when fresh for these folders. */
  private freshBuild(extraRoutineDirs: string[]): Build | null {
    if (this.build && covers(this.build, extraRoutineDirs) && isFresh(this.build, extraRoutineDirs)) return this.build;
    for (const build of publishedBuilds(this.projectRoot)) {
      if (build.root !== this.build?.root && covers(build, extraRoutineDirs) && isFresh(build, extraRoutineDirs)) {
        this.adopt(build);
        return build;
      }
    }
    return null;
  }

  private adopt(build: Build): void {
    this.build = build;
    // In use: not a candidate for removal by other processes for a while.
    try {
      const now = new Date();
      utimesSync(build.root, now, now);
    } catch {
      // removed meanwhile: the next freshness check notices
    }
  }

  private async buildWanted(): Promise<void> {
    // Requests that arrive while a build runs are served by the next round.
    while (this.wantedKeys.size > 0) {
      const wanted = [...this.wantedKeys.entries()];
      this.wantedKeys.clear();
      const routineDirs = [
        ...new Set([
          LIBRARY_DIR,
          ...wanted.flatMap(([, dirs]) => dirs.map((dir) => path.resolve(dir))),
          // Keep what the build in use holds, so that its users are not left without.
          ...(this.build?.manifest.routineDirs ?? []).filter(isDirectory),
        ]),
      ];
      const previous = this.build;
      const temporary = path.join(this.projectRoot, `${TEMPORARY_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`);
      const reply = await runBuilder({
        projectRoot: this.projectRoot,
        buildRoot: temporary,
        entrySource: METHOD_PROCESS_SOURCE,
        routineDirs,
        // Unchanged sources are copied from the build in use instead of transpiled again.
        known: previous ? absoluteSources(previous) : {},
      });
      let published: Build | null = null;
      if ('error' in reply) {
        process.emitWarning(`Method processes run through tsx: ${reply.error}`);
      } else {
        try {
          published = publish({ projectRoot: this.projectRoot, temporary, routineDirs, sources: reply.sources });
        } catch (error) {
          process.emitWarning(`Method processes run through tsx: ${(error as Error).message}`);
        }
      }
      rmSync(temporary, { recursive: true, force: true });
      if (published) {
        this.adopt(published);
        removeStaleBuilds(this.projectRoot, published.root);
      } else {
        for (const [key, dirs] of wanted) if (!this.freshBuild(dirs)) this.failedKeys.set(key, 'build failed');
      }
    }
  }
}

/** Writes the manifest into the finished build and renames it to its manifest's name. */
function publish({
  projectRoot,
  temporary,
  routineDirs,
  sources,
}: {
  projectRoot: string;
  temporary: string;
  routineDirs: string[];
  sources: Record<string, BuiltSource>;
}): Build {
  const manifest: Manifest = {
    routineDirs,
    sources: Object.fromEntries(
      Object.entries(sources).map(([file, built]) => [file, { ...built, output: path.relative(temporary, built.output) }]),
    ),
  };
  const name = createHash('sha256')
    .update(
      JSON.stringify([
        routineDirs,
        Object.entries(manifest.sources)
          .map(([file, { mtimeMs, size }]) => [file, mtimeMs, size])
          .sort(),
      ]),
    )
    .digest('hex')
    .slice(0, 20);
  const root = path.join(projectRoot, `${BUILD_PREFIX}${name}`);
  writeFileSync(path.join(temporary, MANIFEST), JSON.stringify(manifest));
  try {
    renameSync(temporary, root);
  } catch (error) {
    // Another process published the same build (same sources, same name) first: use theirs.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    const existing = readBuild(root);
    if (!existing) throw error;
    return existing;
  }
  return { root, manifest };
}

function* publishedBuilds(projectRoot: string): Generator<Build> {
  let names: string[];
  try {
    names = readdirSync(projectRoot).filter((name) => name.startsWith(BUILD_PREFIX));
  } catch {
    return;
  }
  // Most recently used first: the one a start is after is usually the first read.
  const used = (name: string) => {
    try {
      return statSync(path.join(projectRoot, name)).mtimeMs;
    } catch {
      return 0;
    }
  };
  const byUse = names.map((name) => ({ name, mtimeMs: used(name) })).sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { name } of byUse) {
    const build = readBuild(path.join(projectRoot, name));
    if (build) yield build;
  }
}

function readBuild(root: string): Build | null {
  try {
    const manifest = JSON.parse(readFileSync(path.join(root, MANIFEST), 'utf8')) as Manifest;
    if (!Array.isArray(manifest.routineDirs) || typeof manifest.sources !== 'object' || manifest.sources === null) return null;
    return { root, manifest };
  } catch {
    return null; // a corrupt or foreign folder is never used
  }
}

function absoluteSources({ root, manifest }: Build): Record<string, BuiltSource> {
  return Object.fromEntries(
    Object.entries(manifest.sources).map(([file, built]) => [file, { ...built, output: path.join(root, built.output) }]),
  );
}

function covers(build: Build, extraRoutineDirs: string[]): boolean {
  return extraRoutineDirs.every((dir) => build.manifest.routineDirs.includes(path.resolve(dir)));
}

/** Every source of the build unchanged (none deleted), and no routine added to these folders since. */
function isFresh({ manifest }: Build, extraRoutineDirs: string[]): boolean {
  for (const [file, built] of Object.entries(manifest.sources)) {
    let stat;
    try {
      stat = statSync(file);
    } catch {
      return false; // deleted: a removed routine must not stay loadable from the build
    }
    if (stat.mtimeMs !== built.mtimeMs || stat.size !== built.size) return false;
  }
  for (const dir of [LIBRARY_DIR, ...extraRoutineDirs]) {
    let files;
    try {
      files = readdirSync(dir);
    } catch {
      return false;
    }
    for (const file of files) if (isRoutineFile(file) && !manifest.sources[path.resolve(dir, file)]) return false;
  }
  return true;
}

/**
 * Builds of earlier versions and temporary folders left by processes that died, and published
 * builds that are stale for their own folders and unused for a while.
 */
function removeStaleBuilds(projectRoot: string, keep: string): void {
  let names: string[];
  try {
    names = readdirSync(projectRoot);
  } catch {
    return;
  }
  for (const name of names) {
    const folder = path.join(projectRoot, name);
    if (folder === keep || !name.startsWith(LEGACY_PREFIX)) continue;
    if (name.startsWith(BUILD_PREFIX)) {
      const build = readBuild(folder);
      let unusedMs: number;
      try {
        unusedMs = Date.now() - statSync(folder).mtimeMs;
      } catch {
        continue;
      }
      if (unusedMs < STALE_BUILD_GRACE_MS) continue;
      const ownDirs = build?.manifest.routineDirs.filter((dir) => dir !== LIBRARY_DIR) ?? [];
      if (build && ownDirs.every(isDirectory) && isFresh(build, ownDirs)) continue;
    } else {
      const rest = name.startsWith(TEMPORARY_PREFIX) ? name.slice(TEMPORARY_PREFIX.length) : name.slice(LEGACY_PREFIX.length);
      const pid = Number(rest.split('-')[0]);
      if (!Number.isInteger(pid) || pid === process.pid || isRunning(pid)) continue;
    }
    rmSync(folder, { recursive: true, force: true });
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

let builds: MethodProcessBuilds | undefined;

/**
 * The method process transpiled for plain node, with these routine folders and up to date with the
 * sources; or null when the method process must run through tsx this time (a build is then under
 * way if one can be made).
 */
export function transpiledMethodProcess(extraRoutineDirs: string[]): TranspiledMethodProcess | null {
  if (extraRoutineDirs.some((dir) => !isInside(PROJECT_ROOT, path.resolve(dir)))) return null;
  builds ??= new MethodProcessBuilds(PROJECT_ROOT);
  return builds.current(extraRoutineDirs);
}

/**
 * Makes sure a fresh build for these folders exists ahead of the first method process (one kept
 * from an earlier start when the sources are unchanged); settles when done. Nothing to do for the
 * compiled form.
 */
export function prepareTranspiledMethodProcess(extraRoutineDirs: string[] = []): Promise<void> {
  if (COMPILED) return Promise.resolve();
  if (extraRoutineDirs.some((dir) => !isInside(PROJECT_ROOT, path.resolve(dir)))) return Promise.resolve();
  builds ??= new MethodProcessBuilds(PROJECT_ROOT);
  return builds.request(extraRoutineDirs);
}

function outputFor(root: string, source: string): string {
  return path.join(root, path.relative(PROJECT_ROOT, path.resolve(source))).replace(/\.(m?)ts$/, '.$1js');
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
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
