/**
 * The Worker entry of the edge coordinator: routes each request to its fleet's Durable Object.
 * The default fleet answers at the root URL (the same URLs as the Node coordinator); every other
 * fleet named in UPSFLEET_FLEETS under `/fleets/<name>/…` (agents and the CLI take that as their
 * coordinator URL).
 */
import { NotFoundError } from '../../../shared/src/errors.js';
import { problemOf } from '../http/problem.js';
import { type EdgeBindings, fleetsOf, loadEdgeConfig, routeToFleet } from './edge-config.js';
import { CLIENT_HEADER, FLEET_HEADER, FleetObject, problemResponse } from './fleet-object.js';
import type { DurableObjectNamespace } from './workerd-types.js';

export interface WorkerEnv extends EdgeBindings {
  readonly FLEET: DurableObjectNamespace;
}

export async function handleRequest(request: Request, env: WorkerEnv): Promise<Response> {
  try {
    const url = new URL(request.url);
    const route = routeToFleet(url.pathname, fleetsOf(env));
    if (route === undefined) throw new NotFoundError(`no fleet at ${url.pathname}`);
    // A missing secret is named here, before the fleet's object starts.
    loadEdgeConfig(env, route.fleet);
    url.pathname = route.path;
    const forwarded = new Request(url, request);
    forwarded.headers.set(FLEET_HEADER, route.fleet);
    // Cloudflare sets CF-Connecting-IP; nothing a client sends in our own header is kept.
    forwarded.headers.set(CLIENT_HEADER, request.headers.get('cf-connecting-ip') ?? 'unknown');
    return await env.FLEET.get(env.FLEET.idFromName(route.fleet)).fetch(forwarded);
  } catch (error) {
    return problemResponse(problemOf(error));
  }
}

export { FleetObject };

// biome-ignore lint/style/noDefaultExport: workerd's module format needs the default export.
export default { fetch: handleRequest };
