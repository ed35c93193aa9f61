/**
 * `npm run edge:dev -- [--port N] [--persist DIR]`: the edge coordinator in local workerd on
 * 127.0.0.1, offline. Bindings come from the environment, as secrets do in a deployment:
 * DATABASE_URL, UPSFLEET_ADMIN_TOKEN, UPSFLEET_FLEETS and UPSFLEET_ADMIN_TOKEN_<FLEET>.
 */
import { parseArgs } from 'node:util';
import { edgeBindingsFrom, startLocalEdge } from './local-workerd.js';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '8787' }, persist: { type: 'string', default: 'data/edge' } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port: "${values.port}" is not a port number`);
  process.exit(2);
}
const edge = await startLocalEdge({
  port,
  persistDir: values.persist,
  bindings: edgeBindingsFrom(process.env),
});
console.log(`edge coordinator (workerd) listening on ${edge.url}; state in ${values.persist}`);
const stop = () => {
  void edge.stop().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
