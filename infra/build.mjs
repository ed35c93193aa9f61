// `npm run build [-- agent cli sea]`: what upsfleet ships, into dist/ (all three without arguments).
//   agent  dist/upsfleet-agent.mjs   the agent as one file for a plain Node.js
//   cli    dist/cli/                 the whole upsfleet program, as the npm package carries it
//   sea    dist/sea/                 the agent as a single executable for linux-x64 and linux-arm64
import { buildAgent } from './build/agent.mjs';
import { buildCli } from './build/cli.mjs';
import { buildSea } from './build/sea.mjs';

const TARGETS = { agent: buildAgent, cli: buildCli, sea: buildSea };
const asked = process.argv.slice(2);
const unknown = asked.filter((target) => !(target in TARGETS));
if (unknown.length > 0) {
  console.error(`unknown build target ${unknown.join(', ')}; known: ${Object.keys(TARGETS).join(', ')}`);
  process.exit(2);
}
for (const target of asked.length === 0 ? Object.keys(TARGETS) : asked) await TARGETS[target]();
