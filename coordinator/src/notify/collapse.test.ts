import { describe, expect, it } from 'vitest';
import { type CollapseState, type Digest, decideCollapse } from './collapse.js';
import type { Message } from './messages.js';

const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const S = 1_000;
const msg = (kind: Message['kind'], at: number): Message => ({
  kind,
  severity: kind === 'onbatt' ? 'warning' : 'info',
  title: kind,
  text: kind,
  markdown: kind,
  at,
  ups: 'nas-ups',
  collapseKey: 'power:nas-ups',
});

/** Applies decisions the way the outbox does, and returns what would be sent and when. */
function play(messages: readonly Message[], windowMs = 120 * S) {
  const sent: { at: number; text: string; count: number }[] = [];
  /** The messages sent at once (not digests), as the outbox rows the query reads. */
  const immediate: { at: number; kind: string }[] = [];
  let pending: { digest: Digest; count: number; dueAt: number; createdAt: number; text: string } | undefined;
  const flush = (now: number) => {
    if (pending !== undefined && pending.dueAt <= now) {
      sent.push({ at: pending.dueAt, text: pending.text, count: pending.count });
      pending = undefined;
    }
  };
  for (const message of messages) {
    const now = message.at;
    flush(now);
    // As collapseState: the immediate messages in (now - window, now]; the latest one is the opener,
    // how many there are is recentSent, and an unsent digest written since the opener is pending.
    const recent = immediate.filter((m) => m.at > now - windowMs && m.at <= now);
    const opener = recent[recent.length - 1];
    const state: CollapseState =
      opener === undefined
        ? {}
        : {
            opener,
            recentSent: recent.length,
            ...(pending !== undefined && pending.createdAt >= opener.at
              ? { pending: { digest: pending.digest, count: pending.count } }
              : {}),
          };
    const decision = decideCollapse(message, now, state, windowMs);
    if (decision.action === 'send') {
      sent.push({ at: now, text: message.text, count: 1 });
      immediate.push({ at: now, kind: message.kind });
    } else {
      const digest = decision.message.digest;
      if (digest === undefined) throw new Error('a held message must be a digest');
      expect(decision.merge).toBe(state.pending !== undefined);
      expect(decision.dueAt).toBe((opener?.at ?? Number.NaN) + windowMs);
      pending = {
        digest,
        count: decision.count,
        dueAt: decision.dueAt,
        createdAt: decision.merge && pending !== undefined ? pending.createdAt : now,
        text: decision.message.text,
      };
    }
  }
  flush(Number.POSITIVE_INFINITY);
  return sent;
}

describe('flapping collapse', () => {
  it('the first two messages go out at once; the rest of ×6 flaps in the window become ONE digest at its end', () => {
    const flaps = Array.from({ length: 12 }, (_, i) =>
      msg(i % 2 === 0 ? 'onbatt' : 'online', T0 + i * 5 * S),
    );
    expect(play(flaps)).toEqual([
      { at: T0, text: 'onbatt', count: 1 },
      { at: T0 + 5 * S, text: 'online', count: 1 },
      {
        at: T0 + 5 * S + 120 * S,
        text: 'UPS nas-ups power flapping: on battery ×5 in 2 min — now on mains',
        count: 10,
      },
    ]);
  });

  it('an outage and its end are news: on battery, then power back, both at once', () => {
    expect(play([msg('onbatt', T0), msg('online', T0 + 30 * S)])).toEqual([
      { at: T0, text: 'onbatt', count: 1 },
      { at: T0 + 30 * S, text: 'online', count: 1 },
    ]);
  });

  it('a single ONLINE followed by an ONBATT within the window sends both at once', () => {
    expect(play([msg('online', T0), msg('onbatt', T0 + 10 * S)])).toEqual([
      { at: T0, text: 'online', count: 1 },
      { at: T0 + 10 * S, text: 'onbatt', count: 1 },
    ]);
    // A power cut right after a report of mains is never delayed by the window, recentSent given or not.
    const opener = { at: T0, kind: 'online' };
    expect(decideCollapse(msg('onbatt', T0 + 10 * S), T0 + 10 * S, { opener, recentSent: 1 })).toEqual({
      action: 'send',
    });
    expect(decideCollapse(msg('onbatt', T0 + 10 * S), T0 + 10 * S, { opener })).toEqual({ action: 'send' });
  });

  it('the third message in the window is held until the window of the latest immediate one ends', () => {
    const decision = decideCollapse(msg('onbatt', T0 + 2 * S), T0 + 2 * S, {
      opener: { at: T0 + S, kind: 'online' },
      recentSent: 2,
    });
    expect(decision).toMatchObject({ action: 'hold', merge: false, dueAt: T0 + 121 * S, count: 1 });
  });

  it('after the window, the next message goes out at once again', () => {
    expect(
      play([msg('onbatt', T0), msg('online', T0 + S), msg('onbatt', T0 + 150 * S)]).map((s) => s.at),
    ).toEqual([T0, T0 + S, T0 + 150 * S]);
  });

  it('a message at the very end of the window opens a new one; one just before it is merged', () => {
    const flap = [msg('onbatt', T0), msg('online', T0 + S), msg('onbatt', T0 + 2 * S)];
    expect(play([...flap, msg('online', T0 + 121 * S)])).toEqual([
      { at: T0, text: 'onbatt', count: 1 },
      { at: T0 + S, text: 'online', count: 1 },
      {
        at: T0 + 121 * S,
        text: 'UPS nas-ups power flapping: on battery ×1 in 2 min — now on battery',
        count: 1,
      },
      { at: T0 + 121 * S, text: 'online', count: 1 },
    ]);
    expect(play([...flap, msg('online', T0 + 121 * S - 1)])).toEqual([
      { at: T0, text: 'onbatt', count: 1 },
      { at: T0 + S, text: 'online', count: 1 },
      {
        at: T0 + 121 * S,
        text: 'UPS nas-ups power flapping: on battery ×1 in 2 min — now on mains',
        count: 2,
      },
    ]);
  });

  it('the window slides: only immediate messages inside it count towards holding', () => {
    const sent = play([
      msg('onbatt', T0),
      msg('online', T0 + 100 * S),
      // T0 has left the window: one immediate message in it, so this one goes out at once too.
      msg('onbatt', T0 + 130 * S),
      // Two in the window now (T0 + 100 s and T0 + 130 s): held until T0 + 130 s + 2 min.
      msg('online', T0 + 140 * S),
    ]);
    expect(sent).toEqual([
      { at: T0, text: 'onbatt', count: 1 },
      { at: T0 + 100 * S, text: 'online', count: 1 },
      { at: T0 + 130 * S, text: 'onbatt', count: 1 },
      {
        at: T0 + 250 * S,
        text: 'UPS nas-ups power flapping: on battery ×1 in 2 min — now on mains',
        count: 1,
      },
    ]);
  });

  it('a digest left on battery says so', () => {
    const sent = play([
      msg('onbatt', T0),
      msg('online', T0 + S),
      msg('onbatt', T0 + 2 * S),
      msg('online', T0 + 3 * S),
      msg('onbatt', T0 + 4 * S),
    ]);
    expect(sent.map((s) => s.text)).toEqual([
      'onbatt',
      'online',
      'UPS nas-ups power flapping: on battery ×2 in 2 min — now on battery',
    ]);
    expect(sent[2]).toMatchObject({ at: T0 + 121 * S, count: 3 });
  });

  it('critical kinds are never held back, even when the window holds the rest', () => {
    const state: CollapseState = { opener: { at: T0, kind: 'onbatt' }, recentSent: 2 };
    expect(decideCollapse(msg('online', T0 + S), T0 + S, state)).toMatchObject({ action: 'hold' });
    const lowbatt: Message = { ...msg('onbatt', T0 + S), kind: 'lowbatt', collapseKey: 'power:nas-ups' };
    expect(decideCollapse(lowbatt, T0 + S, state)).toEqual({ action: 'send' });
    const stage: Message = { ...msg('onbatt', T0 + S), kind: 'stage-fired' };
    expect(decideCollapse(stage, T0 + S, state)).toEqual({ action: 'send' });
  });

  it('a message without a key is sent as it is', () => {
    const { collapseKey: _, ...plain } = msg('onbatt', T0);
    expect(decideCollapse(plain, T0 + S, { opener: { at: T0, kind: 'onbatt' }, recentSent: 2 })).toEqual({
      action: 'send',
    });
  });

  it('connection flapping reads as such', () => {
    const comm = (kind: 'commbad' | 'commok', at: number): Message => ({
      ...msg(kind, at),
      collapseKey: 'comm:nas-ups',
    });
    const sent = play([
      comm('commbad', T0),
      comm('commok', T0 + S),
      comm('commbad', T0 + 2 * S),
      comm('commok', T0 + 3 * S),
      comm('commbad', T0 + 4 * S),
      comm('commok', T0 + 5 * S),
    ]);
    expect(sent.map((s) => s.text)).toEqual([
      'commbad',
      'commok',
      'UPS nas-ups connection flapping: lost contact ×2 in 2 min — now reachable',
    ]);
    expect(sent[2]).toMatchObject({ at: T0 + 121 * S, count: 4 });
  });
});
