import { parseArgs } from 'node:util';
import type { z } from 'zod';
import {
  EnrollmentSchema,
  HostRevokedSchema,
  HostSchema,
  ListOf,
  PolicyAppliedSchema,
  PolicyRecordSchema,
  StageFiredSchema,
  StatusSchema,
  type UpsStateSchema,
} from '../../shared/src/admin-api.js';
import { formatTable } from '../../shared/src/text-table.js';
import { tokensCommand } from './access-commands.js';
import { createAdminClient } from './admin-client.js';
import { ADMIN_USAGE } from './admin-usage.js';
import { ago, type CliContext, str } from './cli-context.js';
import { auditCommand, eventsCommand, runsCommand } from './history-commands.js';
import { hostsText } from './hosts-text.js';
import { notifyCommand } from './notify-commands.js';
import { NUT_CREDENTIALS_USAGE, nutCredentialsCommand } from './nut-commands.js';
import { readDocument } from './read-document.js';
import { drillCommand, policyCommand } from './run-commands.js';
import { UsageError } from './usage-error.js';

/** A watcher sends a snapshot at least every minute: two missed ones make the row stale. */
const STALE_AFTER_MS = 150_000;

function upsTable(items: readonly z.output<typeof UpsStateSchema>[], now: number): string {
  if (items.length === 0) return 'No UPS has reported yet.';
  return formatTable(
    ['UPS', 'POWER', 'STATUS', 'CHARGE', 'RUNTIME', 'LOAD', 'LAST EVENT', 'SEEN'],
    items.map((u) => {
      const vars = u.vars;
      const age = now - Date.parse(u.observedAt);
      const power = `${u.power}${u.dead ? ' (DEAD: silent while on battery)' : ''}`;
      return [
        u.ups,
        age > STALE_AFTER_MS ? `${power} (STALE)` : power,
        u.status === null ? 'unknown' : u.status.join(' '),
        vars['battery.charge'] === undefined ? '-' : `${vars['battery.charge']}%`,
        vars['battery.runtime'] === undefined ? '-' : `${vars['battery.runtime']}s`,
        vars['ups.load'] === undefined ? '-' : `${vars['ups.load']}%`,
        u.lastEvents.length > 0 ? u.lastEvents.join(',') : '-',
        ago(u.observedAt, now),
      ];
    }),
  );
}

function statusText(status: z.output<typeof StatusSchema>, now: number): string {
  const { hosts, run, policy, notifications: channels } = status;
  const failing = channels.filter((c) => c.failing);
  return [
    upsTable(status.ups, now),
    '',
    `Hosts: ${hosts.connected} of ${hosts.enrolled} enrolled connected`,
    `Policy: ${policy.applied ? `stages ${policy.stages.join(' → ') || '(none)'}` : 'none applied'}`,
    run === null
      ? 'Run: none'
      : `Run: ${run.kind} ${run.number} (${run.phase}) since ${run.startedAt}: ${run.reason}; stages fired: ${run.firedStages.join(', ') || 'none'}`,
    `Notifications: ${channels.length} channel(s)${failing.length === 0 ? '' : `, FAILING: ${failing.map((c) => `${c.name} (${str(c.lastError)})`).join('; ')}`}`,
  ].join('\n');
}

/** Runs one admin command; returns its exit code (exit-codes.ts). Errors are thrown, typed. */
export async function adminCommand(
  command: string,
  argv: readonly string[],
  env = process.env,
  io: { write?: (text: string) => void; interrupted?: Promise<void> } = {},
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      ttl: { type: 'string' },
      scenario: { type: 'string' },
      policy: { type: 'string' },
      unresponsive: { type: 'string' },
      'no-follow': { type: 'boolean' },
      follow: { type: 'boolean', short: 'f' },
      ups: { type: 'string' },
      host: { type: 'string' },
      type: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string' },
      scopes: { type: 'string' },
      expires: { type: 'string' },
      actor: { type: 'string' },
      'read-only': { type: 'boolean' },
      address: { type: 'string' },
      remove: { type: 'boolean' },
      username: { type: 'string' },
      password: { type: 'string' },
      from: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  const write = io.write ?? ((text: string) => process.stdout.write(text));
  if (values.help === true) {
    write(ADMIN_USAGE);
    return 0;
  }
  let interrupted: Promise<void> | undefined;
  const ctx: CliContext = {
    client: createAdminClient({
      url: values.url ?? env.UPSFLEET_URL ?? 'http://127.0.0.1:8080',
      token: values.token ?? env.UPSFLEET_TOKEN,
    }),
    json: values.json === true,
    now: Date.now(),
    out: (data, human) => write(`${values.json ? JSON.stringify(data, null, 2) : human()}\n`),
    write,
    interrupted: () => {
      interrupted ??=
        io.interrupted ??
        new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
        });
      return interrupted;
    },
  };
  const { client, out, now } = ctx;
  const [sub, arg] = positionals;

  switch (command) {
    case 'enrollments': {
      if (sub !== 'create' || arg === undefined)
        throw new UsageError('usage: upsfleet enrollments create NAME');
      const created = await client.post('/api/v1/enrollments', EnrollmentSchema, {
        name: arg,
        ...(values.ttl ? { ttl: values.ttl } : {}),
      });
      out(
        created,
        () =>
          `Enrollment token for "${arg}" (single use, expires ${created.expiresAt}):\n\n  ${created.token}\n\nOn the host: upsfleet enroll --coordinator ${client.base} --token <token> --name ${arg}`,
      );
      return 0;
    }
    case 'hosts': {
      if (sub === 'revoke') {
        if (arg === undefined) throw new UsageError('usage: upsfleet hosts revoke NAME');
        const revoked = await client.post(
          `/api/v1/hosts/${encodeURIComponent(arg)}/revoke`,
          HostRevokedSchema,
          {},
        );
        out(
          revoked,
          () => `Agent ${arg} revoked: its connection is closed and its key is refused from now on.`,
        );
        return 0;
      }
      if (sub === 'nut-credentials')
        return nutCredentialsCommand(ctx, arg, {
          readOnly: values['read-only'] === true,
          address: values.address,
          remove: values.remove === true,
          username: values.username,
          password: values.password,
          from: values.from,
        });
      if (sub !== undefined)
        throw new UsageError(`usage: upsfleet hosts [revoke NAME]\n${NUT_CREDENTIALS_USAGE}`);
      const { items } = await client.get('/api/v1/hosts', ListOf(HostSchema));
      out(items, () => hostsText(items, now));
      return 0;
    }
    case 'status': {
      const status = await client.get('/api/v1/status', StatusSchema);
      out(status, () => statusText(status, now));
      return 0;
    }
    case 'runs':
      return runsCommand(ctx, sub, values.limit);
    case 'events':
      return eventsCommand(ctx, {
        follow: values.follow === true,
        ups: values.ups,
        host: values.host,
        type: values.type,
        since: values.since,
        limit: values.limit,
      });
    case 'tokens':
      return tokensCommand(ctx, sub, arg, { scopes: values.scopes, expires: values.expires });
    case 'audit':
      return auditCommand(ctx, { actor: values.actor, limit: values.limit });
    case 'notify':
      return notifyCommand(ctx, sub, arg);
    case 'policy': {
      if (sub === 'show') {
        const policy = await client.get('/api/v1/policy', PolicyRecordSchema);
        out(policy, () => JSON.stringify(policy.document, null, 2));
        return 0;
      }
      if (sub === 'apply' && arg !== undefined) {
        const document = await readDocument(arg);
        const result = await client.put('/api/v1/policy', PolicyAppliedSchema, document);
        out(result, () =>
          [`Policy applied from ${arg}.`, ...result.warnings.map((w) => `  warning: ${w}`)].join('\n'),
        );
        return 0;
      }
      return policyCommand(client, sub, arg, values, out);
    }
    case 'drill':
      return drillCommand(client, {
        follow: values['no-follow'] !== true,
        json: values.json === true,
        write,
      });
    case 'stages': {
      if (sub !== 'fire' || arg === undefined) throw new UsageError('usage: upsfleet stages fire STAGE');
      const result = await client.post(
        `/api/v1/stages/${encodeURIComponent(arg)}/fire`,
        StageFiredSchema,
        {},
      );
      out(
        result,
        () =>
          `Stage ${arg} fired by hand: its hosts get their shutdown orders once its prerequisites are down.`,
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}
