// Writes the environment table of docs/operations.md from src/env.ts, so the variables, their
// defaults and their meaning have one home. Defaults come from the zod schema itself (an
// expression like 64 * 1024 * 1024 is shown as the value the service gets); descriptions are the
// `/** … */` comments above each key, read with the TypeScript compiler API because zod does not
// see comments. The table is written as Prettier formats it, so formatting the docs does not make
// it stale. `--check` rewrites nothing and exits 1 when the table is stale (CI).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import ts from 'typescript';
import { schema } from '../src/env.ts';

const envFile = fileURLToPath(new URL('../src/env.ts', import.meta.url));
const docFile = fileURLToPath(new URL('../docs/operations.md', import.meta.url));
const START = '<!-- env-table:start -->';
const END = '<!-- env-table:end -->';

/** The doc comment of every key of `const schema = z.object({ … })`, in source order. */
function describedKeys(source: string): Array<{ name: string; description: string | null }> {
  const file = ts.createSourceFile(envFile, source, ts.ScriptTarget.Latest, true);
  const find = (node: ts.Node): ts.ObjectLiteralExpression | undefined => {
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.name.text === 'schema' &&
      node.initializer &&
      ts.isCallExpression(node.initializer) &&
      node.initializer.arguments[0] &&
      ts.isObjectLiteralExpression(node.initializer.arguments[0])
    ) {
      return node.initializer.arguments[0];
    }
    return ts.forEachChild(node, find);
  };
  const object = find(file);
  if (!object) throw new Error(`${envFile}: no \`const schema = z.object({ … })\` found`);
  return object.properties.map((property) => {
    if (!property.name || !(ts.isIdentifier(property.name) || ts.isStringLiteral(property.name))) {
      throw new Error(`${envFile}: a key of the schema that is not a plain name: ${property.getText()}`);
    }
    const comments = ts.getLeadingCommentRanges(source, property.getFullStart()) ?? [];
    const doc = comments
      .map((range) => source.slice(range.pos, range.end))
      .filter((text) => text.startsWith('/**'))
      .at(-1);
    return { name: property.name.text, description: doc ? commentText(doc) : null };
  });
}

function commentText(doc: string): string {
  return doc
    .replace(/^\/\*\*/, '')
    .replace(/\*\/$/, '')
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, '').trim())
    .filter(Boolean)
    .join(' ');
}

function defaultOf(name: string): string {
  const parsed = schema.shape[name as keyof typeof schema.shape].safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return 'unset';
  const value = parsed.data;
  if (typeof value === 'number' && value >= 1024 * 1024 && value % (1024 * 1024) === 0 && name.endsWith('_BYTES')) {
    return `\`${value}\` (${value / (1024 * 1024)} MiB)`;
  }
  return `\`${String(value)}\``;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

async function table(source: string): Promise<string> {
  const keys = describedKeys(source);
  const undocumented = keys.filter((key) => !key.description).map((key) => key.name);
  if (undocumented.length > 0) {
    throw new Error(`${envFile}: every variable needs a /** … */ comment; missing: ${undocumented.join(', ')}`);
  }
  const inSchema = Object.keys(schema.shape).sort().join(',');
  const inSource = keys
    .map((key) => key.name)
    .sort()
    .join(',');
  if (inSchema !== inSource) throw new Error(`${envFile}: the parsed keys differ from the schema's keys`);
  const rows = keys.map((key) => `| \`${key.name}\` | ${defaultOf(key.name)} | ${cell(key.description ?? '')} |`);
  const markdown = ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
  const options = (await prettier.resolveConfig(docFile)) ?? {};
  return (await prettier.format(markdown, { ...options, parser: 'markdown' })).trimEnd();
}

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  const doc = readFileSync(docFile, 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) {
    console.error(`${docFile}: the markers ${START} … ${END} are missing`);
    return 1;
  }
  const updated = `${doc.slice(0, start + START.length)}\n\n${await table(readFileSync(envFile, 'utf8'))}\n\n${doc.slice(end)}`;
  if (updated === doc) {
    console.log('docs/operations.md: the environment table is current');
  } else if (check) {
    console.error('docs/operations.md: the environment table is stale: run npm run docs:env');
    return 1;
  } else {
    writeFileSync(docFile, updated);
    console.log('docs/operations.md: environment table written');
  }
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
