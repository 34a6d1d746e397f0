// The workflow bundle kept on disk across starts. Bundling (webpack over the workflow code and
// @temporalio/workflow) costs two seconds of CPU at every worker start, and its result only changes
// when a file it read changes. So the bundle is stored beside the list of every file webpack read
// (with its content hash) and of every path it probed and did not find; a start uses the stored
// bundle only when all of them are still the same, so an edited, added or removed module always
// means a new bundle. What the file list cannot see (the bundler's options, @temporalio versions,
// the interceptor modules) is in the cache file's name.
//
// The cache lives outside DATA_DIR (a fresh DATA_DIR still hits it), in dist-cache/ at the project
// root (ignored by git; `npm run build` keeps it). One file per key, header line then code, written
// to a temporary name and renamed: a reader sees a whole old file or a whole new one, never a mix.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { bundleWorkflowCode, type BundleOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

const FORMAT = 1;
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
  let dependencies: { files: string[]; missing: string[] } | null = null;
  const bundle = await bundleWorkflowCode({
    ...options,
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
  });
  const stored = dependencies !== null && store({ file, code: bundle.code, dependencies, started });
  onOutcome({ outcome: 'miss', reason: cached.reason, stored });
  return bundle;
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
  dependencies: { files: string[]; missing: string[] };
  started: number;
}): boolean {
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
