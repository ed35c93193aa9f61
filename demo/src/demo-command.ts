/**
 * `upsfleet demo`: a power cut on loopback, end to end, in under a minute. Everything is real except
 * the UPS and the machines: the coordinator on its embedded database (in a temp dir), a simulated UPS
 * served over the NUT protocol by upsfleet's own NUT server, the watcher reading it, three host agents
 * in three stages whose shutdown only records itself (and then "powers off": its agent stops), and
 * Wake-on-LAN packets to a 127.0.0.1 listener that "boots" the host again.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAgentConfig } from '../../agent/src/config.js';
import { enroll } from '../../agent/src/enroll.js';
import { createNutServer } from '../../agent/src/nut-server/server.js';
import { createStaticAuth, createStaticSource } from '../../agent/src/nut-server/static-source.js';
import { type RunningAgent, runAgent } from '../../agent/src/run-agent.js';
import { runCommand } from '../../agent/src/shutdown-runner.js';
import { createAdminClient } from '../../cli/src/admin-client.js';
import { timelineLine } from '../../cli/src/cli-context.js';
import { loadConfig } from '../../coordinator/src/config.js';
import { startCoordinator } from '../../coordinator/src/main.js';
import {
  EnrollmentSchema,
  HostSchema,
  ListOf,
  PolicyAppliedSchema,
  RunDetailSchema,
  StatusSchema,
} from '../../shared/src/admin-api.js';
import { createConsoleLogger } from '../../shared/src/logger.js';
import { DEMO_UPS, demoPolicy, HOSTS, hostConfig, WATCHER, watcherConfig } from './demo-fleet.js';
import { listenForWake } from './wake-listener.js';

export const DEMO_USAGE = `usage: upsfleet demo [--keep]

A power cut on loopback: coordinator (embedded database in a temp dir), a simulated UPS over the NUT
protocol, a watcher, three hosts in three stages whose shutdown only records itself. Nothing on this
machine is shut down. --keep stays up afterwards (Ctrl-C stops it).
`;

/** A guard against a hang, not the goal: the demo takes ~30 s on an idle machine. */
const DEADLINE_MS = 150_000;
const quiet = (name: string) =>
  createConsoleLogger({ name, level: process.env.UPSFLEET_DEMO_LOG === 'debug' ? 'debug' : 'error' });

export async function demoCommand(
  argv: readonly string[],
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    write(DEMO_USAGE);
    return 0;
  }
  const say = (line = '') => write(`${line}\n`);
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'upsfleet-demo-'));
  const stops: (() => Promise<unknown>)[] = [];
  const agents = new Map<string, RunningAgent>();
  try {
    // The UPS: upsfleet's own NUT server on a free loopback port, serving "ups" as a NAS would.
    const source = createStaticSource([
      {
        name: 'ups',
        description: 'simulated UPS (upsfleet demo)',
        vars: {
          'device.model': 'Demo 1500',
          'ups.status': 'OL',
          'battery.charge': '100',
          'battery.runtime': '1800',
          'ups.load': '35',
          'input.voltage': '230.0',
        },
      },
    ]);
    const nut = await createNutServer({
      source,
      auth: createStaticAuth([{ username: 'monuser', password: 'secret' }]),
      port: 0,
    });
    stops.push(() => nut.close());

    // The coordinator on its embedded database, in the temp dir.
    const token = `ufa_demo_${randomBytes(18).toString('base64url')}`;
    const config = loadConfig(
      { listen: '127.0.0.1:0', dataDir: join(dir, 'data') },
      { UPSFLEET_ADMIN_TOKEN: token, UPSFLEET_LOG_LEVEL: 'error' },
    );
    const coordinator = await startCoordinator(config, {
      logger: quiet('coordinator'),
      announceAdminToken: () => {},
    });
    stops.push(() => coordinator.close());
    const client = createAdminClient({ url: coordinator.url, token });
    say(`upsfleet demo — a power cut on loopback; nothing on this machine is shut down.`);
    say(`  coordinator  ${coordinator.url}  (embedded database in ${dir})`);
    say(`  dashboard    ${coordinator.url}/   admin token ${token}`);
    say(`  UPS          "ups" served over the NUT protocol on 127.0.0.1:${nut.port} (monuser/secret)`);

    // Wake-on-LAN lands here; a woken host "boots": its agent starts again.
    const record = join(dir, 'shutdowns.log');
    const configs = new Map<string, string>();
    const elapsed = () => `+${((Date.now() - (cutAt ?? Date.now())) / 1000).toFixed(1).padStart(5)}s`;
    let cutAt: number | undefined;
    const wakes: string[] = [];
    const wake = await listenForWake((mac) => {
      const host = HOSTS.find((h) => h.mac === mac);
      if (host === undefined || agents.has(host.name)) return;
      wakes.push(host.name);
      say(`${elapsed()}  ⏻ magic packet for ${mac} on 127.0.0.1: ${host.name} boots`);
      void startAgent(host.name);
    });
    stops.push(() => wake.close());

    const policy = demoPolicy(wake.port);
    await client.put('/api/v1/policy', PolicyAppliedSchema, policy);
    say(
      `  policy       stages web (web1, 3 s on battery) → apps (app1, 6 s) → databases (db1, 9 s); restore wakes db1, app1, web1`,
    );

    async function startAgent(name: string): Promise<void> {
      const text = configs.get(name);
      if (text === undefined) return;
      const agent = await runAgent({
        config: parseAgentConfig(text, `${name}.yaml`),
        logger: quiet(name),
        // The host's shutdown runs for real (it records itself); then the machine "powers off".
        run: async (argv, options) => {
          const result = await runCommand(argv, options);
          say(`${elapsed()}  ${name}: shutdown command ran (recorded); the machine powers off`);
          setTimeout(() => void powerOff(name), 300);
          return result;
        },
      });
      agents.set(name, agent);
    }
    async function powerOff(name: string): Promise<void> {
      const agent = agents.get(name);
      agents.delete(name);
      await agent?.stop();
    }
    stops.push(async () => {
      for (const name of [...agents.keys()]) await powerOff(name);
    });

    // Enrollment and agents, as `upsfleet enrollments create` + `upsfleet enroll` + `upsfleet agent`.
    for (const name of [WATCHER, ...HOSTS.map((h) => h.name)]) {
      const stateDir = join(dir, `${name}-state`);
      await mkdir(stateDir, { recursive: true });
      const { token: enrollment } = await client.post('/api/v1/enrollments', EnrollmentSchema, { name });
      await enroll({
        coordinatorUrl: coordinator.url,
        token: enrollment,
        name,
        stateDir: join(stateDir, 'state'),
      });
      const text =
        name === WATCHER
          ? watcherConfig(coordinator.url, join(stateDir, 'state'), nut.port)
          : hostConfig(coordinator.url, join(stateDir, 'state'), record, name);
      await writeFile(join(stateDir, 'agent.yaml'), text, { mode: 0o600 });
      configs.set(name, text);
      await startAgent(name);
    }

    const deadline = started + DEADLINE_MS;
    const until = async (what: string, done: () => Promise<boolean>) => {
      while (!(await done())) {
        if (Date.now() > deadline)
          throw new Error(`the demo did not get to "${what}" within ${DEADLINE_MS / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    };
    await until('every agent connected and the UPS read', async () => {
      const [{ items }, status] = await Promise.all([
        client.get('/api/v1/hosts', ListOf(HostSchema)),
        client.get('/api/v1/status', StatusSchema),
      ]);
      return items.filter((h) => h.connected).length === 4 && status.ups.some((u) => u.ups === DEMO_UPS);
    });
    say(`  agents       ${WATCHER} (watcher), ${HOSTS.map((h) => h.name).join(', ')}: connected`);
    say();

    // The power cut, and the battery running down while it lasts.
    cutAt = Date.now();
    source.set('ups', { 'ups.status': 'OB DISCHRG' });
    say(`${elapsed()}  ⚡ power cut: the UPS says OB DISCHRG`);
    let charge = 100;
    const drain = setInterval(() => {
      charge = Math.max(30, charge - 4);
      source.set('ups', { 'battery.charge': String(charge), 'battery.runtime': String(charge * 18) });
    }, 1000);
    stops.push(async () => clearInterval(drain));

    // The run's timeline, live.
    let runNumber: number | undefined;
    let shown = 0;
    const follow = async () => {
      if (runNumber === undefined) {
        const status = await client.get('/api/v1/status', StatusSchema);
        runNumber = status.run?.number;
        if (runNumber === undefined) return undefined;
      }
      const run = await client.get(`/api/v1/runs/${runNumber}`, RunDetailSchema);
      for (const event of run.timeline.slice(shown)) say(timelineLine(event, () => `${elapsed()}   `));
      shown = run.timeline.length;
      return run;
    };
    await until('every host down', async () => {
      const run = await follow();
      return (
        run !== undefined &&
        HOSTS.every((h) => run.timeline.some((e) => e.kind === 'host-down' && e.host === h.name))
      );
    });

    clearInterval(drain);
    source.set('ups', { 'ups.status': 'OL CHRG' });
    say(`${elapsed()}  🔌 power is back: the UPS says OL CHRG`);
    await until('the end of the run', async () => (await follow())?.state === 'ended');

    const recorded = (await readFile(record, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    say();
    const seconds = (ms: number) => (ms / 1000).toFixed(1);
    say(
      `Done in ${seconds(Date.now() - started)} s (power cut → fleet restored: ${seconds(Date.now() - cutAt)} s).`,
    );
    say(`  shutdowns recorded (nothing was powered off): ${recorded.join(', ') || 'none'}`);
    say(`  woken by Wake-on-LAN: ${wakes.join(', ') || 'none'}`);
    say(`  dashboard ${coordinator.url}/   admin token ${token}`);
    say(`  try: UPSFLEET_URL=${coordinator.url} UPSFLEET_TOKEN=${token} upsfleet runs ${runNumber ?? ''}`);
    if (values.keep) {
      say('\nStill running (--keep): Ctrl-C stops it and removes the temp dir.');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    return recorded.length === HOSTS.length && wakes.length === HOSTS.length ? 0 : 1;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}
