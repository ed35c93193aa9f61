import { z } from 'zod';
import type { Clock } from '../../shared/src/clock.js';
import { systemClock } from '../../shared/src/clock.js';
import { AppError, type ErrorCode, errorMessage } from '../../shared/src/errors.js';
import {
  type EnrollRequest,
  type EnrollResponse,
  EnrollResponseSchema,
  PROTOCOL_VERSION,
} from '../../shared/src/protocol.js';
import { generateSigningKey } from '../../shared/src/signing.js';
import { type AgentIdentity, ensureStateDir, readIdentity, writeEnrollment } from './state-dir.js';

export interface EnrollOptions {
  readonly coordinatorUrl: string;
  /** The one-time enrollment token; never logged or stored. */
  readonly token: string;
  readonly name: string;
  readonly stateDir: string;
  readonly fetch?: typeof globalThis.fetch;
  readonly now?: Clock['now'];
  readonly timeoutMs?: number;
}

/**
 * One-time enrollment: makes this agent's Ed25519 key pair, registers the public key with the
 * coordinator, and pins the coordinator's public key. Refuses a state dir that is already enrolled.
 */
export async function enroll(options: EnrollOptions): Promise<AgentIdentity> {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const now = options.now ?? systemClock.now;
  const base = parseCoordinatorUrl(options.coordinatorUrl);
  const existing = await readIdentity(options.stateDir);
  if (existing !== undefined) {
    throw new AppError(
      'conflict',
      `${options.stateDir} is already enrolled as ${existing.name} (agent ${existing.agentId}) with ` +
        `${existing.coordinatorUrl}; to enroll again, move that folder away first`,
    );
  }
  // Fail on an unwritable state dir before the coordinator burns the one-time token.
  await ensureStateDir(options.stateDir);

  const { keyPair, stored } = await generateSigningKey();
  const body: EnrollRequest = { token: options.token, name: options.name, publicKey: keyPair.publicJwk };
  const url = `${base}/agent/v1/enroll`;
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
  } catch (cause) {
    const detail = cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : '';
    throw new AppError(
      'internal',
      `[POST] "${url}": cannot reach the coordinator: ${errorMessage(cause)}${detail === '' ? '' : ` (${detail})`}`,
      { cause },
    );
  }
  if (response.status !== 201) throw await responseError(url, response);
  const enrolled = await parseEnrollResponse(url, response);
  if (enrolled.protocol !== PROTOCOL_VERSION) {
    throw new AppError(
      'protocol',
      `the coordinator speaks protocol ${enrolled.protocol}, this agent ${PROTOCOL_VERSION}: upgrade one of them`,
    );
  }
  const identity: AgentIdentity = {
    agentId: enrolled.agentId,
    name: enrolled.name,
    coordinatorUrl: base,
    enrolledAt: new Date(now()).toISOString(),
  };
  try {
    await writeEnrollment(options.stateDir, {
      identity,
      privateKey: stored,
      coordinatorKey: enrolled.coordinatorKey,
    });
  } catch (cause) {
    throw new AppError(
      'internal',
      `the coordinator enrolled ${identity.name} (agent ${identity.agentId}), but saving it in ` +
        `${options.stateDir} failed: ${errorMessage(cause)}; revoke that agent and enroll again with a new token`,
      { cause },
    );
  }
  return identity;
}

function parseCoordinatorUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.toString().replace(/\/+$/, '');
  } catch {
    // fall through
  }
  throw new AppError('bad_request', `coordinator must be an http:// or https:// URL, got "${text}"`);
}

async function parseEnrollResponse(url: string, response: Response): Promise<EnrollResponse> {
  let json: unknown;
  try {
    json = await response.json();
  } catch (cause) {
    throw new AppError('protocol', `[POST] "${url}": 201 with a body that is not JSON`, { cause });
  }
  const parsed = EnrollResponseSchema.safeParse(json);
  if (!parsed.success) {
    throw new AppError(
      'protocol',
      `[POST] "${url}": unexpected enrollment response: ${parsed.error.message}`,
    );
  }
  return parsed.data;
}

const ProblemSchema = z.object({ title: z.string().optional(), detail: z.string().optional() });

const STATUS_CODES: Readonly<Record<number, ErrorCode>> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  410: 'gone',
};

/** `[POST] "url": enrollment refused: 401 Unauthorized: <problem detail>` */
async function responseError(url: string, response: Response): Promise<AppError> {
  const status = `${response.status}${response.statusText === '' ? '' : ` ${response.statusText}`}`;
  const text = await response.text().catch(() => '');
  let detail = text.slice(0, 300).trim();
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    try {
      const problem = ProblemSchema.safeParse(JSON.parse(text));
      if (problem.success) detail = problem.data.detail ?? problem.data.title ?? detail;
    } catch {
      // not JSON after all: keep the raw text
    }
  }
  const code = STATUS_CODES[response.status] ?? (response.status >= 500 ? 'internal' : 'bad_request');
  return new AppError(
    code,
    `[POST] "${url}": enrollment refused: ${status}${detail === '' ? '' : `: ${detail}`}`,
    {
      details: { status: response.status },
    },
  );
}
