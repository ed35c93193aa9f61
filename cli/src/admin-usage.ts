/** The admin commands' names and help: what `upsfleet --help` shows without loading them. */
export const ADMIN_USAGE = `Admin commands (against a running coordinator):
  upsfleet status                               the fleet at a glance: every UPS, hosts, the active run, channels
  upsfleet hosts                                enrolled agents, whether connected, what each reads from its own upsd
  upsfleet hosts revoke NAME                    revoke an agent: disconnected, its key refused from now on
  upsfleet hosts nut-credentials NAME [--read-only] [--address HOST:PORT] [--remove]
                [--username USER --password PASS --from ADDR] [--from ADDR]...
                                                NUT account of a host served by a bridge (or a reader):
                                                password shown once, and the MONITOR line for its upsmon.conf;
                                                a fixed account its client insists on (DSM: monuser/secret),
                                                bound to its client's addresses (--password needs
                                                --from, unless --read-only)
  upsfleet enrollments create NAME [--ttl 1h]   one-time enrollment token for an agent
  upsfleet policy show | apply FILE             the fleet policy
  upsfleet policy validate FILE                 check a policy file: every error and warning
  upsfleet policy plan [--scenario FILE] [--policy FILE] [--unresponsive h1,h2]
                                                simulate: the timeline each host would see, touching nothing
  upsfleet drill [--no-follow]                  fleet-wide dry run with live progress per stage and host
  upsfleet stages fire STAGE                    fire a stage by hand (its trigger says manual: true)
  upsfleet events [--follow] [--ups U] [--host H] [--type ONBATT] [--since ISO] [--limit N]
                                                UPS events, newest first; --follow prints new ones as they come
  upsfleet runs [RUN] [--limit N]               outages and drills; one run's timeline and orders
  upsfleet tokens [create NAME --scopes read,write,admin [--expires 90d] | revoke NAME]
                                                API tokens (the secret is shown once)
  upsfleet audit [--actor TOKEN] [--limit N]    who changed what, when
  upsfleet notify [list | apply FILE | remove NAME | test NAME]
                                                notification channels (WeChat Work, Slack, Discord, Telegram, ntfy, webhook)

Common options: --url URL (env UPSFLEET_URL, default http://127.0.0.1:8080),
                --token TOKEN (env UPSFLEET_TOKEN), --json (machine-readable output)
Exit codes: 0 done; 1 done, but it reports a failure (invalid policy, failing drill, test message
not delivered); 2 wrong usage; 3 coordinator unreachable; 4 token refused (missing, wrong, expired,
lacking the scope, throttled); 5 request refused (invalid input, not found, conflict) or failed.
`;

export const ADMIN_COMMANDS = new Set([
  'enrollments',
  'hosts',
  'status',
  'runs',
  'policy',
  'drill',
  'stages',
  'events',
  'tokens',
  'audit',
  'notify',
]);
