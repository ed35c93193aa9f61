/**
 * The agent-token replay guard's and the admin throttle's stores at the edge, in the fleet object's
 * own SQLite storage (`ctx.storage.sql`) rather than in its memory: an eviction or a workerd
 * restart would otherwise forget them, and a replayed connect token or a guesser's count would
 * start afresh. The API is synchronous and its writes are committed with the object's output (a
 * response leaves only once they are stored). Records expire: they are pruned lazily by the calls
 * that read or write them, so no alarm is needed (the object's one alarm is the scheduler's).
 */
import type { ThrottleStore } from '../../../shared/src/auth-throttle.js';
import type { ReplayStore } from '../../../shared/src/signing.js';
import type { DurableObjectStorage } from './workerd-types.js';

type GuardStorage = Pick<DurableObjectStorage, 'sql' | 'transactionSync'>;

const count = (storage: GuardStorage, query: string, ...bindings: (string | number)[]) =>
  Number(storage.sql.exec<{ n: number }>(query, ...bindings).one().n);

/** Ids of used tokens until they expire, at most `maxEntries` live ones (then it refuses new ids). */
export function createDurableReplayStore(
  storage: GuardStorage,
  options: { maxEntries?: number } = {},
): ReplayStore {
  const maxEntries = options.maxEntries ?? 100_000;
  storage.sql.exec(
    'CREATE TABLE IF NOT EXISTS replay_guard (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)',
  );
  storage.sql.exec('CREATE INDEX IF NOT EXISTS replay_guard_expiry ON replay_guard (expires_at)');
  return {
    claim(id, expiresAt, now) {
      return storage.transactionSync(() => {
        storage.sql.exec('DELETE FROM replay_guard WHERE expires_at <= ?', now);
        if (count(storage, 'SELECT count(*) AS n FROM replay_guard WHERE id = ?', id) > 0) return 'seen';
        if (count(storage, 'SELECT count(*) AS n FROM replay_guard') >= maxEntries) return 'full';
        storage.sql.exec('INSERT INTO replay_guard (id, expires_at) VALUES (?, ?)', id, expiresAt);
        return 'claimed';
      });
    },
    get size() {
      return count(storage, 'SELECT count(*) AS n FROM replay_guard');
    },
  };
}

/**
 * Failure times per client address. Every throttle shares one window, so a failure older than the
 * window asked about is of no use to any address and is pruned. At most `maxRows` are kept (the
 * oldest dropped first), so a flood of addresses cannot fill the object's storage.
 */
export function createDurableThrottleStore(
  storage: GuardStorage,
  options: { maxRows?: number } = {},
): ThrottleStore {
  const maxRows = options.maxRows ?? 100_000;
  storage.sql.exec('CREATE TABLE IF NOT EXISTS auth_failures (key TEXT NOT NULL, at INTEGER NOT NULL)');
  storage.sql.exec('CREATE INDEX IF NOT EXISTS auth_failures_key ON auth_failures (key, at)');
  storage.sql.exec('CREATE INDEX IF NOT EXISTS auth_failures_at ON auth_failures (at)');
  return {
    recent(key, since) {
      storage.sql.exec('DELETE FROM auth_failures WHERE at <= ?', since);
      return storage.sql
        .exec<{ at: number }>('SELECT at FROM auth_failures WHERE key = ? ORDER BY at', key)
        .toArray()
        .map((row) => Number(row.at));
    },
    record(key, at, keep) {
      storage.transactionSync(() => {
        storage.sql.exec('INSERT INTO auth_failures (key, at) VALUES (?, ?)', key, at);
        storage.sql.exec(
          `DELETE FROM auth_failures WHERE key = ? AND rowid NOT IN
             (SELECT rowid FROM auth_failures WHERE key = ? ORDER BY at DESC, rowid DESC LIMIT ?)`,
          key,
          key,
          keep,
        );
        const excess = count(storage, 'SELECT count(*) AS n FROM auth_failures') - maxRows;
        if (excess > 0)
          storage.sql.exec(
            'DELETE FROM auth_failures WHERE rowid IN (SELECT rowid FROM auth_failures ORDER BY at, rowid LIMIT ?)',
            excess,
          );
      });
    },
    forget(key) {
      storage.sql.exec('DELETE FROM auth_failures WHERE key = ?', key);
    },
  };
}
