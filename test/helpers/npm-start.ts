// `npm start` exactly as the README says, in embedded mode (no DATABASE_URL / TEMPORAL_ADDRESS),
// until it prints its READY line. Used by test/embedded-start.test.ts and bench/startup.ts.
import { spawn, type ChildProcess } from 'node:child_process';

export interface NpmStart {
  child: ChildProcess;
  /** The service process itself (npm and tsx run it as a grandchild). */
  pid: number;
  url: string;
  totalMs: number;
  phases: Record<string, number>;
  output(): string;
}

export async function npmStart({ env, timeoutMs = 90_000 }: { env: Record<string, string>; timeoutMs?: number }): Promise<NpmStart> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.DATABASE_URL;
  delete childEnv.TEMPORAL_ADDRESS;
  const child = spawn('npm', ['start'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const ready = await new Promise<Omit<NpmStart, 'child' | 'output'>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not become ready:\n${output}`)), timeoutMs);
    child.stdout!.on('data', () => {
      const line = output.split('\n').find((l) => l.startsWith('READY '));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice('READY '.length)));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${output}`));
    });
  });
  return { child, ...ready, output: () => output };
}

/** SIGTERM to the service process; resolves with npm's exit code. */
export async function stopNpmStart(started: NpmStart): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => started.child.once('exit', (code) => resolve(code)));
  process.kill(started.pid, 'SIGTERM');
  return exited;
}
