import { CloseCode, type CoordinatorMessage, encodeMessage } from '../../../shared/src/protocol.js';

/** What the hub needs from one live agent connection. */
export interface AgentConnection {
  readonly agentId: string;
  send(message: string): void;
  close(code: number, reason: string): void;
}

/** The live agent connections, by agent id; at most one per agent (a newer one replaces the older). */
export function createHub() {
  const connections = new Map<string, AgentConnection>();
  return {
    add(connection: AgentConnection): void {
      const previous = connections.get(connection.agentId);
      connections.set(connection.agentId, connection);
      previous?.close(CloseCode.Replaced, 'replaced by a newer connection');
    },
    /** True when it was the agent's current connection (not one already replaced by a newer one). */
    remove(connection: AgentConnection): boolean {
      if (connections.get(connection.agentId) !== connection) return false;
      connections.delete(connection.agentId);
      return true;
    },
    /** Sends if the agent is connected; false otherwise (the order stays pending in the database). */
    send(agentId: string, message: CoordinatorMessage): boolean {
      const connection = connections.get(agentId);
      if (connection === undefined) return false;
      connection.send(encodeMessage(message));
      return true;
    },
    /** Sends to every connected agent. */
    broadcast(message: CoordinatorMessage): void {
      const text = encodeMessage(message);
      for (const connection of connections.values()) connection.send(text);
    },
    isConnected(agentId: string): boolean {
      return connections.has(agentId);
    },
    disconnect(agentId: string, code: number, reason: string): void {
      connections.get(agentId)?.close(code, reason);
    },
    closeAll(code: number, reason: string): void {
      for (const connection of connections.values()) connection.close(code, reason);
      connections.clear();
    },
    get size() {
      return connections.size;
    },
  };
}
export type Hub = ReturnType<typeof createHub>;
