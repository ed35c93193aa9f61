import { describe, expect, it } from 'vitest';
import type { Message } from './messages.js';
import { type Route, routes } from './routing.js';

const everything: Route = { enabled: true, events: [], ups: [], hosts: [] };
const message = (fields: Partial<Message>): Message => ({
  kind: 'onbatt',
  severity: 'warning',
  title: 't',
  text: 't',
  markdown: 't',
  at: 0,
  ...fields,
});

describe('routes (NOTIFYFLAG per channel)', () => {
  it('empty lists mean everything', () => {
    expect(routes(everything, message({ ups: 'nas-ups' }))).toBe(true);
    expect(routes(everything, message({ kind: 'stage-fired', hosts: ['web-1'] }))).toBe(true);
  });

  it('a disabled channel gets nothing', () => {
    expect(routes({ ...everything, enabled: false }, message({}))).toBe(false);
  });

  it('an event list keeps only its kinds', () => {
    const route = { ...everything, events: ['onbatt', 'lowbatt'] };
    expect(routes(route, message({ kind: 'onbatt' }))).toBe(true);
    expect(routes(route, message({ kind: 'online' }))).toBe(false);
  });

  it('a UPS list filters messages about a UPS, and lets fleet-wide ones through', () => {
    const route = { ...everything, ups: ['nas-ups'] };
    expect(routes(route, message({ ups: 'nas-ups' }))).toBe(true);
    expect(routes(route, message({ ups: 'rack-ups' }))).toBe(false);
    expect(routes(route, message({ kind: 'run-started' }))).toBe(true);
  });

  it('a host list matches any host a message is about', () => {
    const route = { ...everything, hosts: ['web-2'] };
    expect(routes(route, message({ kind: 'stage-fired', hosts: ['web-1', 'web-2'] }))).toBe(true);
    expect(routes(route, message({ kind: 'stage-fired', hosts: ['db-1'] }))).toBe(false);
    expect(routes(route, message({ kind: 'order-failed', host: 'db-1' }))).toBe(false);
    expect(routes(route, message({ kind: 'onbatt', ups: 'nas-ups' }))).toBe(true);
  });
});
