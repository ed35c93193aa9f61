/** The dashboard's script: charts, live updates, actions. Bundled into assets.generated.ts. */
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import { startActions } from './actions.js';
import { drawCharts, onRangeClick, pruneCharts, resizeCharts } from './charts.js';
import { startLive } from './live.js';

function replaceSections(html: string): void {
  const template = document.createElement('template');
  template.innerHTML = html;
  for (const section of template.content.querySelectorAll('section[id]')) {
    const current = document.getElementById(section.id);
    if (current === null) continue;
    // Keep the chosen history range of each UPS across the update.
    const ranges = new Map(
      [...current.querySelectorAll<HTMLElement>('[data-ups]')].map((card) => [
        card.dataset.ups,
        card.querySelector<HTMLElement>('[data-chart]')?.dataset.range ?? 'hour',
      ]),
    );
    for (const card of section.querySelectorAll<HTMLElement>('[data-ups]')) {
      const range = ranges.get(card.dataset.ups);
      const chart = card.querySelector<HTMLElement>('[data-chart]');
      if (range === undefined || chart === null) continue;
      chart.dataset.range = range;
      for (const button of card.querySelectorAll('button[data-range]'))
        button.setAttribute('aria-pressed', String(button.getAttribute('data-range') === range));
    }
    current.replaceWith(section);
    drawCharts(section);
  }
  pruneCharts();
}

document.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement | null)?.closest?.('button[data-range]');
  if (button instanceof HTMLButtonElement) onRangeClick(button);
});
let resizeTimer: number | undefined;
window.addEventListener('resize', () => {
  window.clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(resizeCharts, 150);
});

drawCharts(document);
startActions();
startLive(replaceSections);
