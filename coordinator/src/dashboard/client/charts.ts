/** History and outage charts with uPlot, from the JSON the server put beside each chart. */
import uPlot from 'uplot';

interface Series {
  t: number[];
  charge: (number | null)[];
  runtime: (number | null)[];
  load: (number | null)[];
  voltage: (number | null)[];
}

type Ranges = Record<'hour' | 'day' | 'week', Series>;

const charts = new Map<HTMLElement, uPlot>();

function color(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

const minutes = (values: (number | null)[]) =>
  values.map((v) => (v === null ? null : Math.round(v / 6) / 10));

const SPANS: Record<string, number> = { hour: 3600, day: 86_400, week: 7 * 86_400 };

function options(width: number, kind: 'history' | 'curve', range: string): uPlot.Options {
  const axis = {
    stroke: color('--muted'),
    grid: { stroke: color('--grid'), width: 1 },
    ticks: { stroke: color('--grid') },
  };
  return {
    width,
    height: kind === 'curve' ? 180 : 150,
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      // A history chart always spans its whole range, however few readings it has.
      x:
        kind === 'history'
          ? { time: true, range: () => [Date.now() / 1000 - (SPANS[range] ?? 3600), Date.now() / 1000] }
          : { time: true },
      pct: { range: [0, 100] },
      min: { auto: true },
    },
    series: [
      {},
      { label: 'charge %', scale: 'pct', stroke: color('--ok'), width: 2, spanGaps: true },
      { label: 'runtime min', scale: 'min', stroke: color('--accent'), width: 2, spanGaps: true },
      ...(kind === 'history'
        ? [{ label: 'load %', scale: 'pct', stroke: color('--warn'), width: 1, spanGaps: true }]
        : []),
    ],
    axes: [axis, { ...axis, scale: 'pct', size: 40 }, { ...axis, scale: 'min', side: 1, size: 40 }],
  };
}

function columns(series: Series, kind: 'history' | 'curve'): uPlot.AlignedData {
  return kind === 'history'
    ? [series.t, series.charge, minutes(series.runtime), series.load]
    : [series.t, series.charge, minutes(series.runtime)];
}

function draw(element: HTMLElement, series: Series, kind: 'history' | 'curve', range = 'hour'): void {
  charts.get(element)?.destroy();
  element.replaceChildren();
  if (series.t.length === 0) {
    const note = document.createElement('p');
    note.className = 'muted small chart-empty';
    note.textContent = 'no history yet';
    element.append(note);
    return;
  }
  const width = Math.max(200, element.clientWidth || element.parentElement?.clientWidth || 300);
  charts.set(element, new uPlot(options(width, kind, range), columns(series, kind), element));
}

function dataOf(element: HTMLElement): unknown {
  const script = element.parentElement?.querySelector('script.chart-data');
  return script?.textContent ? JSON.parse(script.textContent) : undefined;
}

/** Draws every chart inside `root` (the page, or a section just replaced). */
export function drawCharts(root: ParentNode): void {
  for (const element of root.querySelectorAll<HTMLElement>('[data-chart]')) {
    const data = dataOf(element);
    if (data === undefined) continue;
    if (element.dataset.chart === 'curve') draw(element, data as Series, 'curve');
    else {
      const range = (element.dataset.range ?? 'hour') as keyof Ranges;
      draw(element, (data as Ranges)[range], 'history', range);
    }
  }
}

/** Forgets charts whose element left the page. */
export function pruneCharts(): void {
  for (const [element, chart] of charts)
    if (!element.isConnected) {
      chart.destroy();
      charts.delete(element);
    }
}

/** hour / day / week buttons. */
export function onRangeClick(button: HTMLButtonElement): void {
  const history = button.closest('.history');
  const chart = history?.querySelector<HTMLElement>('[data-chart]');
  if (history === null || history === undefined || chart === null || chart === undefined) return;
  for (const other of history.querySelectorAll('button[data-range]'))
    other.setAttribute('aria-pressed', String(other === button));
  chart.dataset.range = button.dataset.range ?? 'hour';
  drawCharts(history);
}

export function resizeCharts(): void {
  for (const [element, chart] of charts)
    chart.setSize({ width: Math.max(200, element.clientWidth || 300), height: chart.height });
}
