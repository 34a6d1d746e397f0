#!/usr/bin/env node
// Runs the Prisma CLI so that it works without Prisma's binary download site.
// `prisma generate` with the "client" engine never executes the native engines, but the CLI
// still insists that their files exist: point it at an existing file unless the user set real ones.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const placeholder = fileURLToPath(new URL('../package.json', import.meta.url));
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? placeholder,
  PRISMA_QUERY_ENGINE_LIBRARY: process.env.PRISMA_QUERY_ENGINE_LIBRARY ?? placeholder,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
};
const result = spawnSync('npx', ['prisma', ...process.argv.slice(2)], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
