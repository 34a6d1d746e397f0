// Prisma CLI configuration. Migration SQL is generated through Prisma's JS (wasm) schema engine
// with a driver adapter, because the native engine cannot be downloaded on offline build machines
// (see docs/operations.md: "Migrations"). Runtime queries always go through @prisma/adapter-pg.
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  async adapter() {
    return new PrismaPg({ connectionString: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres' });
  },
});
