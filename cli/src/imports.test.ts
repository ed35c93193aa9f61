import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('.', import.meta.url));

describe('the CLI', () => {
  it('imports nothing from the coordinator: it knows the server only through shared/', () => {
    const offending = readdirSync(dir)
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) =>
        [...readFileSync(`${dir}/${file}`, 'utf8').matchAll(/from '([^']+)'/g)]
          .map((match) => match[1] ?? '')
          .filter((path) => path.includes('coordinator/'))
          .map((path) => `${file}: ${path}`),
      );
    expect(offending).toEqual([]);
  });
});
