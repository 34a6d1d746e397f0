// Prints the permission matrix (test/access/matrix.ts, itself derived from ACTION_ROLES in
// src/access/roles.ts) as the markdown table of docs/access.md: one row per operation, one column
// per kind of requester. The same table drives test/access-matrix.test.ts, so the docs can show
// only what the test performs. Written between the markers of docs/access.md as Prettier formats
// it, so formatting the docs keeps it as is; `--check` rewrites nothing and exits 1 when it is stale (CI).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { OPERATION_NAMES, OPERATION_RULES, REQUESTERS, expectedOutcome, type OperationRule, type Outcome } from '../test/access/matrix.ts';

const CELL: Record<Outcome, string> = { allowed: '✓', forbidden: 'forbidden', invisible: 'invisible', invalid: 'ValidationError' };

const header = ['operation', 'needs', ...REQUESTERS.map((r) => r.label)];
const rows = OPERATION_NAMES.map((operation) => {
  const rule: OperationRule = OPERATION_RULES[operation];
  return [`\`${operation}\``, rule.exception ? '*' : (rule.action ?? ''), ...REQUESTERS.map((r) => CELL[expectedOutcome(operation, r)])];
});
const exceptions = OPERATION_NAMES.flatMap((operation) => {
  const rule: OperationRule = OPERATION_RULES[operation];
  return [
    ...(rule.exception ? [`- \`${operation}\`: ${rule.exception.why}.`] : []),
    ...(rule.note ? [`- \`${operation}\` (forbidden): ${rule.note}.`] : []),
  ];
});

const markdown = [
  `| ${header.join(' | ')} |`,
  `|${header.map(() => '---').join('|')}|`,
  ...rows.map((row) => `| ${row.join(' | ')} |`),
  '',
  'Columns: the role in the workspace, then `·` the token scope when it is not ADMIN. *needs* is the action of',
  '`ACTION_ROLES`; `*` marks an exception. Exceptions and notes:',
  '',
  ...exceptions,
].join('\n');

const docFile = fileURLToPath(new URL('../docs/access.md', import.meta.url));
const START = '<!-- permissions:start -->';
const END = '<!-- permissions:end -->';
const table = (await prettier.format(markdown, { parser: 'markdown', ...(await prettier.resolveConfig(docFile)) })).trimEnd();
const doc = readFileSync(docFile, 'utf8');
const start = doc.indexOf(START);
const end = doc.indexOf(END);
if (start < 0 || end < start) {
  console.error(`${docFile}: the markers ${START} … ${END} are missing`);
  process.exit(1);
}
const updated = `${doc.slice(0, start + START.length)}\n\n${table}\n\n${doc.slice(end)}`;
if (updated === doc) console.log('docs/access.md: the permission table is current');
else if (process.argv.includes('--check')) {
  console.error('docs/access.md: the permission table is stale: run npm run docs:permissions');
  process.exitCode = 1;
} else {
  writeFileSync(docFile, updated);
  console.log('docs/access.md: permission table written');
}
