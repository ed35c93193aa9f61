import { describe, expect, it } from 'vitest';
import { generateNutPassword, hashNutPassword, verifyNutPassword } from './nut-password.js';

describe('NUT account passwords', () => {
  it('are 20 plain letters and digits, different every time', () => {
    const a = generateNutPassword();
    expect(a).toMatch(/^[A-Za-z2-9]{20}$/);
    expect(generateNutPassword()).not.toBe(a);
  });

  it('verify against their hash only, and the hash is salted', async () => {
    const password = generateNutPassword();
    const hash = await hashNutPassword(password);
    expect(hash).toMatch(/^pbkdf2-sha256\$100000\$[\w-]+\$[\w-]{43}$/);
    expect(hash).not.toContain(password);
    expect(await hashNutPassword(password)).not.toBe(hash);
    expect(await verifyNutPassword(password, hash)).toBe(true);
    expect(await verifyNutPassword(`${password}x`, hash)).toBe(false);
    expect(await verifyNutPassword(password, 'plain')).toBe(false);
    expect(await verifyNutPassword(password, 'pbkdf2-sha256$0$a$b')).toBe(false);
  });
});
