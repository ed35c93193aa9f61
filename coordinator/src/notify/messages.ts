/**
 * Facts → messages a person on a phone understands. Pure. Every message has a one-line `text`
 * (chat services that show plain text), a `markdown` variant, a `title` (ntfy, webhooks) and the
 * subjects routing looks at. Drills say so in every line: nobody must mistake one for an outage.
 */
import {
  isUpsFact,
  type NotificationFact,
  type NotificationKind,
  type RunFact,
  type UpsFact,
  type UpsKind,
} from './facts.js';
import { humanDuration } from './text.js';

export type Severity = 'info' | 'warning' | 'critical';

export interface Message {
  readonly kind: NotificationKind;
  readonly severity: Severity;
  readonly title: string;
  readonly text: string;
  readonly markdown: string;
  /** When it happened (ms since the epoch). */
  readonly at: number;
  readonly ups?: string;
  /** The host it is about. */
  readonly host?: string;
  /** Every host it is about (a stage orders several). */
  readonly hosts?: readonly string[];
  /** Messages with the same key close together are collapsed into one digest (collapse.ts). */
  readonly collapseKey?: string;
}

const DRILL = '[DRILL] ';

/** Names are restricted to letters, digits, ".", "_" and "-"; "_" and "*" still mean emphasis in Markdown. */
function md(text: string): string {
  return text.replace(/([\\`*_[\]<>])/g, '\\$1');
}

/** Engine reasons use terse units ("on battery 60s", "runtime 300s < 600s"); say them in words. */
export function humanReason(reason: string): string {
  return reason
    .replace(/on battery (\d+)s/g, (_, s: string) => `on battery for ${humanDuration(Number(s) * 1000)}`)
    .replace(/(\d+)s < (\d+)s/g, (_, a: string, b: string) => {
      return `${humanDuration(Number(a) * 1000)} < ${humanDuration(Number(b) * 1000)}`;
    })
    .replace(/(\d+)% < (\d+)%/g, '$1 % < $2 %');
}

/** A stage's trigger reason ("nas-ups: on battery 60s; ups2: FSD") as "nas-ups on battery for 60 s; ups2 FSD". */
export function stageReason(reason: string): string {
  return humanReason(reason.replace(/(^|; )([A-Za-z0-9._-]+): /g, '$1$2 '));
}

interface UpsWording {
  readonly severity: Severity;
  readonly title: (ups: string) => string;
  /** Which readings belong next to it. */
  readonly readings: readonly ('runtime' | 'charge' | 'next' | 'status' | 'unknown')[];
}

const UPS_WORDING: Readonly<Record<UpsKind, UpsWording>> = {
  onbatt: {
    severity: 'warning',
    title: (u) => `UPS ${u} on battery`,
    readings: ['runtime', 'charge', 'next'],
  },
  online: { severity: 'info', title: (u) => `Power back on ${u}`, readings: ['charge'] },
  lowbatt: {
    severity: 'critical',
    title: (u) => `UPS ${u} battery low`,
    readings: ['runtime', 'charge', 'next'],
  },
  fsd: {
    severity: 'critical',
    title: (u) => `UPS ${u} forced shutdown (FSD)`,
    readings: ['runtime', 'charge', 'next'],
  },
  dead: {
    severity: 'critical',
    title: (u) => `UPS ${u} silent while on battery: counted as dead`,
    readings: ['runtime', 'charge', 'next'],
  },
  silent: {
    severity: 'critical',
    title: (u) => `Lost contact with ${u} while on battery — hosts follow their offline rules`,
    readings: [],
  },
  commbad: { severity: 'warning', title: (u) => `Lost contact with UPS ${u}`, readings: ['unknown'] },
  commok: {
    severity: 'info',
    title: (u) => `Contact with UPS ${u} restored`,
    readings: ['status', 'charge'],
  },
  nocomm: { severity: 'warning', title: (u) => `UPS ${u} still unreachable`, readings: ['unknown'] },
  replbatt: { severity: 'warning', title: (u) => `UPS ${u}: replace the battery`, readings: ['charge'] },
  cal: { severity: 'info', title: (u) => `UPS ${u} calibrating its battery`, readings: ['charge'] },
  notcal: { severity: 'info', title: (u) => `UPS ${u} battery calibration finished`, readings: ['charge'] },
  off: { severity: 'warning', title: (u) => `UPS ${u} output off: the load has no power`, readings: [] },
  notoff: { severity: 'info', title: (u) => `UPS ${u} output on again`, readings: [] },
  bypass: { severity: 'warning', title: (u) => `UPS ${u} on bypass: no battery protection`, readings: [] },
  notbypass: { severity: 'info', title: (u) => `UPS ${u} off bypass`, readings: [] },
  over: { severity: 'warning', title: (u) => `UPS ${u} overloaded`, readings: [] },
  notover: { severity: 'info', title: (u) => `UPS ${u} no longer overloaded`, readings: [] },
  trim: { severity: 'info', title: (u) => `UPS ${u} trimming high input voltage`, readings: [] },
  nottrim: { severity: 'info', title: (u) => `UPS ${u} stopped trimming the voltage`, readings: [] },
  boost: { severity: 'info', title: (u) => `UPS ${u} boosting low input voltage`, readings: [] },
  notboost: { severity: 'info', title: (u) => `UPS ${u} stopped boosting the voltage`, readings: [] },
  alarm: { severity: 'warning', title: (u) => `UPS ${u} reports an alarm`, readings: ['status'] },
  notalarm: { severity: 'info', title: (u) => `UPS ${u} alarm cleared`, readings: [] },
};

/**
 * Events that undo each other share a key, so that flapping collapses: on battery / back on mains,
 * lost / restored contact, and each NUT pair (TRIM/NOTTRIM, …).
 */
export function collapseKeyOf(kind: UpsKind, ups: string): string | undefined {
  switch (kind) {
    case 'onbatt':
    case 'online':
      return `power:${ups}`;
    case 'commbad':
    case 'commok':
    case 'nocomm':
      return `comm:${ups}`;
    case 'lowbatt':
    case 'fsd':
    case 'dead':
    case 'silent':
      return undefined;
    default:
      return `${kind.replace(/^not/, '')}:${ups}`;
  }
}

function upsReadings(fact: UpsFact, wanted: UpsWording['readings']): string[] {
  const parts: string[] = [];
  for (const reading of wanted) {
    if (reading === 'runtime' && fact.runtime !== undefined)
      parts.push(`runtime ${humanDuration(fact.runtime * 1000)}`);
    if (reading === 'charge' && fact.charge !== undefined) parts.push(`charge ${fact.charge} %`);
    if (reading === 'next' && fact.nextStage !== undefined) {
      const { name, inMs } = fact.nextStage;
      parts.push(inMs <= 0 ? `stage '${name}' now` : `stage '${name}' in ${humanDuration(inMs)}`);
    }
    if (reading === 'status' && fact.status !== null && fact.status.length > 0)
      parts.push(`status ${fact.status.join(' ')}`);
    if (reading === 'unknown') parts.push('power state unknown until it answers again');
  }
  return parts;
}

function upsMessage(fact: UpsFact): Message {
  const wording = UPS_WORDING[fact.kind];
  const title = wording.title(fact.ups);
  const details = upsReadings(fact, wording.readings);
  const collapseKey = collapseKeyOf(fact.kind, fact.ups);
  return {
    kind: fact.kind,
    severity: wording.severity,
    title,
    text: details.length === 0 ? title : `${title} — ${details.join(', ')}`,
    markdown: details.length === 0 ? `**${md(title)}**` : `**${md(title)}**\n${md(details.join(' · '))}`,
    at: fact.at,
    ups: fact.ups,
    ...(collapseKey === undefined ? {} : { collapseKey }),
  };
}

interface Wording {
  readonly severity: Severity;
  readonly title: string;
  /** What follows the title in the one-line text. */
  readonly detail?: string;
  /** Between title and detail; " — " unless the detail reads as the title's continuation. */
  readonly separator?: ': ';
  readonly host?: string;
  readonly hosts?: readonly string[];
  readonly ups?: string;
}

function runWording(fact: RunFact): Wording {
  const drill = fact.drill;
  switch (fact.kind) {
    case 'run-started':
      return drill
        ? {
            severity: 'info',
            title: `Drill ${fact.run} started`,
            detail: 'every host checks its shutdown; nothing is shut down',
          }
        : { severity: 'warning', title: `Outage run ${fact.run} started`, detail: humanReason(fact.reason) };
    case 'stage-fired': {
      const hosts = fact.hosts.length === 0 ? undefined : fact.hosts.join(', ');
      if (drill)
        return {
          severity: 'info',
          title: `Stage '${fact.stage}' drilled`,
          detail:
            hosts === undefined ? 'no host in it' : `${hosts} check their shutdown; nothing is shut down`,
          hosts: fact.hosts,
        };
      const why = fact.reason === 'manual' ? 'fired by an admin' : stageReason(fact.reason);
      return {
        severity: 'critical',
        title: `Stage '${fact.stage}' fired`,
        separator: ': ',
        detail: `${why} — ${hosts === undefined ? 'no host to shut down now' : `shutting down ${hosts}`}`,
        hosts: fact.hosts,
      };
    }
    case 'host-down':
      if (fact.how === 'drill')
        return { severity: 'info', title: `${fact.host} passed its drill check`, host: fact.host };
      return fact.how === 'confirmed'
        ? {
            severity: 'warning',
            title: `${fact.host} is shutting down`,
            detail: 'confirmed',
            host: fact.host,
          }
        : {
            severity: 'warning',
            title: `${fact.host} counted as down`,
            detail: 'no confirmation within its grace time',
            host: fact.host,
          };
    case 'host-missing':
      return {
        severity: 'warning',
        title: `${fact.host} did not come back`,
        detail: 'woken, but its agent did not reconnect in time',
        host: fact.host,
      };
    case 'run-restoring':
      return {
        severity: 'info',
        title: `Run ${fact.run}: power restored`,
        detail: 'hosts are woken once mains has been stable long enough',
      };
    case 'run-resumed':
      return { severity: 'warning', title: `Run ${fact.run} resumed`, detail: humanReason(fact.reason) };
    case 'run-ended': {
      const detail = {
        restored: 'power restored',
        interrupted: 'interrupted',
        'drill-complete': 'every host checked',
        'manual-complete': 'the stages fired by hand are done',
      }[fact.reason];
      return { severity: 'info', title: `${drill ? 'Drill' : 'Run'} ${fact.run} ended`, detail };
    }
    case 'wake':
      return { severity: 'info', title: `Waking ${fact.host}`, detail: 'Wake-on-LAN sent', host: fact.host };
    case 'ups-power-off':
      return {
        severity: 'warning',
        title: `Powering off UPS ${fact.ups}`,
        detail: 'every host it feeds is down',
        ups: fact.ups,
      };
    case 'order-failed': {
      const where = fact.stage === undefined ? '' : ` (stage '${fact.stage}')`;
      const exit = fact.exitCode === undefined || fact.exitCode === null ? '' : ` (exit ${fact.exitCode})`;
      return {
        severity: drill ? 'warning' : 'critical',
        title: drill
          ? `Drill check failed on ${fact.host}${where}`
          : `Shutdown failed on ${fact.host}${where}`,
        detail: `${fact.error ?? 'no reason given'}${exit}`,
        host: fact.host,
      };
    }
  }
}

function fromWording(fact: RunFact, wording: Wording): Message {
  const prefix = fact.drill ? DRILL : '';
  const title = `${prefix}${wording.title}`;
  const detail = wording.detail;
  return {
    kind: fact.kind,
    severity: wording.severity,
    title,
    text: detail === undefined ? title : `${title}${wording.separator ?? ' — '}${detail}`,
    markdown: detail === undefined ? `**${md(title)}**` : `**${md(title)}**\n${md(detail)}`,
    at: fact.at,
    ...(wording.ups === undefined ? {} : { ups: wording.ups }),
    ...(wording.host === undefined ? {} : { host: wording.host }),
    ...(wording.hosts === undefined ? {} : { hosts: wording.hosts }),
  };
}

export function toMessage(fact: NotificationFact): Message {
  if (fact.kind === 'test') {
    const title = `upsfleet test message for channel '${fact.channel}'`;
    return {
      kind: 'test',
      severity: 'info',
      title,
      text: `${title}: if you read this, the channel works`,
      markdown: `**${md(title)}**\nif you read this, the channel works`,
      at: fact.at,
    };
  }
  if (isUpsFact(fact)) return upsMessage(fact);
  return fromWording(fact, runWording(fact));
}
