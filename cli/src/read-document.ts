import { readFile } from 'node:fs/promises';

/**
 * A YAML (or JSON) file as data. The YAML parser is loaded only by the commands that read a file,
 * so that the others start without it.
 */
export async function readDocument(path: string): Promise<unknown> {
  const [{ parse }, text] = await Promise.all([import('yaml'), readFile(path, 'utf8')]);
  return parse(text);
}
