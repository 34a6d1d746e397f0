// Prints the permission matrix (test/access/matrix.ts, itself derived from ACTION_ROLES in
// src/access/roles.ts) as the markdown table of docs/access.md: one row per operation, one column
// per kind of requester. The same table drives test/access-matrix.test.ts, so the docs can show
// only what the test performs. Printed as Prettier formats it, so formatting the docs keeps it as is.
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
  return rule.exception ? [`- \`${operation}\`: ${rule.exception.why}.`] : [];
});

const markdown = [
  `| ${header.join(' | ')} |`,
  `|${header.map(() => '---').join('|')}|`,
  ...rows.map((row) => `| ${row.join(' | ')} |`),
  '',
  'Columns: the role in the workspace, then `·` the token scope when it is not ADMIN. *needs* is the action of',
  '`ACTION_ROLES`; `*` marks an exception:',
  '',
  ...exceptions,
].join('\n');

process.stdout.write(await prettier.format(markdown, { parser: 'markdown', ...(await prettier.resolveConfig('docs/access.md')) }));
