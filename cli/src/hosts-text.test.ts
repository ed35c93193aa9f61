import { describe, expect, it } from 'vitest';
import { hostsText } from './hosts-text.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (msBefore: number) => new Date(NOW - msBefore).toISOString();
const base = {
  status: 'active' as const,
  kid: 'k',
  enrolledAt: iso(86_400_000),
  lastSeenAt: iso(1_000),
  lastEventSeq: null,
  connected: true,
};

describe('upsfleet hosts', () => {
  it('says what each host reads itself, a reading error as an error, and its host.upsd warnings', () => {
    const text = hostsText(
      [
        {
          ...base,
          id: '00000000-0000-4000-8000-000000000001',
          name: 'web1',
          sees: {
            readings: [
              { ups: 'nas-ups', status: ['OB', 'DISCHRG'], dead: false, readAt: iso(3_000) },
              { ups: 'rack-ups', status: null, error: 'ACCESS-DENIED', dead: false, readAt: iso(5_000) },
            ],
            warnings: ['host.upsd: "old-ups" feeds nothing in this host\'s briefing'],
            receivedAt: iso(2_000),
          },
        },
        { ...base, id: '00000000-0000-4000-8000-000000000002', name: 'db1' },
      ],
      NOW,
    );
    const lines = text.split('\n');
    expect(lines).toContain('web1 sees nas-ups OB DISCHRG, 3s ago');
    expect(lines).toContain('web1 cannot read rack-ups: ACCESS-DENIED (5s ago)');
    expect(lines).toContain('web1 warning: host.upsd: "old-ups" feeds nothing in this host\'s briefing');
    expect(text).not.toMatch(/rack-ups OB|db1 sees/);
  });

  it('shows only the table when no host reports its own readings', () => {
    const text = hostsText([{ ...base, id: '00000000-0000-4000-8000-000000000002', name: 'db1' }], NOW);
    expect(text.split('\n')).toHaveLength(2);
  });
});
