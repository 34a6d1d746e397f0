// The environment is read once, into a typed Env; a bad value stops the process with every
// problem named, before anything starts.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv } from '../../src/env.ts';

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
    expect(problemsOf({ REDIS_CHANNEL_PREFIX: 'a b' })).toContain('REDIS_CHANNEL_PREFIX: letters, digits, _ . : - only');
  });

  it('secrets have a minimum length', () => {
    expect(problemsOf({ ARTIFACT_LINK_SECRET: 'short' })).toMatch(/ARTIFACT_LINK_SECRET: /);
    expect(problemsOf({ ROUTINES_DEV_TOKEN: 'short' })).toMatch(/ROUTINES_DEV_TOKEN: /);
  });
});
