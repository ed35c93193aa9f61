/**
 * The parts of prom-client the coordinator's series are built from, shared by Node and the edge.
 *
 * Imported file by file, not through prom-client's index: the index also loads the default
 * (process) metrics, the cluster aggregator and the Pushgateway, which need `node:process`,
 * `cluster`, `http` and `v8`: workerd has none of them. Registry, Gauge, Counter and Histogram need
 * only `util`, which workerd's nodejs_compat provides (the edge contract suite scrapes /metrics).
 * The process metrics are the Node adapter's part (process-metrics.ts).
 */
import Counter from 'prom-client/lib/counter.js';
import Gauge from 'prom-client/lib/gauge.js';
import Histogram from 'prom-client/lib/histogram.js';
import Registry from 'prom-client/lib/registry.js';

export { Counter, Gauge, Histogram, Registry };
