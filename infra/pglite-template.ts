/**
 * `npm install` (postinstall) and `npm run build`: makes the embedded database's template, an
 * initialised, migrated, empty PGlite data directory for the installed PGlite and migrations, so that a coordinator's
 * first start on the embedded database skips initdb (coordinator/src/db/pglite-template.ts).
 * Does nothing when it exists; `--force` makes it again.
 */
import { existsSync } from 'node:fs';
import { MIGRATIONS_FOLDER } from '../coordinator/src/db/client.js';
import { makePgliteTemplate, pgliteTemplateFile } from '../coordinator/src/db/pglite-template.js';

const file = await pgliteTemplateFile(MIGRATIONS_FOLDER);
if (existsSync(file) && !process.argv.includes('--force')) {
  process.stdout.write(`pglite template: ${file} is there\n`);
} else {
  const began = performance.now();
  const made = await makePgliteTemplate(MIGRATIONS_FOLDER);
  process.stdout.write(
    `pglite template: ${made.file} (${(made.bytes / 2 ** 20).toFixed(1)} MiB) in ${((performance.now() - began) / 1000).toFixed(1)} s\n`,
  );
}
