import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempDir } from '../test-support.js';
import { checkProgram } from './program-check.js';

describe('checkProgram', () => {
  let dir: { path: string; remove(): Promise<void> };
  let bin: string;

  beforeEach(async () => {
    dir = await createTempDir('program-check');
    bin = join(dir.path, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'fake-poweroff'), '#!/bin/sh\nexit 0\n');
    await chmod(join(bin, 'fake-poweroff'), 0o755);
    await writeFile(join(bin, 'not-executable'), 'text\n');
    await chmod(join(bin, 'not-executable'), 0o644);
  });
  afterEach(async () => dir.remove());

  const options = () => ({ searchPath: `relative-dir:${join(dir.path, 'empty')}:${bin}`, cwd: dir.path });

  it('accepts an absolute path to an executable file', async () => {
    const path = join(bin, 'fake-poweroff');
    expect(await checkProgram(path, options())).toEqual({
      ok: true,
      path,
      message: `${path} exists and is executable`,
    });
  });

  it('resolves a bare name through PATH, skipping relative and missing folders', async () => {
    expect(await checkProgram('fake-poweroff', options())).toEqual({
      ok: true,
      path: join(bin, 'fake-poweroff'),
      message: `fake-poweroff resolves through PATH to ${join(bin, 'fake-poweroff')}, which is executable`,
    });
  });

  it('resolves a relative path against the working folder', async () => {
    expect(await checkProgram('./bin/fake-poweroff', options())).toMatchObject({
      ok: true,
      message: `./bin/fake-poweroff (${join(bin, 'fake-poweroff')}) exists and is executable`,
    });
  });

  it.each([
    ['a missing file', () => join(bin, 'missing'), /missing does not exist$/],
    [
      'a file without execute permission',
      () => join(bin, 'not-executable'),
      /is not executable by this agent$/,
    ],
    ['a folder', () => bin, /bin is not a regular file$/],
    [
      'a name on no PATH folder',
      () => 'no-such-program',
      /no-such-program is not an executable file in any PATH folder \(searched PATH .*bin\)/,
    ],
    [
      'a PATH-found file without execute permission',
      () => 'not-executable',
      /not-executable is not an executable file in any PATH folder/,
    ],
  ])('refuses %s', async (_what, program, message) => {
    const result = await checkProgram(program(), options());
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(message);
  });

  it('says so when PATH is empty', async () => {
    expect((await checkProgram('poweroff', { searchPath: undefined, cwd: dir.path })).message).toMatch(
      /\(PATH is empty\)/,
    );
  });
});
