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

/** A value SQLite stores and returns (`ctx.storage.sql`). */
export type SqlValue = string | number | null | ArrayBuffer;

/** The result of `sql.exec`: rows, read once. */
export interface SqlCursor<Row extends Record<string, SqlValue>> {
  toArray(): Row[];
  one(): Row;
  readonly rowsWritten: number;
}

/** A SQLite-backed Durable Object's own database: synchronous, committed with the object's output. */
export interface SqlStorage {
  exec<Row extends Record<string, SqlValue> = Record<string, SqlValue>>(
    query: string,
    ...bindings: SqlValue[]
  ): SqlCursor<Row>;
}

export interface DurableObjectStorage {
  readonly sql: SqlStorage;
  /** Runs `callback` in one SQLite transaction (rolled back when it throws). */
  transactionSync<T>(callback: () => T): T;
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
