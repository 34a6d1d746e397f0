// The workflow bundle kept on disk across starts. Bundling (webpack over the workflow code and
// @temporalio/workflow) costs two seconds of CPU at every worker start, and its result only changes
// when a file it read changes. So the bundle is stored beside the list of every file webpack read
// (with its content hash) and of every path it probed and did not find; a start uses the stored
// bundle only when all of them are still the same, so an edited, added or removed module always
// means a new bundle. What the file list cannot see (the bundler's options, @temporalio versions,
// the interceptor modules) is in the cache file's name.
//
// On a miss, webpack runs in a child process: `npm start` asks for the bundle while it also loads
// its modules and supervises PostgreSQL and Temporal starting, and two to three seconds of webpack
// on the main thread would hold all of that up. (Not a worker thread: the bundler's native SWC
// addon cannot be loaded by a second thread of the same process.)
//
// The cache lives outside DATA_DIR (a fresh DATA_DIR still hits it), in dist-cache/ at the project
// root (ignored by git; `npm run build` keeps it). One file per key, header line then code, written
// to a temporary name and renamed: a reader sees a whole old file or a whole new one, never a mix.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { setPriority } from 'node:os';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BundleOptions, WorkflowBundleWithSourceMap } from '@temporalio/worker';

const FORMAT = 1;
const BUNDLER_NICENESS = 10;
const require = createRequire(import.meta.url);

export interface BundleCacheOutcome {
  /** 'hit': the stored bundle was used; 'miss': bundled now (and stored unless `stored` is false). */
  outcome: 'hit' | 'miss';
  /** Why a stored bundle was not used (missing, a changed file, unreadable…), for a miss. */
  reason?: string;
  stored?: boolean;
}

interface Header {
  format: number;
  /** sha256 of the code that follows the header. */
  code: string;
  /** [path, sha256 of its content] of every file webpack read. */
  files: [string, string][];
  /** Paths webpack probed that did not exist: one appearing would resolve differently. */
  missing: string[];
}

export function bundleCacheFile({ cacheDir, options }: { cacheDir: string; options: BundleOptions }): string {
  const versions = ['@temporalio/worker', '@temporalio/workflow', '@temporalio/interceptors-opentelemetry'].map((name) => {
    try {
      return `${name}@${(require(`${name}/package.json`) as { version: string }).version}`;
    } catch {
      return `${name}@none`;
    }
  });
  const key = JSON.stringify({
    format: FORMAT,
    versions,
    workflowsPath: options.workflowsPath,
    interceptors: options.workflowInterceptorModules ?? [],
    payloadConverterPath: options.payloadConverterPath ?? null,
    failureConverterPath: options.failureConverterPath ?? null,
    ignoreModules: options.ignoreModules ?? [],
  });
  return path.join(cacheDir, `workflow-bundle-${sha256(key).slice(0, 20)}.js`);
}

/**
 * The bundle for these options from the cache when every file it was made from is unchanged; else
 * bundles (and stores the result for the next start).
 */
export async function cachedWorkflowBundle({
  cacheDir,
  options,
  onOutcome = () => {},
}: {
  cacheDir: string;
  options: Omit<BundleOptions, 'webpackConfigHook'>;
  onOutcome?: (outcome: BundleCacheOutcome) => void;
}): Promise<WorkflowBundleWithSourceMap> {
  const file = bundleCacheFile({ cacheDir, options });
  const cached = readCached(file);
  if ('code' in cached) {
    onOutcome({ outcome: 'hit' });
    return { code: cached.code, sourceMap: '' };
  }

  const started = Date.now();
  const { code, dependencies } = await bundleInChild(options);
  const stored = store({ file, code, dependencies, started });
  onOutcome({ outcome: 'miss', reason: cached.reason, stored });
  return { code, sourceMap: 'deprecated: this is no longer in use\n' };
}

interface Dependencies {
  files: string[];
  missing: string[];
}

/**
 * The bundler in a process of its own (plain node, the script given inline, so that it runs the
 * same from the sources, the compiled form and the tests). Options cross as data: the logger stays
 * here, and only its errors come back.
 */
const BUNDLER_SCRIPT = `
const { requireFrom, options } = JSON.parse(process.argv[1]);
const { bundleWorkflowCode } = require('node:module').createRequire(requireFrom)('@temporalio/worker/lib/workflow/bundler.js');
// Nobody left to answer to.
process.on('disconnect', () => process.exit(1));
let dependencies = null;
const ignore = () => {};
const reply = (message) => process.send(message, () => process.exit(0));
bundleWorkflowCode({
  ...options,
  logger: { log: ignore, trace: ignore, debug: ignore, info: ignore, warn: ignore, error: (message) => process.send({ log: String(message) }) },
  webpackConfigHook: (config) => ({
    ...config,
    plugins: [
      ...(config.plugins ?? []),
      {
        apply(compiler) {
          compiler.hooks.done.tap('routine-runs-bundle-cache', ({ compilation }) => {
            dependencies = { files: [...compilation.fileDependencies], missing: [...compilation.missingDependencies] };
          });
        },
      },
    ],
  }),
}).then(
  ({ code }) => reply({ code, dependencies }),
  (error) => reply({ error: error instanceof Error ? error.message : String(error) }),
);
`;

function bundleInChild({
  logger,
  ...options
}: Omit<BundleOptions, 'webpackConfigHook'>): Promise<{ code: string; dependencies: Dependencies }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-e', BUNDLER_SCRIPT, JSON.stringify({ requireFrom: fileURLToPath(import.meta.url), options })],
      {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'advanced',
      },
    );
    // Needed only once the database is migrated: PostgreSQL's initdb and this process's own
    // start-up come first on a small machine.
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, BUNDLER_NICENESS);
      } catch {
        // not permitted here: normal priority
      }
    }
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr = (stderr + String(chunk)).slice(-2000)));
    let settled = false;
    child.on('message', (message: { log?: string; error?: string; code?: string; dependencies?: Dependencies }) => {
      if (message.log !== undefined) {
        logger?.error(message.log);
        return;
      }
      settled = true;
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve({ code: message.code!, dependencies: message.dependencies ?? { files: [], missing: [] } });
    });
    child.once('error', (error) => {
      settled = true;
      reject(error);
    });
    child.once('exit', (code, signal) => {
      if (!settled) reject(new Error(`the workflow bundler exited (${signal ?? `code ${code}`}) without a bundle: ${stderr.trim()}`));
    });
  });
}

function readCached(file: string): { code: string } | { reason: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { reason: 'not cached' };
  }
  try {
    const newline = text.indexOf('\n');
    const header = JSON.parse(text.slice(0, newline)) as Header;
    const code = text.slice(newline + 1);
    if (header.format !== FORMAT || sha256(code) !== header.code) return { reason: 'unreadable cache file' };
    for (const [dependency, hash] of header.files) {
      if (contentHash(dependency) !== hash) return { reason: `${dependency} changed` };
    }
    for (const dependency of header.missing) {
      if (exists(dependency)) return { reason: `${dependency} appeared` };
    }
    return { code };
  } catch {
    return { reason: 'unreadable cache file' };
  }
}

/** False when not stored: a file changed while webpack ran (the bundle may hold either version), or no writable cache. */
function store({
  file,
  code,
  dependencies,
  started,
}: {
  file: string;
  code: string;
  dependencies: Dependencies;
  started: number;
}): boolean {
  // No list of what webpack read: nothing to check a cached copy against.
  if (dependencies.files.length === 0) return false;
  const files: [string, string][] = [];
  const missing: string[] = [];
  for (const dependency of new Set(dependencies.files)) {
    let stat;
    try {
      stat = statSync(dependency);
    } catch {
      // Only in webpack's in-memory volume (the generated entry module, made from the options).
      missing.push(dependency);
      continue;
    }
    if (stat.isDirectory()) continue;
    // A second's margin for file systems with coarse timestamps.
    if (stat.mtimeMs >= started - 1000) return false;
    files.push([dependency, contentHash(dependency)!]);
  }
  for (const dependency of new Set(dependencies.missing)) if (!exists(dependency)) missing.push(dependency);
  const header: Header = { format: FORMAT, code: sha256(code), files, missing };
  const temporary = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(temporary, `${JSON.stringify(header)}\n${code}`);
    renameSync(temporary, file);
    return true;
  } catch {
    rmSync(temporary, { force: true });
    return false;
  }
}

function contentHash(file: string): string | null {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return null;
  }
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
