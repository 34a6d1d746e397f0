// Service processes started the way deployments run them, for tests that cross process
// boundaries or kill a process: from the sources (`tsx src/main.ts api|worker`, as `npm run api`)
// or in the compiled form (`npm run build`, then `npm run api:prod|worker:prod`).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ServiceProcess {
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The node arguments of `npm run <role>:prod`, read from package.json so that tests and benchmarks
 * run exactly what deployments do (V8 flags included), without an npm process in between.
 */
export function compiledCommand(role: 'api' | 'worker', distDir = 'dist'): string[] {
  const scripts = JSON.parse(readFileSync(`${PROJECT_ROOT}package.json`, 'utf8')).scripts as Record<string, string>;
  const [program, ...args] = scripts[`${role}:prod`].split(/\s+/);
  if (program !== 'node') throw new Error(`${role}:prod must run node, not ${program}`);
  // Another build folder at the same depth (see test/helpers/deployment.ts) runs the same way.
  return args.map((arg) => arg.replace(/^dist\//, `${distDir}/`));
}

export async function startServiceProcess({
  role,
  env,
  compiled = false,
  distDir,
  timeoutMs = 60_000,
  nodeArgs = [],
}: {
  role: 'api' | 'worker';
  env: Record<string, string>;
  /** Run the compiled form in dist/ (build it first: `npm run build`). */
  compiled?: boolean;
  /** With `compiled`: the build folder, a sibling of dist/ (default dist). */
  distDir?: string;
  timeoutMs?: number;
  /** Options for node itself, such as --cpu-prof (which NODE_OPTIONS may not carry). */
  nodeArgs?: string[];
}): Promise<ServiceProcess> {
  const args = [...nodeArgs, ...(compiled ? compiledCommand(role, distDir) : ['--import', 'tsx', 'src/main.ts', role])];
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role} did not start:\n${output}`)), timeoutMs);
    child.stdout!.on('data', () => {
      if (output.includes('READY ')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited with ${code} before it was ready:\n${output}`));
    });
  });
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
