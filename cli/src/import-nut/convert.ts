/**
 * An existing NUT secondary (upsmon.conf, upssched.conf, the script NOTIFYCMD or CMDSCRIPT runs) as
 * upsfleet's three files: the host's agent.yaml, a policy.yaml, a channels.yaml. Pure: the files'
 * texts in, documents and a report out.
 */
import { type Origin, where } from './config-lines.js';
import { type ChannelDraft, type ScriptScan, scanScript } from './script.js';
import { parseUpsmon } from './upsmon.js';
import { parseUpssched } from './upssched.js';

export interface NutFiles {
  readonly upsmon: { readonly path: string; readonly text: string };
  readonly upssched?: { readonly path: string; readonly text: string } | undefined;
  readonly script?: { readonly path: string; readonly text: string } | undefined;
}

export interface ImportOptions {
  /** This host's name in the fleet. */
  readonly hostName: string;
  readonly coordinator: string;
}

export interface Imported {
  readonly agent: Record<string, unknown>;
  readonly policy: Record<string, unknown>;
  readonly channels: readonly Record<string, unknown>[];
  /** What each NUT setting became, as comment lines for the files' headers. */
  readonly notes: readonly string[];
  /** Everything that could not be mapped, with the file and line it came from. */
  readonly unmapped: readonly string[];
}

/** upsfleet's routing kinds for NUT's notify events (NOTIFYFLAG … EXEC). NOPARENT has none. */
const EVENT_KIND: Record<string, string> = {
  ONLINE: 'online',
  ONBATT: 'onbatt',
  LOWBATT: 'lowbatt',
  FSD: 'fsd',
  COMMOK: 'commok',
  COMMBAD: 'commbad',
  SHUTDOWN: 'stage-fired',
  REPLBATT: 'replbatt',
  NOCOMM: 'nocomm',
  CAL: 'cal',
  NOTCAL: 'notcal',
  OFF: 'off',
  NOTOFF: 'notoff',
  BYPASS: 'bypass',
  NOTBYPASS: 'notbypass',
  OVER: 'over',
  NOTOVER: 'notover',
  TRIM: 'trim',
  NOTTRIM: 'nottrim',
  BOOST: 'boost',
  NOTBOOST: 'notboost',
  ALARM: 'alarm',
  NOTALARM: 'notalarm',
};

const name = (text: string) => text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'ups';

/** SHUTDOWNCMD as an argv: split on blanks when it is a plain command, else through /bin/sh -c. */
export function shutdownArgv(command: string): { argv: string[]; viaShell: boolean } {
  if (/[|&;<>()$`\\"'*?~]/.test(command)) return { argv: ['/bin/sh', '-c', command], viaShell: true };
  return { argv: command.trim().split(/\s+/), viaShell: false };
}

const line = (origin: Origin) => `${where(origin)}: ${origin.text}`;

export function importNut(files: NutFiles, options: ImportOptions): Imported {
  const upsmon = parseUpsmon(files.upsmon.path, files.upsmon.text);
  const upssched =
    files.upssched === undefined ? undefined : parseUpssched(files.upssched.path, files.upssched.text);
  const script: ScriptScan | undefined =
    files.script === undefined ? undefined : scanScript(files.script.path, files.script.text);
  const notes: string[] = [];
  const unmapped: string[] = [...upsmon.unmapped.map(line), ...(upssched?.unmapped.map(line) ?? [])];
  const number = (key: string) => upsmon.numbers.get(key);

  // MONITOR → the UPS in the policy and the host's own reading of it (host.upsd).
  const upses = upsmon.monitors.map((m) => ({ ...m, id: name(`${m.ups}-${m.host}`) }));
  for (const m of upses)
    notes.push(
      `${where(m.origin)}: MONITOR ${m.ups}@${m.host} → UPS "${m.id}" (policy) and host.upsd (agent.yaml)`,
    );
  if (upses.length === 0) unmapped.push(`${files.upsmon.path}: no MONITOR line: no UPS to import`);
  const pollFreq = number('POLLFREQ');
  const deadTime = number('DEADTIME');
  const hostUpsd = upses.map((m) => ({
    id: m.id,
    upsd: m.port === 3493 ? m.host : `${m.host.includes(':') ? `[${m.host}]` : m.host}:${m.port}`,
    name: m.ups,
    ...(m.username === '' ? {} : { username: m.username, password: m.password }),
    ...(pollFreq === undefined ? {} : { pollInterval: `${pollFreq.value}s` }),
    ...(deadTime === undefined ? {} : { deadTime: `${deadTime.value}s` }),
  }));
  if (pollFreq !== undefined)
    notes.push(`${where(pollFreq.origin)}: POLLFREQ ${pollFreq.value} → host.upsd[].pollInterval`);
  if (deadTime !== undefined)
    notes.push(
      `${where(deadTime.origin)}: DEADTIME ${deadTime.value} → host.upsd[].deadTime: a UPS last seen on battery and silent this long counts as dead (the coordinator's own rule is the policy's ups[].deadAfter, 60s by default)`,
    );
  const alert = number('POLLFREQALERT');
  if (alert !== undefined)
    notes.push(
      `${where(alert.origin)}: POLLFREQALERT ${alert.value}: a watcher reads upsd every pollInterval whatever the power; on battery it reports every ups[].alertSnapshotInterval (5s)`,
    );
  const hostSync = number('HOSTSYNC');
  if (hostSync !== undefined)
    notes.push(
      `${where(hostSync.origin)}: HOSTSYNC ${hostSync.value}: how long a primary waited for its secondaries to log out before cutting the UPS. Here stages order the fleet instead (after: and grace say who waits for whom), and a UPS power-off (ups[].powerOff) is sent only once every host it feeds is down`,
    );
  const finalDelay = number('FINALDELAY');
  if (finalDelay !== undefined)
    notes.push(
      `${where(finalDelay.origin)}: FINALDELAY ${finalDelay.value}: upsmon waited this long after the SHUTDOWN notice before SHUTDOWNCMD. Here a host runs its before hooks and then its shutdown as soon as the order arrives; the stage's grace (2m by default) is how long it has to go down`,
    );

  // SHUTDOWNCMD → the host's shutdown argv.
  let shutdown = ['/usr/bin/systemctl', 'poweroff'];
  if (upsmon.shutdownCmd === undefined) {
    unmapped.push(`${files.upsmon.path}: no SHUTDOWNCMD: host.shutdown set to systemctl poweroff`);
  } else {
    const { argv, viaShell } = shutdownArgv(upsmon.shutdownCmd.command);
    shutdown = argv;
    notes.push(
      `${where(upsmon.shutdownCmd.origin)}: SHUTDOWNCMD → host.shutdown${viaShell ? ' (through /bin/sh -c: it uses shell syntax; better an argv list)' : ''}`,
    );
  }

  // Triggers: upsmon always shuts down on a critical UPS (on battery + low battery) and on FSD.
  const trigger: Record<string, unknown> = { lowBattery: true, fsd: true };
  notes.push(
    'upsmon shuts a secondary down when its UPS is on battery with low battery, or on FSD → trigger lowBattery, fsd',
  );
  const branches = script?.branches ?? [];
  const shutsDown = (timer: string) => branches.find((b) => b.names.includes(timer));
  for (const rule of upssched?.rules ?? []) {
    const branch = shutsDown(rule.name);
    if (rule.action === 'START-TIMER' && rule.event === 'ONBATT' && branch?.shutsDown === true) {
      trigger.onBattery = `${rule.seconds}s`;
      notes.push(
        `${where(rule.origin)}: upssched timer "${rule.name}" (${rule.seconds} s on battery) runs ${where(branch.origin)}, which shuts down → trigger onBattery: ${rule.seconds}s`,
      );
    } else if (rule.action === 'CANCEL-TIMER' && rule.event === 'ONLINE') {
      notes.push(
        `${where(rule.origin)}: CANCEL-TIMER on ONLINE: built in (power back before the delay cancels the stage)`,
      );
    } else if ((rule.event === 'LOWBATT' || rule.event === 'FSD') && branch?.shutsDown === true) {
      notes.push(
        `${where(rule.origin)}: ${rule.event} → ${rule.name}, which shuts down → trigger ${rule.event === 'FSD' ? 'fsd' : 'lowBattery'}`,
      );
    } else if (branch === undefined) {
      unmapped.push(
        `${line(rule.origin)}  (no "${rule.name})" branch found${script === undefined ? ': pass CMDSCRIPT with --notify-script' : ` in ${files.script?.path}`})`,
      );
    } else {
      unmapped.push(
        `${line(rule.origin)}  (${where(branch.origin)} does not shut down: notifications cover it)`,
      );
    }
  }

  const minSupplies = number('MINSUPPLIES');
  const host: Record<string, unknown> = { name: options.hostName, ups: upses.map((m) => m.id) };
  if (minSupplies !== undefined && minSupplies.value !== 1) {
    host.minSupplies = minSupplies.value;
    notes.push(`${where(minSupplies.origin)}: MINSUPPLIES ${minSupplies.value} → hosts[].minSupplies`);
  }

  // NOTIFYFLAG … EXEC → the events of every channel found in the script.
  const events: string[] = [];
  for (const { event, origin } of upsmon.execEvents) {
    const kind = EVENT_KIND[event];
    if (kind === undefined) unmapped.push(`${line(origin)}  (upsfleet has no ${event} event)`);
    else if (!events.includes(kind)) events.push(kind);
  }
  if (upsmon.execEvents.length > 0)
    notes.push(
      `NOTIFYFLAG … EXEC (${upsmon.execEvents.length} lines) → each channel's events (SHUTDOWN → stage-fired)`,
    );
  if (upsmon.notifyCmd !== undefined && script === undefined)
    unmapped.push(
      `${line(upsmon.notifyCmd.origin)}  (the script was not read: pass it with --notify-script)`,
    );
  const used = new Map<string, number>();
  const channels = (script?.channels ?? []).map(({ channel, origin }) => {
    const count = (used.get(channel.type) ?? 0) + 1;
    used.set(channel.type, count);
    const channelName = count === 1 ? channel.type : `${channel.type}-${count}`;
    notes.push(`${where(origin)}: ${describe(channel)} → channel "${channelName}"`);
    return { name: channelName, ...channel, events };
  });
  for (const origin of script?.unknownUrls ?? [])
    unmapped.push(
      `${line(origin)}  (not a chat service upsfleet knows: a "webhook" channel posts upsfleet's own JSON)`,
    );

  const agent = {
    coordinator: options.coordinator,
    stateDir: '/var/lib/upsfleet-agent',
    host: { name: options.hostName, shutdown, ...(hostUpsd.length === 0 ? {} : { upsd: hostUpsd }) },
  };
  const policy = {
    ups: upses.map((m) => ({ name: m.id, watcher: 'watcher' })),
    hosts: [host],
    stages: [{ name: 'shutdown', hosts: [options.hostName], trigger }],
  };
  return { agent, policy, channels, notes, unmapped };
}

function describe(channel: ChannelDraft): string {
  switch (channel.type) {
    case 'wechat-work':
      return `WeChat Work robot (${channel.format})`;
    case 'telegram':
      return 'Telegram bot';
    case 'ntfy':
      return `ntfy topic ${channel.topic}`;
    default:
      return `${channel.type} webhook`;
  }
}
