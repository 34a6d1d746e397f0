// The environment is read once, into a typed Env; a bad value stops the process with every
// problem named, before anything starts.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv, retentionPolicyOf } from '../../src/env.ts';

function problemsOf(source: NodeJS.ProcessEnv): string {
  try {
    loadEnv(source);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as Error).message;
  }
  throw new Error('loadEnv accepted it');
}

describe('loadEnv', () => {
  it('an empty environment is the embedded defaults', () => {
    const env = loadEnv({});
    expect(env).toMatchObject({ PORT: 4000, HOST: '127.0.0.1', DATA_DIR: './.data', TEMPORAL_TLS: false, GRAPHQL_COMPILED_READS: true });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.dataDir).toBe(path.resolve('./.data'));
  });

  it('coerces numbers and booleans from their text', () => {
    const env = loadEnv({ PORT: '8080', TEMPORAL_TLS: 'yes', WORKER_MAX_CONCURRENT_RUNS: '8', GRAPHQL_COMPILED_READS: 'false' });
    expect(env).toMatchObject({ PORT: 8080, TEMPORAL_TLS: true, WORKER_MAX_CONCURRENT_RUNS: 8, GRAPHQL_COMPILED_READS: false });
  });

  it('METRICS_PORT may not be the API port', () => {
    expect(() => loadEnv({ PORT: '4410', METRICS_PORT: '4410' })).toThrow(/METRICS_PORT: must differ from PORT \(4410\)/);
    expect(loadEnv({ PORT: '4410', METRICS_PORT: '4411' }).METRICS_PORT).toBe(4411);
  });

  it('RETENTION_SCHEDULE needs a limit, and its policy comes from the RETENTION_* variables', () => {
    expect(() => loadEnv({ RETENTION_SCHEDULE: '0 3 * * *' })).toThrow(
      /RETENTION_SCHEDULE: needs RETENTION_OLDER_THAN_DAYS or RETENTION_KEEP_LAST/,
    );
    const env = loadEnv({ RETENTION_SCHEDULE: '0 3 * * *', RETENTION_OLDER_THAN_DAYS: '30', RETENTION_KEEP_LABELS: 'keep, audit' });
    expect(retentionPolicyOf(env)).toEqual({
      olderThanDays: 30,
      failedOlderThanDays: null,
      keepLastPerInstance: null,
      keepLabels: ['keep', 'audit'],
    });
    expect(retentionPolicyOf(loadEnv({ RETENTION_OLDER_THAN_DAYS: '30' }))).toBeNull();
  });

  it('an empty value counts as unset', () => {
    const env = loadEnv({ PORT: '', DATABASE_URL: '' });
    expect(env.PORT).toBe(4000);
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('names every bad variable at once', () => {
    const message = problemsOf({ PORT: '70000', DATABASE_URL: 'not a url', TEMPORAL_TLS: 'maybe', WORKER_MEMORY_MB: '-1' });
    expect(message).toMatch(/^Invalid environment:\n/);
    const lines = message.split('\n').slice(1);
    expect(lines.map((line) => line.trim().split(':')[0]).sort()).toEqual(['DATABASE_URL', 'PORT', 'TEMPORAL_TLS', 'WORKER_MEMORY_MB']);
  });

  it('REDIS_URL must be a redis:// or rediss:// URL; channel prefixes are plain words', () => {
    expect(loadEnv({ REDIS_URL: 'rediss://cache:6380' }).REDIS_URL).toBe('rediss://cache:6380');
    expect(problemsOf({ REDIS_URL: 'http://cache:6379' })).toContain('REDIS_URL: must be a redis:// or rediss:// URL');
    expect(problemsOf({ REDIS_CHANNEL_PREFIX: 'a b' })).toContain('REDIS_CHANNEL_PREFIX: must be letters, digits, _ . : - only');
  });

  it('secrets have a minimum length', () => {
    expect(problemsOf({ ARTIFACT_LINK_SECRET: 'short' })).toMatch(/ARTIFACT_LINK_SECRET: /);
    expect(problemsOf({ ROUTINES_DEV_TOKEN: 'short' })).toMatch(/ROUTINES_DEV_TOKEN: /);
  });

  it('each kind of bad value is named with what the variable accepts', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL: must be one of debug, info, warn, error'],
      [{ TEMPORAL_TLS: 'maybe' }, 'TEMPORAL_TLS: must be one of true, false, 1, 0, yes, no'],
      [{ GRAPHQL_COMPILED_READS: 'on' }, 'GRAPHQL_COMPILED_READS: must be one of true, false'],
      [{ PORT: '70000' }, 'PORT: must be a whole number from 0 to 65535'],
      [{ PORT: 'eighty' }, 'PORT: must be a whole number from 0 to 65535'],
      [{ WORKER_MEMORY_MB: '1.5' }, 'WORKER_MEMORY_MB: must be a whole number ≥ 1'],
      [{ WORKER_LEASE_MS: '10' }, 'WORKER_LEASE_MS: must be a whole number ≥ 1000'],
      [{ WORKER_WARM_PROCESSES: '-1' }, 'WORKER_WARM_PROCESSES: must be a whole number ≥ 0'],
      [{ DATABASE_URL: 'localhost:5432' }, 'DATABASE_URL: must be a URL like postgresql://user:password@host:5432/database'],
      [{ PUBLIC_URL: 'runs.example.com' }, 'PUBLIC_URL: must be a URL like https://runs.example.com'],
      [{ ARTIFACT_LINK_SECRET: 'short' }, 'ARTIFACT_LINK_SECRET: must be at least 16 characters long'],
      [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL: must be one of http/protobuf, http/json'],
      [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: must be one of http/protobuf, http/json'],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT: must be a URL like http://collector:4318'],
      [
        { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector' },
        'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: must be a URL like http://collector:4318/v1/traces',
      ],
      [{ OTEL_TRACES_EXPORTER: 'jaeger' }, 'OTEL_TRACES_EXPORTER: must be one of otlp, none'],
      [{ OTEL_SDK_DISABLED: 'sure' }, 'OTEL_SDK_DISABLED: must be one of true, false, 1, 0, yes, no'],
    ];
    for (const [source, line] of cases) expect(problemsOf(source).split('\n')).toContain(`  ${line}`);
  });

  it('the OTEL_* variables: off unless an endpoint is set; both OTLP/HTTP encodings accepted', () => {
    const env = loadEnv({});
    expect(env).toMatchObject({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_SDK_DISABLED: false, OTEL_TRACES_EXPORTER: 'otlp' });
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    expect(loadEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/json');
    expect(loadEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://collector:4318');
  });
});
