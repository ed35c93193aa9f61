import { appendFile, cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER } from './client.js';
import {
  extractPgliteTemplate,
  makePgliteTemplate,
  readPgliteTemplate,
  templateDirFor,
} from './pglite-template.js';

/** A one-entry ustar archive, gzipped. */
function tarWith(name: string, content: string): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write('0000600\0', 100);
  header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('0', 156);
  const body = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  body.write(content);
  return gzipSync(Buffer.concat([header, body, Buffer.alloc(1024)]));
}

describe('the embedded database template', () => {
  let dir: string;
  /** Where this PGlite's template for the real migrations is: the checkout's (postinstall), or made here. */
  let templates: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-template-'));
    templates = templateDirFor(MIGRATIONS_FOLDER);
    if ((await readPgliteTemplate(MIGRATIONS_FOLDER, templates)) === undefined) {
      templates = join(dir, 'templates');
      await makePgliteTemplate(MIGRATIONS_FOLDER, templates);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a new data directory unpacked from it is a migrated database, readable by its owner only', async () => {
    const template = await readPgliteTemplate(MIGRATIONS_FOLDER, templates);
    if (template === undefined) throw new Error('no template');
    const pgdata = join(dir, 'data', 'pgdata');
    await extractPgliteTemplate(template, pgdata);
    expect((await stat(pgdata)).mode & 0o777).toBe(0o700);
    expect((await stat(join(pgdata, 'PG_VERSION'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(pgdata, 'postgresql.auto.conf'), 'utf8')).toMatch(/shared_buffers = '32MB'/);
    const pg = await PGlite.create(pgdata);
    try {
      const { rows } = await pg.query<{ n: number }>('select count(*)::int as n from agents');
      expect(rows).toEqual([{ n: 0 }]);
    } finally {
      await pg.close();
    }
  });

  it('has no template for migrations it was not made with', async () => {
    const other = join(dir, 'other-migrations');
    await cp(MIGRATIONS_FOLDER, other, { recursive: true });
    await appendFile(join(other, 'meta', '_journal.json'), '\n');
    expect(await readPgliteTemplate(MIGRATIONS_FOLDER, templates)).toBeDefined();
    expect(await readPgliteTemplate(other, templates)).toBeUndefined();
  });

  it('refuses an entry that would land outside the data directory, and leaves no data directory', async () => {
    const pgdata = join(dir, 'evil', 'pgdata');
    await expect(extractPgliteTemplate(tarWith('../../escaped', 'x'), pgdata)).rejects.toThrow(
      /no PG_VERSION|bad path/,
    );
    await expect(stat(join(dir, 'escaped'))).rejects.toThrow();
    await expect(stat(pgdata)).rejects.toThrow();
    await expect(stat(`${pgdata}.loading`)).rejects.toThrow();
  });
});
