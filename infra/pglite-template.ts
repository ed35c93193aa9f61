/**
 * Makes the embedded database's template: an initialised, migrated, empty PGlite data directory for
 * the installed PGlite and the migrations in `--migrations DIR` (default coordinator/drizzle),
 * written beside that folder (coordinator/pglite/), so that a coordinator's first start on the
 * embedded database skips initdb (coordinator/src/db/pglite-template.ts). Run by postinstall in a
 * checkout and by the CLI build, which copies it to dist/cli/pglite/ for the packed program.
 * Does nothing when it exists; `--force` makes it again.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MIGRATIONS_FOLDER } from '../coordinator/src/db/client.js';
import { makePgliteTemplate, pgliteTemplateFile } from '../coordinator/src/db/pglite-template.js';

const { values } = parseArgs({
  options: { migrations: { type: 'string' }, force: { type: 'boolean', default: false } },
});
const migrations = values.migrations === undefined ? MIGRATIONS_FOLDER : resolve(values.migrations);
const file = await pgliteTemplateFile(migrations);
if (existsSync(file) && !values.force) {
  process.stdout.write(`pglite template: ${file} is there\n`);
} else {
  const began = performance.now();
  const made = await makePgliteTemplate(migrations);
  process.stdout.write(
    `pglite template: ${made.file} (${(made.bytes / 2 ** 20).toFixed(1)} MiB) in ${((performance.now() - began) / 1000).toFixed(1)} s\n`,
  );
}
