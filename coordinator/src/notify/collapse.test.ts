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
  let opener: CollapseState['opener'];
  let pending: { digest: Digest; count: number; dueAt: number; text: string } | undefined;
  const flush = (now: number) => {
    if (pending !== undefined && pending.dueAt <= now) {
      sent.push({ at: pending.dueAt, text: pending.text, count: pending.count });
      pending = undefined;
    }
  };
  for (const message of messages) {
    flush(message.at);
    const decision = decideCollapse(message, message.at, { opener, pending }, windowMs);
    if (decision.action === 'send') {
      sent.push({ at: message.at, text: message.text, count: 1 });
      opener = { at: message.at, kind: message.kind };
      pending = undefined;
    } else {
      const digest = decision.message.digest;
      if (digest === undefined) throw new Error('a held message must be a digest');
      expect(decision.merge).toBe(pending !== undefined);
      pending = { digest, count: decision.count, dueAt: decision.dueAt, text: decision.message.text };
    }
  }
  flush(Number.POSITIVE_INFINITY);
  return sent;
}

describe('flapping collapse', () => {
  it('the first message goes out at once; ×6 flaps in the window become ONE digest at its end', () => {
    const flaps = Array.from({ length: 12 }, (_, i) =>
      msg(i % 2 === 0 ? 'onbatt' : 'online', T0 + i * 5 * S),
    );
    expect(play(flaps)).toEqual([
      { at: T0, text: 'onbatt', count: 1 },
      {
        at: T0 + 120 * S,
        text: 'UPS nas-ups power flapping: on battery ×6 in 2 min — now on mains',
        count: 11,
      },
    ]);
  });

  it('after the window, the next message goes out at once again', () => {
    expect(play([msg('onbatt', T0), msg('online', T0 + 150 * S)]).map((s) => s.at)).toEqual([
      T0,
      T0 + 150 * S,
    ]);
  });

  it('a message at the very end of the window opens a new one', () => {
    expect(play([msg('onbatt', T0), msg('online', T0 + 120 * S)]).map((s) => s.text)).toEqual([
      'onbatt',
      'online',
    ]);
  });

  it('a digest left on battery says so', () => {
    const sent = play([msg('onbatt', T0), msg('online', T0 + S), msg('onbatt', T0 + 2 * S)]);
    expect(sent[1]?.text).toBe('UPS nas-ups power flapping: on battery ×2 in 2 min — now on battery');
  });

  it('critical kinds are never held back, even inside a window', () => {
    const lowbatt: Message = { ...msg('onbatt', T0 + S), kind: 'lowbatt', collapseKey: 'power:nas-ups' };
    expect(decideCollapse(lowbatt, T0 + S, { opener: { at: T0, kind: 'onbatt' } })).toEqual({
      action: 'send',
    });
    const stage: Message = { ...msg('onbatt', T0 + S), kind: 'stage-fired' };
    expect(decideCollapse(stage, T0 + S, { opener: { at: T0, kind: 'onbatt' } })).toEqual({ action: 'send' });
  });

  it('a message without a key is sent as it is', () => {
    const { collapseKey: _, ...plain } = msg('onbatt', T0);
    expect(decideCollapse(plain, T0 + S, { opener: { at: T0, kind: 'onbatt' } })).toEqual({ action: 'send' });
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
    ]);
    expect(sent[1]?.text).toBe('UPS nas-ups connection flapping: lost contact ×2 in 2 min — now reachable');
  });
});
