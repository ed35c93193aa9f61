import { describe, expect, it } from 'vitest';
import { findNutAccountClash, type NutAccountShape } from './nut-accounts.js';

const dsm = (name: string, from: string[] | null): NutAccountShape => ({ name, username: 'monuser', from });

describe('NUT accounts sharing a username', () => {
  it('may share it when each is bound to addresses that do not overlap', () => {
    expect(findNutAccountClash(dsm('nas3', ['127.0.0.3']), [dsm('nas2', ['127.0.0.2'])])).toBeUndefined();
    expect(
      findNutAccountClash(dsm('nas3', ['192.0.2.128/25']), [dsm('nas2', ['192.0.2.0/25', '2001:db8::1'])]),
    ).toBeUndefined();
    // Another username, or the account's own earlier version, is no clash.
    expect(findNutAccountClash(dsm('nas2', null), [dsm('nas2', ['127.0.0.2'])])).toBeUndefined();
    expect(
      findNutAccountClash(dsm('nas2', null), [{ name: 'nas3', username: 'nas3', from: null }]),
    ).toBeUndefined();
  });

  it('may not when either has no addresses, or theirs overlap; the error names the other account', () => {
    const unbound = findNutAccountClash(dsm('nas3', null), [dsm('nas2', ['127.0.0.2'])]);
    expect(unbound?.code).toBe('unprocessable');
    expect(unbound?.message).toBe(
      'NUT username "monuser" is already used by account "nas2" (from 127.0.0.2): accounts sharing a username must each be bound to their client\'s addresses (--from ADDR)',
    );
    expect(unbound?.details).toEqual({
      clash: { account: 'nas2', username: 'monuser', from: ['127.0.0.2'] },
    });
    expect(findNutAccountClash(dsm('nas3', ['127.0.0.3']), [dsm('nas2', null)])?.message).toContain(
      'which is not bound to addresses: give "nas2" its client\'s addresses (--from ADDR) first',
    );
    expect(
      findNutAccountClash(dsm('nas3', ['127.0.0.0/24']), [dsm('nas2', ['127.0.0.2'])])?.message,
    ).toContain('127.0.0.0/24 overlaps 127.0.0.2, so a LOGIN from there could be either account');
    // A username that is another account's name is shared too.
    expect(
      findNutAccountClash({ name: 'nas3', username: 'nas2', from: null }, [
        { name: 'nas2', username: 'nas2', from: null },
      ])?.details,
    ).toEqual({ clash: { account: 'nas2', username: 'nas2', from: null } });
  });
});
