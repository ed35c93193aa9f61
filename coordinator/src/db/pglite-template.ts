/**
 * The embedded database's first start without initdb: a new data directory is unpacked from a
 * template, an initialised and migrated empty PGlite database (PGlite's own `dumpDataDir` tarball),
 * instead of running initdb (seconds, and ~900 MiB at its peak) and every migration. A template is
 * made for one PGlite version and one set of migrations, by `npm install` in a checkout
 * (postinstall) and by the build of the packed program; without one, PGlite runs initdb as before.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, normalize, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';

/**
 * Where the templates live: beside the migrations folder (coordinator/pglite/ in a checkout, not in
 * git, made by postinstall; dist/cli/pglite/ in the packed program, copied there by its build).
 */
export const templateDirFor = (migrationsFolder: string): string => join(dirname(migrationsFolder), 'pglite');

/**
 * PostgreSQL's default of 128MB of shared buffers lives in PGlite's WebAssembly memory; a
 * coordinator's working set (10,000 hosts and their orders) is a few MB, so 32MB saves memory.
 */
const SHARED_BUFFERS = '32MB';

/** The installed PGlite's version: a template is only ever loaded by the version that made it. */
async function pgliteVersion(): Promise<string> {
  // The package does not export its package.json; it is one level above the entry point's dist/.
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const manifest = JSON.parse(await readFile(join(dirname(entry), '..', 'package.json'), 'utf8')) as {
    version?: unknown;
  };
  if (typeof manifest.version !== 'string') throw new Error('@electric-sql/pglite has no version');
  return manifest.version;
}

/** The template's file for the installed PGlite and these migrations (their journal's digest). */
export async function pgliteTemplateFile(
  migrationsFolder: string,
  dir = templateDirFor(migrationsFolder),
): Promise<string> {
  const journal = await readFile(join(migrationsFolder, 'meta', '_journal.json'));
  const digest = createHash('sha256').update(journal).digest('hex').slice(0, 12);
  return join(dir, `pgdata-${await pgliteVersion()}-${digest}.tar.gz`);
}

/** The template (gzipped tar) for the installed PGlite and these migrations, or undefined. */
export async function readPgliteTemplate(migrationsFolder: string, dir = templateDirFor(migrationsFolder)) {
  const file = await pgliteTemplateFile(migrationsFolder, dir);
  return existsSync(file) ? readFile(file) : undefined;
}

/** Runs initdb and the migrations once, in memory, and writes the template (older ones are removed). */
export async function makePgliteTemplate(
  migrationsFolder: string,
  dir = templateDirFor(migrationsFolder),
): Promise<{ file: string; bytes: number }> {
  const file = await pgliteTemplateFile(migrationsFolder, dir);
  const pg = await PGlite.create();
  try {
    await pg.exec(`alter system set shared_buffers = '${SHARED_BUFFERS}'`);
    await migrate(drizzle(pg), { migrationsFolder });
    const tarball = Buffer.from(await (await pg.dumpDataDir('gzip')).arrayBuffer());
    await mkdir(dir, { recursive: true });
    // Written aside, then renamed: a reader never sees half a tarball.
    await writeFile(`${file}.tmp`, tarball);
    await rename(`${file}.tmp`, file);
    for (const name of readdirSync(dir))
      if (/^pgdata-.*\.tar\.gz$/.test(name) && join(dir, name) !== file) rmSync(join(dir, name));
    return { file, bytes: tarball.length };
  } finally {
    await pg.close();
  }
}

const BLOCK = 512;

/** A tar header's NUL-terminated text field. */
function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

/** The entries of `tar` as files and folders under `root`. */
function unpack(tar: Buffer, root: string): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  for (let offset = 0; offset + BLOCK <= tar.length; ) {
    const header = tar.subarray(offset, offset + BLOCK);
    const name = field(header, 0, 100);
    if (name === '') break; // the zero blocks at the end
    const prefix = field(header, 345, 155);
    const path = prefix === '' ? name : `${prefix}/${name}`;
    const size = Number.parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const target = join(root, normalize(`/${path}`));
    if (!target.startsWith(root + sep)) throw new Error(`pglite template: bad path ${path}`);
    if (type === '5') mkdirSync(target, { recursive: true, mode: 0o700 });
    else if (type === '0' || type === '\0') {
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeFileSync(target, tar.subarray(offset + BLOCK, offset + BLOCK + size), { mode: 0o600 });
    } else throw new Error(`pglite template: unexpected entry type "${type}" for ${path}`);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (!existsSync(join(root, 'PG_VERSION'))) throw new Error('pglite template: no PG_VERSION inside');
}

/**
 * Writes the template's files into `pgdata` (which must not exist yet), through a sibling folder
 * renamed at the end, so an interrupted start never leaves half a database behind. Done here rather
 * than by PGlite's `loadDataDir`, which unpacks the ~40 MB in memory beside a running PostgreSQL (a
 * first start then needed ~130 MiB more than a restart). Reads the ustar subset `dumpDataDir`
 * writes (files and folders); anything else is an error. Folders 0700, files 0600: the database
 * holds the coordinator's signing key.
 */
export async function extractPgliteTemplate(tarGz: Buffer, pgdata: string): Promise<void> {
  const tar = gunzipSync(tarGz);
  const staging = `${pgdata}.loading`;
  await rm(staging, { recursive: true, force: true });
  try {
    unpack(tar, staging);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  await rename(staging, pgdata);
}
