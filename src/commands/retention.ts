// `npm run retention -- [--older-than-days N] [--failed-older-than-days N] [--keep-last N]
//   [--keep-label L]… [--apply]`: the retention policy from a shell or a cron job. Without --apply it
// is a dry run that lists what would be deleted. Deletions are recorded as the `retention` user.
// It is the deployment operator's tool: it acts in every workspace (src/access/access.ts systemAccess).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { systemAccess } from '../access/access.ts';
import type { Env } from '../env.ts';
import { applyRetention } from '../services/apply-retention.ts';
import { withDatabase } from './database.ts';
import { personLog } from './log.ts';

const USAGE = 'usage: npm run retention -- [--older-than-days N] [--failed-older-than-days N] [--keep-last N] [--keep-label L]… [--apply]';

export async function retentionCommand({ env, args }: { env: Env; args: string[] }): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'older-than-days': { type: 'string' },
      'failed-older-than-days': { type: 'string' },
      'keep-last': { type: 'string' },
      'keep-label': { type: 'string', multiple: true },
      apply: { type: 'boolean', default: false },
    },
  });
  const number = (value: string | undefined) => {
    if (value === undefined) return null;
    if (!/^\d+(\.\d+)?$/.test(value)) throw new Error(`${JSON.stringify(value)} is not a number\n${USAGE}`);
    return Number(value);
  };
  const policy = {
    olderThanDays: number(values['older-than-days']),
    failedOlderThanDays: number(values['failed-older-than-days']),
    keepLastPerInstance: number(values['keep-last']),
    keepLabels: values['keep-label'] ?? [],
  };
  if (policy.olderThanDays === null && policy.keepLastPerInstance === null) throw new Error(USAGE);
  const log = personLog('retention');
  await withDatabase({ env }, async ({ db }) => {
    const user = await db.user.upsert({ where: { name: 'retention' }, create: { name: 'retention' }, update: {} });
    const result = await applyRetention(
      { db, storageRoot: path.join(env.dataDir, 'storage') },
      { access: await systemAccess(db, user), policy, dryRun: !values.apply },
    );
    for (const run of result.candidates) {
      console.log(
        `${run.id}  ${run.status.padEnd(9)}  finished ${(run.finishedAt ?? run.createdAt).toISOString()}  instance ${run.instanceId}`,
      );
    }
    if (result.matchedCount > result.candidates.length) console.log(`… and ${result.matchedCount - result.candidates.length} more`);
    log(
      result.dryRun
        ? `dry run: ${result.matchedCount} run(s) would be deleted; add --apply to delete them`
        : `deleted ${result.deletedCount} run(s) with their events, logs and files`,
    );
  });
}
