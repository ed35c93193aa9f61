import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, resolve } from 'node:path';
import { errorMessage } from '../../../shared/src/errors.js';

/** Whether argv[0] would start, as spawn (execvp) finds it: a path as given, or a bare name through PATH. */
export type ProgramCheck =
  | { readonly ok: true; readonly path: string; readonly message: string }
  | { readonly ok: false; readonly message: string };

export interface ProgramCheckOptions {
  /** The PATH spawn would search (`process.env.PATH`). */
  readonly searchPath: string | undefined;
  /** What a relative path such as `./bin/off` is resolved against (`process.cwd()`). */
  readonly cwd: string;
}

/** Why `path` cannot be executed by this process, or undefined when it can. */
async function problemWith(path: string): Promise<string | undefined> {
  try {
    if (!(await stat(path)).isFile()) return 'is not a regular file';
    await access(path, constants.X_OK);
    return undefined;
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'does not exist';
    if (code === 'EACCES') return 'is not executable by this agent';
    return `cannot be checked: ${errorMessage(error)}`;
  }
}

export async function checkProgram(program: string, options: ProgramCheckOptions): Promise<ProgramCheck> {
  if (program.includes('/')) {
    const path = isAbsolute(program) ? program : resolve(options.cwd, program);
    const problem = await problemWith(path);
    const named = path === program ? program : `${program} (${path})`;
    return problem === undefined
      ? { ok: true, path, message: `${named} exists and is executable` }
      : { ok: false, message: `${named} ${problem}` };
  }
  // Like execvp, but without the empty (= current folder) entries: a shutdown never comes from there.
  const dirs = (options.searchPath ?? '').split(delimiter).filter((dir) => isAbsolute(dir));
  for (const dir of dirs) {
    const path = resolve(dir, program);
    if ((await problemWith(path)) === undefined) {
      return { ok: true, path, message: `${program} resolves through PATH to ${path}, which is executable` };
    }
  }
  const where = dirs.length === 0 ? 'PATH is empty' : `searched PATH ${dirs.join(delimiter)}`;
  return { ok: false, message: `${program} is not an executable file in any PATH folder (${where})` };
}
