import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config.js';
import { adminTokenBinding, fleetsOf, loadEdgeConfig, routeToFleet } from './edge-config.js';
import { migrationsForSchema, schemaOfFleet } from './edge-database.js';

const TOKEN = 'edge-admin-token-0123456789abcdef';

describe('fleets at the edge', () => {
  const fleets = new Set(['site-b']);

  it('serves the default fleet at the root and the others under /fleets/<name>', () => {
    expect(routeToFleet('/api/v1/status', fleets)).toEqual({ fleet: 'default', path: '/api/v1/status' });
    expect(routeToFleet('/fleets/site-b/agent/v1/ws', fleets)).toEqual({
      fleet: 'site-b',
      path: '/agent/v1/ws',
    });
    expect(routeToFleet('/fleets/site-b', fleets)).toEqual({ fleet: 'site-b', path: '/' });
    expect(routeToFleet('/fleets/site-c/healthz', fleets)).toBeUndefined();
    expect(routeToFleet('/fleets/default/healthz', fleets)).toBeUndefined();
  });

  it('reads UPSFLEET_FLEETS and refuses bad names, all at once', () => {
    expect([...fleetsOf({ UPSFLEET_FLEETS: ' site-b, site-c ,' })]).toEqual(['site-b', 'site-c']);
    expect(fleetsOf({})).toEqual(new Set());
    expect(() => fleetsOf({ UPSFLEET_FLEETS: 'Site_B,default,-x' })).toThrow(
      expect.objectContaining({ problems: expect.arrayContaining([expect.stringContaining('"Site_B"')]) }),
    );
  });

  it('gives each fleet its own admin token secret and PostgreSQL schema', () => {
    expect(adminTokenBinding('default')).toBe('UPSFLEET_ADMIN_TOKEN');
    expect(adminTokenBinding('site-b')).toBe('UPSFLEET_ADMIN_TOKEN_SITE_B');
    expect(schemaOfFleet('default')).toBe('public');
    expect(schemaOfFleet('site-b')).toBe('fleet_site_b');
    const [migration] = migrationsForSchema(
      [{ sql: ['CREATE TYPE "public"."power" AS ENUM(\'battery\')'], bps: true, folderMillis: 1, hash: 'h' }],
      'fleet_site_b',
    );
    expect(migration?.sql).toEqual(['CREATE TYPE "fleet_site_b"."power" AS ENUM(\'battery\')']);
  });

  it('needs the database and the fleet admin token; lists every problem', () => {
    const config = loadEdgeConfig(
      {
        HYPERDRIVE: { connectionString: 'postgres://h/db' },
        UPSFLEET_ADMIN_TOKEN_SITE_B: TOKEN,
        UPSFLEET_HEARTBEAT: '30s',
      },
      'site-b',
    );
    expect(config).toMatchObject({ fleet: 'site-b', databaseUrl: 'postgres://h/db', adminToken: TOKEN });
    expect(config.coordinator.heartbeatMs).toBe(30_000);
    let error: unknown;
    try {
      loadEdgeConfig({ UPSFLEET_ADMIN_TOKEN: 'short', UPSFLEET_HEARTBEAT: '2m' }, 'default');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'DATABASE_URL: required at the edge (or a HYPERDRIVE binding)',
      expect.stringMatching(/^UPSFLEET_ADMIN_TOKEN: must be at least 24 characters/),
      expect.stringMatching(/^UPSFLEET_HEARTBEAT: at most 30s/),
    ]);
    expect(() => loadEdgeConfig({ DATABASE_URL: 'postgres://h/db' }, 'site-b')).toThrow(
      /UPSFLEET_ADMIN_TOKEN_SITE_B: required at the edge \(wrangler secret put UPSFLEET_ADMIN_TOKEN_SITE_B\)/,
    );
  });
});
