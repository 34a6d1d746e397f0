// The Redis that tests with REDIS_URL use (TEST_REDIS_URL, default the local server), a channel
// prefix of their own so parallel test files never hear each other, and a way to drop exactly
// their own connections (CLIENT KILL), as a network failure would.
import { randomBytes } from 'node:crypto';
import { createClient } from '@redis/client';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function testChannelPrefix(): string {
  return `rr-test-${randomBytes(6).toString('hex')}`;
}

function newClient() {
  return createClient({ url: TEST_REDIS_URL });
}

export type TestRedisClient = ReturnType<typeof newClient>;

export async function testRedisClient(): Promise<TestRedisClient> {
  const client = newClient();
  client.on('error', () => {}); // the tests kill connections on purpose
  await client.connect();
  return client;
}

/** Kills the connections named `{prefix}:{role}` (role: subscriber, publisher or both); returns how many. */
export async function killConnections(redis: TestRedisClient, prefix: string, role?: 'subscriber' | 'publisher'): Promise<number> {
  const list = String(await redis.sendCommand(['CLIENT', 'LIST']));
  const ids = list
    .split('\n')
    .map((line) => ({ id: /\bid=(\d+)/.exec(line)?.[1], name: /\bname=(\S*)/.exec(line)?.[1] ?? '' }))
    .filter(({ id, name }) => id && (role ? name === `${prefix}:${role}` : name.startsWith(`${prefix}:`)))
    .map(({ id }) => id!);
  for (const id of ids) await redis.sendCommand(['CLIENT', 'KILL', 'ID', id]);
  return ids.length;
}
