// The worker thread of method-process-build.ts: transpiles the method process's modules and the
// routines with TypeScript's single-file transpiler (no type check) into the build folder; a
// source unchanged since the build in use (`known`) is copied from there instead. Plain
// JavaScript, so that it runs on plain node wherever the service runs from (tsx, vitest); on a
// thread of its own, because loading TypeScript and transpiling take a second or two of CPU that
// must not stall the service's event loop.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

const { projectRoot, buildRoot, entrySource, routineDirs, known } = workerData;
const ROUTINE_FILE = /^[^._].*\.(ts|mts|js|mjs)$/;
const NOT_ROUTINE = /\.(d|test|spec)\.[mc]?[tj]s$/;
const TYPESCRIPT_SOURCE = /\.m?ts$/;

try {
  const ts = createRequire(path.join(projectRoot, 'package.json'))('typescript');
  const sources = {};
  const pending = [entrySource];
  for (const dir of routineDirs) {
    for (const file of readdirSync(dir)) if (ROUTINE_FILE.test(file) && !NOT_ROUTINE.test(file)) pending.push(path.join(dir, file));
  }
  const seen = new Set();
  while (pending.length > 0) {
    const file = pending.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    const stat = statSync(file);
    const output = outputFor(file);
    mkdirSync(path.dirname(output), { recursive: true });
    const previous = known[file];
    if (previous && previous.mtimeMs === stat.mtimeMs && previous.size === stat.size && copied(previous.output, output)) {
      sources[file] = { ...previous, output };
      pending.push(...previous.imports);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    const imports = relativeImports(ts, file, text);
    writeFileSync(output, TYPESCRIPT_SOURCE.test(file) ? transpile(ts, file, text) : text);
    sources[file] = { mtimeMs: stat.mtimeMs, size: stat.size, output, imports };
    pending.push(...imports);
  }
  parentPort.postMessage({ sources });
} catch (error) {
  parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
}

/** False when the earlier output is gone (its build was removed): then the source is transpiled again. */
function copied(from, to) {
  try {
    copyFileSync(from, to);
    return true;
  } catch {
    return false;
  }
}

function transpile(ts, file, text) {
  const result = ts.transpileModule(text, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      rewriteRelativeImportExtensions: true,
      esModuleInterop: true,
    },
  });
  const error = (result.diagnostics ?? []).find((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error);
  if (error) throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(error.messageText, '\n')}`);
  return result.outputText;
}

function relativeImports(ts, file, text) {
  const imports = [];
  for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
    if (!fileName.startsWith('./') && !fileName.startsWith('../')) continue;
    const resolved = path.resolve(path.dirname(file), fileName);
    const relative = path.relative(projectRoot, resolved);
    if (relative.startsWith('..') || path.isAbsolute(relative)) throw new Error(`${file} imports ${fileName}, outside the project`);
    imports.push(resolved);
  }
  return imports;
}

function outputFor(file) {
  return path.join(buildRoot, path.relative(projectRoot, file)).replace(/\.(m?)ts$/, '.$1js');
}
