/** Types of build-edge.mjs, for the TypeScript that imports it (the edge's local launcher). */
export interface EmbeddedMigration {
  readonly sql: string[];
  readonly bps: boolean;
  readonly folderMillis: number;
  readonly hash: string;
}
export function embeddedMigrations(): Promise<EmbeddedMigration[]>;
export function buildEdge(options?: { outfile?: string; quiet?: boolean }): Promise<{ outfile: string; bytes: number }>;
