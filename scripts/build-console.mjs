#!/usr/bin/env node
// Builds the web console (src/console) into dist/console/ with Vite, and writes a gzip copy of
// each text file beside it, which the API serves to browsers that accept it (src/http/console-files.ts).
// Run by `npm run build`, `npm run build:console` and postinstall.
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// Vite is a devDependency: an install without them (`npm ci --omit=dev`) must still succeed; the
// API then answers `/` with how to build the console.
const vite = await import('vite').catch(() => null);
if (!vite) {
  console.log('web console not built: vite is not installed (dev dependencies omitted); run `npm run build:console` where it is');
  process.exit(0);
}

const configFile = fileURLToPath(new URL('../src/console/vite.config.ts', import.meta.url));
const consoleDir = fileURLToPath(new URL('../dist/console', import.meta.url));
// Built beside dist/console and swapped in by rename: an API serving the console meanwhile (a
// test, a running service) never sees it half written or gone.
const outDir = `${consoleDir}.building-${process.pid}`;
const started = performance.now();
await vite.build({ configFile, build: { outDir, emptyOutDir: true } });

let gzipBytes = 0;
for (const entry of readdirSync(outDir, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !/\.(html|js|css|svg)$/.test(entry.name)) continue;
  // parentPath is Node 20.12+; `path` is its older name.
  const file = path.join(entry.parentPath ?? entry.path, entry.name);
  const compressed = gzipSync(readFileSync(file), { level: 9 });
  writeFileSync(`${file}.gz`, compressed);
  gzipBytes += compressed.length;
}
const previous = `${consoleDir}.previous-${process.pid}`;
if (existsSync(consoleDir)) renameSync(consoleDir, previous);
renameSync(outDir, consoleDir);
rmSync(previous, { recursive: true, force: true });
console.log(
  `web console built into dist/console/ in ${Math.round(performance.now() - started)} ms (${(gzipBytes / 1024).toFixed(1)} KB gzipped)`,
);
