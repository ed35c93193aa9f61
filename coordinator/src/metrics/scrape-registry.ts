/**
 * A private prom-client registry that reads the fleet once before each scrape is formatted.
 *
 * prom-client's `collect()` callbacks run per metric, after the registry has fixed its list of
 * metric families. That fits gauges with known names, but not NUT variables, where each variable is
 * its own family (nut_exporter's naming) and which ones exist is only known after reading the UPS
 * states. So `metrics()` first awaits `refresh` (which reads each source once and may add or remove
 * families), then formats. Callers need nothing but `registry.metrics()`.
 */
import { Registry } from './prom.js';

export class ScrapeRegistry extends Registry {
  readonly #refresh: () => Promise<void>;

  constructor(refresh: () => Promise<void>) {
    super();
    this.#refresh = refresh;
  }

  override async metrics(): Promise<string> {
    await this.#refresh();
    return super.metrics();
  }

  override async getMetricsAsJSON(): ReturnType<Registry['getMetricsAsJSON']> {
    await this.#refresh();
    return super.getMetricsAsJSON();
  }
}
