// The one structured logger (src/logger.ts): JSON lines with level, time and msg, on stderr, and
// nothing below LOG_LEVEL.
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadEnv } from '../src/env.ts';
import { createLogger, lineLog, prettyFor } from '../src/logger.ts';
import { PROJECT_ROOT } from '../src/paths.ts';

function collect(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return {
    stream,
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('the structured logger', () => {
  it('at LOG_LEVEL=warn writes warn and error as JSON lines with level, time and msg, and drops debug and info', () => {
    const { stream, lines } = collect();
    const logger = createLogger({ level: loadEnv({ LOG_LEVEL: 'warn' }).LOG_LEVEL, destination: stream });
    const log = lineLog(logger.child({ name: 'api' }));
    logger.debug('debug detail');
    log('an info line through the Log shape');
    logger.warn('disk almost full');
    logger.child({ name: 'worker' }).error('heartbeat failed');

    expect(lines()).toEqual([
      { level: 'warn', time: expect.any(String), pid: process.pid, msg: 'disk almost full' },
      { level: 'error', time: expect.any(String), pid: process.pid, name: 'worker', msg: 'heartbeat failed' },
    ]);
    for (const line of lines()) expect(new Date(line.time as string).toISOString()).toBe(line.time);
  });

  it("never writes a Temporal activity's task token (a capability to complete the activity)", () => {
    const { stream, lines } = collect();
    const logger = createLogger({ level: 'info', destination: stream });
    const taskToken = 'CiQ2ZjBjY2Y0Zi1hY3Rpdml0eS10YXNrLXRva2Vu';
    logger.warn({ taskToken, activityId: '1' }, 'Activity failed');
    logger.warn({ activity: { taskToken, activityType: 'runAttempt' } }, 'Activity failed');
    expect(JSON.stringify(lines())).not.toContain(taskToken);
    expect(lines()).toMatchObject([
      { taskToken: '[redacted]', activityId: '1' },
      { activity: { taskToken: '[redacted]', activityType: 'runAttempt' } },
    ]);
  });

  it('writes Log lines at info when LOG_LEVEL is info', () => {
    const { stream, lines } = collect();
    lineLog(createLogger({ level: 'info', destination: stream }).child({ name: 'api' }))('GraphQL at http://127.0.0.1:4000/graphql');
    expect(lines()).toEqual([
      { level: 'info', time: expect.any(String), pid: process.pid, name: 'api', msg: 'GraphQL at http://127.0.0.1:4000/graphql' },
    ]);
  });

  it("a process's logger writes to stderr, leaving stdout to what commands print", async () => {
    const script = `
      import { loadEnv } from './src/env.ts';
      import { lineLog, processLogger } from './src/logger.ts';
      const logger = processLogger(loadEnv().LOG_LEVEL);
      lineLog(logger)('dropped at warn');
      logger.debug('dropped too');
      logger.warn('kept');
      console.log('READY {}');
    `;
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    expect(stdout).toBe('READY {}\n');
    const lines = stderr
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([{ level: 'warn', time: expect.any(String), pid: expect.any(Number), msg: 'kept' }]);
  });

  it('at a terminal, outside production, writes colored lines for a person instead of JSON', () => {
    expect(prettyFor({ isTTY: true }, undefined)).toBe(true);
    expect(prettyFor({ isTTY: true }, 'production')).toBe(false);
    expect(prettyFor({ isTTY: false }, undefined)).toBe(false);
    expect(prettyFor({}, 'development')).toBe(false);

    let text = '';
    const terminal = Object.assign(
      new Writable({
        write(chunk, _encoding, done) {
          text += String(chunk);
          done();
        },
      }),
      { isTTY: true },
    );
    const logger = createLogger({ level: 'info', destination: terminal, pretty: prettyFor(terminal, undefined) });
    logger.child({ runId: 'r-1' }).warn('disk almost full');
    expect(() => JSON.parse(text)).toThrow();
    // eslint-disable-next-line no-control-regex -- terminal color codes are what is looked for
    const colorCode = /\u001b\[\d+m/g;
    expect(text).toMatch(colorCode);
    const plain = text.replace(colorCode, '');
    expect(plain).toMatch(/WARN.*disk almost full/);
    expect(plain).toContain('runId: "r-1"');
  });
});
