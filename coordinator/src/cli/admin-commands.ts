import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { createAdminClient } from './admin-client.js';
import { drillCommand, policyCommand } from './run-commands.js';
import { ago, formatTable } from './table.js';
import { UsageError } from './usage-error.js';

export const ADMIN_USAGE = `Admin commands (against a running coordinator):
  upsfleet enrollments create NAME [--ttl 1h]   one-time enrollment token for an agent
  upsfleet hosts                                enrolled agents and whether they are connected
  upsfleet hosts revoke NAME                    revoke an agent: disconnected, its key refused from now on
  upsfleet status                               every UPS: power, status words, charge, runtime, load
  upsfleet runs [RUN_ID]                        outages and the orders they issued
  upsfleet policy show | apply FILE             the fleet policy
  upsfleet policy validate FILE                 check a policy file: every error and warning
  upsfleet policy plan [--scenario FILE] [--policy FILE] [--unresponsive h1,h2]
                                                simulate: the timeline each host would see, touching nothing
  upsfleet drill [--no-follow]                  fleet-wide dry run with live progress per stage and host
  upsfleet stages fire STAGE                    fire a stage by hand (its trigger says manual: true)

Common options: --url URL (env UPSFLEET_URL, default http://127.0.0.1:8080),
                --token TOKEN (env UPSFLEET_TOKEN), --json (machine-readable output)
`;

type Item = Record<string, unknown>;
/** A watcher sends a snapshot at least every minute: two missed ones make the row stale. */
const STALE_AFTER_MS = 150_000;
const str = (value: unknown) => (value === null || value === undefined ? '-' : String(value));

/** Runs one admin command; returns the exit code (0 ok, 1 failed, 2 usage). */
export async function adminCommand(
  command: string,
  argv: readonly string[],
  env = process.env,
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
    },
    allowPositionals: true,
    strict: true,
  });
  const client = createAdminClient({
    url: values.url ?? env.UPSFLEET_URL ?? 'http://127.0.0.1:8080',
    token: values.token ?? env.UPSFLEET_TOKEN,
  });
  const out = (data: unknown, human: () => string) =>
    process.stdout.write(`${values.json ? JSON.stringify(data, null, 2) : human()}\n`);
  const now = Date.now();
  const [sub, arg] = positionals;

  switch (command) {
    case 'enrollments': {
      if (sub !== 'create' || arg === undefined)
        throw new UsageError('usage: upsfleet enrollments create NAME');
      const created = await client.post<Item>('/api/v1/enrollments', {
        name: arg,
        ...(values.ttl ? { ttl: values.ttl } : {}),
      });
      out(
        created,
        () =>
          `Enrollment token for "${arg}" (single use, expires ${str(created.expiresAt)}):\n\n  ${str(created.token)}\n\nOn the host: upsfleet enroll --coordinator URL --token <token> --name ${arg}`,
      );
      return 0;
    }
    case 'hosts': {
      if (sub === 'revoke') {
        if (arg === undefined) throw new UsageError('usage: upsfleet hosts revoke NAME');
        const revoked = await client.post<Item>(`/api/v1/hosts/${encodeURIComponent(arg)}/revoke`, {});
        out(
          revoked,
          () => `Agent ${arg} revoked: its connection is closed and its key is refused from now on.`,
        );
        return 0;
      }
      const { items } = await client.get<{ items: Item[] }>('/api/v1/hosts');
      out(items, () =>
        formatTable(
          ['NAME', 'STATUS', 'CONNECTED', 'LAST SEEN', 'ID'],
          items.map((h) => [
            str(h.name),
            str(h.status),
            h.connected ? 'yes' : 'no',
            ago(h.lastSeenAt as string | null, now),
            str(h.id),
          ]),
        ),
      );
      return 0;
    }
    case 'status': {
      const { items } = await client.get<{ items: Item[] }>('/api/v1/ups');
      out(items, () => {
        if (items.length === 0) return 'No UPS has reported yet.';
        return formatTable(
          ['UPS', 'POWER', 'STATUS', 'CHARGE', 'RUNTIME', 'LOAD', 'LAST EVENT', 'SEEN'],
          items.map((u) => {
            const vars = (u.vars ?? {}) as Record<string, string>;
            const age = now - Date.parse(String(u.observedAt));
            const power = `${str(u.power)}${u.dead ? ' (DEAD: silent while on battery)' : ''}`;
            return [
              str(u.ups),
              age > STALE_AFTER_MS ? `${power} (STALE)` : power,
              Array.isArray(u.status) ? u.status.join(' ') : 'unknown',
              vars['battery.charge'] === undefined ? '-' : `${vars['battery.charge']}%`,
              vars['battery.runtime'] === undefined ? '-' : `${vars['battery.runtime']}s`,
              vars['ups.load'] === undefined ? '-' : `${vars['ups.load']}%`,
              Array.isArray(u.lastEvents) && u.lastEvents.length > 0 ? u.lastEvents.join(',') : '-',
              ago(u.observedAt as string, now),
            ];
          }),
        );
      });
      return 0;
    }
    case 'runs': {
      if (sub !== undefined) {
        const run = await client.get<Item & { orders: Item[] }>(`/api/v1/runs/${encodeURIComponent(sub)}`);
        out(run, () =>
          [
            `Run ${str(run.id)} on ${str(run.ups)}: ${str(run.state)}, started ${str(run.startedAt)}${run.endedAt ? `, ended ${str(run.endedAt)} (${str(run.endReason)})` : ''}`,
            '',
            formatTable(
              ['STAGE', 'HOST', 'ACK', 'OUTCOME', 'EXIT', 'ORDER'],
              run.orders.map((o) => [
                str(o.stage),
                str(o.host),
                str(o.ackStatus),
                str(o.outcome),
                str(o.exitCode),
                str(o.id),
              ]),
            ),
          ].join('\n'),
        );
        return 0;
      }
      const { items } = await client.get<{ items: Item[] }>('/api/v1/runs');
      out(items, () =>
        formatTable(
          ['RUN', 'UPS', 'STATE', 'STARTED', 'STAGES FIRED', 'END'],
          items.map((r) => [
            str(r.id),
            str(r.ups),
            str(r.state),
            str(r.startedAt),
            (r.firedStages as string[]).join(',') || '-',
            str(r.endReason),
          ]),
        ),
      );
      return 0;
    }
    case 'policy': {
      if (sub === 'show') {
        const policy = await client.get<Item>('/api/v1/policy');
        out(policy, () => JSON.stringify(policy.document, null, 2));
        return 0;
      }
      if (sub === 'apply' && arg !== undefined) {
        const document: unknown = parseYaml(await readFile(arg, 'utf8'));
        const result = await client.put<Item>('/api/v1/policy', document);
        out(result, () => `Policy applied from ${arg}.`);
        return 0;
      }
      return policyCommand(client, sub, arg, values, out);
    }
    case 'drill':
      return drillCommand(client, { follow: values['no-follow'] !== true, json: values.json === true });
    case 'stages': {
      if (sub !== 'fire' || arg === undefined) throw new UsageError('usage: upsfleet stages fire STAGE');
      const result = await client.post<Item>(`/api/v1/stages/${encodeURIComponent(arg)}/fire`, {});
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
