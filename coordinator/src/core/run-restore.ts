/**
 * The restoring phase of a run: mains back and stable for `restore.stableFor`, every UPS charged to
 * `restore.minCharge`, then the hosts that went down are woken one at a time in `restore.wake`
 * order; each gets `wakeTimeout` to reconnect (back) before the next, or is recorded missing.
 */
import type { EngineState, IsConnected, UpsView } from './engine-state.js';
import type { Policy } from './policy.js';
import type { Draft, DraftRun, Pass } from './run-stages.js';

function stableSince(policy: Policy, ups: Readonly<Record<string, UpsView>>): number | 'not-yet' {
  let latest = 0;
  for (const name of policy.ups.keys()) {
    const view = ups[name];
    if (view === undefined) continue; // never heard from: counts as on mains, as in upsmon
    if (view.power !== 'online' || view.fsd || view.onlineSince === undefined) return 'not-yet';
    if (view.charge !== undefined && view.charge < policy.restore.minCharge) return 'not-yet';
    latest = Math.max(latest, view.onlineSince);
  }
  return latest;
}

/** Advances the restore; 'done' when every host to wake came back or was given up on. */
export function evaluateRestore(
  policy: Policy,
  state: Draft<EngineState>,
  run: DraftRun,
  now: number,
  pass: Pass,
  connected: IsConnected,
): 'done' | 'waiting' {
  const restore = run.restore;
  if (restore === undefined) return 'done';
  // Hosts still shutting down finish first (each is down by its grace at the latest).
  if (Object.values(run.hosts).some((host) => host.status !== 'down')) return 'waiting';
  const since = stableSince(policy, state.ups);
  if (since === 'not-yet') return 'waiting';
  const stableAt = Math.max(since, restore.since) + policy.restore.stableFor;
  if (now < stableAt) {
    pass.wakes.push(stableAt);
    return 'waiting';
  }
  const toWake = policy.restore.wake.filter(
    (host) => run.hosts[host]?.status === 'down' && run.hosts[host]?.downHow !== 'drill',
  );
  for (const host of toWake) {
    const woken = restore.woken[host];
    if (woken === undefined && connected(host) === true) {
      // It came back on its own (e.g. power-on after AC loss): nothing to wake.
      restore.woken[host] = { at: now, back: now };
      pass.effects.push({ kind: 'host-back', run: run.number, host });
      continue;
    }
    if (woken === undefined) {
      restore.woken[host] = { at: now };
      pass.effects.push({ kind: 'wake', run: run.number, host });
      pass.wakes.push(now + policy.restore.wakeTimeout);
      return 'waiting';
    }
    if (woken.back !== undefined || woken.missing !== undefined) continue;
    const giveUp = woken.at + policy.restore.wakeTimeout;
    if (now < giveUp) {
      pass.wakes.push(giveUp);
      return 'waiting';
    }
    restore.woken[host] = { ...woken, missing: true };
    pass.effects.push({ kind: 'host-missing', run: run.number, host });
  }
  return 'done';
}
