import { z } from 'zod';
import {
  DrillStartedSchema,
  PlanResultSchema,
  RunDetailSchema,
  RunEventSchema,
  ValidationSchema,
} from '../../shared/src/admin-api.js';
import type { AdminClient } from './admin-client.js';
import { timelineLine } from './cli-context.js';
import { followStream } from './follow-stream.js';
import { readDocument } from './read-document.js';
import { UsageError } from './usage-error.js';

type Client = AdminClient;
type Out = (data: unknown, human: () => string) => void;

/** `upsfleet policy validate FILE` and `upsfleet policy plan [--scenario FILE] [--policy FILE]`. */
export async function policyCommand(
  client: Client,
  sub: string | undefined,
  arg: string | undefined,
  flags: { scenario?: string | undefined; policy?: string | undefined; unresponsive?: string | undefined },
  out: Out,
): Promise<number> {
  if (sub === 'validate' && arg !== undefined) {
    const result = await client.post('/api/v1/policy/validate', ValidationSchema, await readDocument(arg));
    out(result, () =>
      [
        result.valid ? `${arg}: valid` : `${arg}: invalid`,
        ...result.errors.map((e) => `  error: ${e}`),
        ...result.warnings.map((w) => `  warning: ${w}`),
      ].join('\n'),
    );
    return result.valid ? 0 : 1;
  }
  if (sub === 'plan') {
    const body = {
      ...(flags.scenario === undefined ? {} : { scenario: await readDocument(flags.scenario) }),
      ...(flags.policy === undefined ? {} : { policy: await readDocument(flags.policy) }),
      ...(flags.unresponsive === undefined
        ? {}
        : { options: { unresponsive: flags.unresponsive.split(',') } }),
    };
    const result = await client.post('/api/v1/policy/plan', PlanResultSchema, body);
    out(result, () => result.text);
    return 0;
  }
  throw new UsageError(
    'usage: upsfleet policy show | apply FILE | validate FILE | plan [--scenario FILE] [--policy FILE]',
  );
}

/** The time of day: a drill lasts seconds. */
const timeOfDay = (iso: string) => new Date(iso).toISOString().slice(11, 19);

/** `upsfleet drill`: starts a fleet-wide drill and prints its timeline as it happens, until it ends. */
export async function drillCommand(
  client: Client,
  options: { follow: boolean; json: boolean; write?: (text: string) => void },
): Promise<number> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  if (!options.follow) {
    const started = await client.post('/api/v1/drills', DrillStartedSchema, {});
    write(
      options.json
        ? `${JSON.stringify(started)}\n`
        : `Drill ${started.number} started (run ${started.runId ?? started.number}).\n`,
    );
    return 0;
  }
  // The stream is open before the drill starts, so its first timeline entry is not missed.
  let started: z.output<typeof DrillStartedSchema> | undefined;
  await followStream(
    client,
    {
      topics: ['run'],
      signal: new AbortController().signal,
      onDrop: () => {
        if (!options.json) process.stderr.write('(connection to the coordinator lost: reconnecting…)\n');
      },
    },
    async (message) => {
      if (message.event === 'hello' && started === undefined) {
        started = await client.post('/api/v1/drills', DrillStartedSchema, {});
        if (!options.json)
          write(
            `Drill ${started.number} started; every host verifies a drill order and reports what it would do.\n`,
          );
        return false;
      }
      if (message.event !== 'run' || started === undefined) return false;
      const entry = StreamRunEventSchema.parse(JSON.parse(message.data));
      if (entry.run.number !== started.number) return false;
      write(options.json ? `${JSON.stringify(entry)}\n` : `${timelineLine(entry, timeOfDay)}\n`);
      return entry.kind === 'run-ended';
    },
  );
  if (started === undefined) return 1;
  const run = await client.get(`/api/v1/runs/${started.runId ?? started.number}`, RunDetailSchema);
  if (!options.json) {
    write(`\nDrill ${run.endReason ?? 'ended'}. Per host:\n`);
    for (const order of run.orders) {
      const detail = order.error ?? order.output ?? order.ackReason ?? '';
      // Drill output has one line per check: keep them under their host.
      const lines = detail.split('\n').join(`\n${' '.repeat(30)}`);
      write(
        `  ${order.host.padEnd(16)} ${(order.outcome ?? order.ackStatus ?? 'no answer').padEnd(10)} ${lines}\n`,
      );
    }
  }
  const failed = run.orders.some((order) => order.error !== null) || run.endReason !== 'drill-complete';
  return failed ? 1 : 0;
}

/** A `run` message of the live stream: a timeline entry with its run's number. */
const StreamRunEventSchema = RunEventSchema.extend({ run: z.looseObject({ number: z.number().nullable() }) });
