/**
 * The few workerd (Cloudflare Workers) APIs the edge adapter uses, typed here rather than through
 * @cloudflare/workers-types, whose globals clash with @types/node in the one project tsconfig.
 * Names and shapes follow the runtime's documentation.
 */

/** A server-side WebSocket in a Durable Object (hibernation API). */
export interface EdgeSocket {
  send(message: string): void;
  close(code?: number, reason?: string): void;
  serializeAttachment(value: unknown): void;
  deserializeAttachment(): unknown;
  readonly readyState: number;
}

export interface DurableObjectStorage {
  getAlarm(): Promise<number | null>;
  setAlarm(scheduledTime: number): Promise<void>;
  deleteAlarm(): Promise<void>;
  get<T>(key: string): Promise<T | undefined>;
  put(key: string, value: unknown): Promise<void>;
}

export interface DurableObjectState {
  readonly storage: DurableObjectStorage;
  acceptWebSocket(socket: EdgeSocket, tags?: string[]): void;
  getWebSockets(tag?: string): EdgeSocket[];
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
}

export interface DurableObjectStub {
  fetch(request: Request): Promise<Response>;
}

export interface DurableObjectNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): DurableObjectStub;
}

/** `new WebSocketPair()`: [client, server]. */
export type WebSocketPairConstructor = new () => { 0: EdgeSocket; 1: EdgeSocket };

/** The runtime's globals that Node does not have, reached without declaring them globally. */
export function workerdGlobals() {
  const scope = globalThis as unknown as { WebSocketPair?: WebSocketPairConstructor };
  if (scope.WebSocketPair === undefined) throw new Error('not running in workerd: no WebSocketPair');
  return { WebSocketPair: scope.WebSocketPair };
}

/** A 101 answer handing the client end of a pair to the runtime (workerd's ResponseInit extension). */
export function upgradeResponse(client: EdgeSocket): Response {
  return new Response(null, { status: 101, webSocket: client } as ResponseInit);
}
