import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './coordinator/src/db/schema.ts',
  out: './coordinator/drizzle',
  casing: 'snake_case',
});
