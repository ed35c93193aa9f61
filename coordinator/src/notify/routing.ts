/**
 * Which channels hear about a message: NUT's NOTIFYFLAG, per channel, plus subjects. An empty list
 * means "everything". A UPS or host filter applies to messages about a UPS or a host; a message
 * without such a subject (a run starting, a stage firing for the whole fleet) passes it.
 */
import type { Message } from './messages.js';

export interface Route {
  readonly enabled: boolean;
  readonly events: readonly string[];
  readonly ups: readonly string[];
  readonly hosts: readonly string[];
}

export function routes(route: Route, message: Message): boolean {
  if (!route.enabled) return false;
  if (route.events.length > 0 && !route.events.includes(message.kind)) return false;
  if (route.ups.length > 0 && message.ups !== undefined && !route.ups.includes(message.ups)) return false;
  const hosts = [...(message.host === undefined ? [] : [message.host]), ...(message.hosts ?? [])];
  if (route.hosts.length > 0 && hosts.length > 0 && !hosts.some((host) => route.hosts.includes(host)))
    return false;
  return true;
}
