// Where a process's CPU went, from the .cpuprofile `node --cpu-prof` writes at its exit: self time
// by function and by place (a package, a source folder, node's internals, garbage collection).
// The benches print it so that a goal they miss comes with its reason.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** node's options that make a process write its profile into `dir` when it exits (NODE_OPTIONS may not carry them). */
export function cpuProfileNodeArgs(dir: string): string[] {
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** Where a frame's code lives: a package, a folder of ours, or what V8 reports without a file. */
function placeOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = file.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (file.startsWith('node:')) return `node:${file.slice(5).split('/')[0]}`;
  const root = process.cwd() + path.sep;
  return file.startsWith(root) ? path.dirname(file.slice(root.length)) : file;
}

export interface ProfileSummary {
  totalMs: number;
  byFunction: { name: string; ms: number }[];
  byPlace: { name: string; ms: number }[];
}

/** Now on the clock a profile's timestamps use (CLOCK_MONOTONIC on Linux, for V8 and libuv alike), in µs. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Self time of each sample's leaf, summed. `windows` ([from, to] in monotonicMicros() of any
 * process on this machine) keeps only the samples taken inside them: the measurements, not the
 * start-up or the seeding.
 */
export function summarizeProfile(file: string, windows?: [number, number][]): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  let totalMs = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i];
    if (windows && !windows.some(([from, to]) => at >= from && at <= to)) return;
    const node = nodes.get(id)!;
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') return;
    totalMs += ms;
    const place = placeOf(url, functionName);
    const name = `${functionName || '(anonymous)'} ${url ? `${place}/${path.basename(url)}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    byPlace.set(place, (byPlace.get(place) ?? 0) + ms);
  });
  const sorted = (map: Map<string, number>) => [...map].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return { totalMs, byFunction: sorted(byFunction), byPlace: sorted(byPlace) };
}

/** The profile of the main thread of the process `pid` in `dir` (thread 0; workers write their own), or null. */
export function profileOf(dir: string, pid: number): string | null {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile') && name.includes(`.${pid}.0.`));
  return file ? path.join(dir, file) : null;
}

/** The time divided by `count` of what `per` names (requests, 1,000 deliveries…), or whole. */
export function printProfile(title: string, summary: ProfileSummary, { top = 20, count = 1, per = '' } = {}): void {
  const f = (ms: number) => (ms / count).toFixed(per ? 2 : 0).padStart(8);
  const unit = per ? `ms per ${per}` : 'ms';
  console.log(
    `\n${title}: ${f(summary.totalMs)} ${unit} sampled on the thread, self time (idle excluded; on a loaded machine it includes time spent waiting for a CPU)`,
  );
  console.log(`  by place (${unit}, share):`);
  for (const { name, ms } of summary.byPlace.slice(0, 12)) {
    console.log(`    ${f(ms)}  ${((100 * ms) / summary.totalMs).toFixed(1).padStart(5)}%  ${name}`);
  }
  console.log(`  by function (${unit}, share):`);
  for (const { name, ms } of summary.byFunction.slice(0, top)) {
    console.log(`    ${f(ms)}  ${((100 * ms) / summary.totalMs).toFixed(1).padStart(5)}%  ${name}`);
  }
}
