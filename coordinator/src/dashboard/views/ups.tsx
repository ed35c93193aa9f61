/** One card per UPS: status in plain words (NUT's beside), gauges with its own marks, history charts. */
import { ago, plainStatus, type Tone } from '../status-words.js';
import { seconds, type UpsView } from '../view-model.js';
import { Gauge, type GaugeProps, type Mark } from './gauge.js';
import { JsonData } from './json-data.js';

const num = (vars: Record<string, string>, name: string): number | undefined => {
  const text = vars[name];
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
};

function chargeGauge(vars: Record<string, string>): GaugeProps {
  const value = num(vars, 'battery.charge');
  const low = num(vars, 'battery.charge.low');
  const warning = num(vars, 'battery.charge.warning');
  const marks: Mark[] = [
    ...(warning === undefined ? [] : [{ at: warning, label: `warning ${warning} %`, tone: 'warn' as const }]),
    ...(low === undefined ? [] : [{ at: low, label: `low ${low} %`, tone: 'bad' as const }]),
  ];
  const tone: Tone =
    value === undefined
      ? 'unknown'
      : low !== undefined && value <= low
        ? 'bad'
        : warning !== undefined && value <= warning
          ? 'warn'
          : 'ok';
  return {
    label: 'Charge',
    variable: 'battery.charge',
    value,
    text: `${value} %`,
    min: 0,
    max: 100,
    marks,
    tone,
  };
}

function runtimeGauge(vars: Record<string, string>): GaugeProps {
  const value = num(vars, 'battery.runtime');
  const low = num(vars, 'battery.runtime.low');
  const max = Math.max(value ?? 0, (low ?? 120) * 5, 1800);
  const marks: Mark[] =
    low === undefined ? [] : [{ at: low, label: `low ${seconds(low * 1000)}`, tone: 'bad' }];
  const tone: Tone =
    value === undefined
      ? 'unknown'
      : low !== undefined && value <= low
        ? 'bad'
        : low !== undefined && value <= low * 2
          ? 'warn'
          : 'ok';
  return {
    label: 'Runtime',
    variable: 'battery.runtime',
    value,
    text: value === undefined ? '' : seconds(value * 1000),
    min: 0,
    max: max,
    marks,
    tone,
  };
}

function loadGauge(vars: Record<string, string>): GaugeProps {
  const value = num(vars, 'ups.load');
  const high = num(vars, 'ups.load.high');
  const marks: Mark[] = high === undefined ? [] : [{ at: high, label: `high ${high} %`, tone: 'warn' }];
  const tone: Tone = value === undefined ? 'unknown' : value >= (high ?? 90) ? 'warn' : 'ok';
  return { label: 'Load', variable: 'ups.load', value, text: `${value} %`, min: 0, max: 100, marks, tone };
}

function voltageGauge(vars: Record<string, string>): GaugeProps {
  const value = num(vars, 'input.voltage');
  const nominal = num(vars, 'input.voltage.nominal') ?? (value !== undefined && value > 160 ? 230 : 120);
  const low = num(vars, 'input.transfer.low');
  const high = num(vars, 'input.transfer.high');
  const marks: Mark[] = [
    ...(low === undefined ? [] : [{ at: low, label: `transfer below ${low} V`, tone: 'bad' as const }]),
    ...(high === undefined ? [] : [{ at: high, label: `transfer above ${high} V`, tone: 'bad' as const }]),
  ];
  const tone: Tone =
    value === undefined
      ? 'unknown'
      : (low !== undefined && value <= low) || (high !== undefined && value >= high)
        ? 'bad'
        : 'ok';
  return {
    label: 'Input',
    variable: 'input.voltage',
    value,
    text: `${value} V`,
    min: 0,
    max: Math.round(nominal * 1.3),
    marks,
    tone,
  };
}

export function UpsCard(props: { ups: UpsView; now: number }) {
  const { ups, now } = props;
  const state = ups.state;
  const vars = (state?.vars ?? {}) as Record<string, string>;
  const status = state === undefined ? undefined : plainStatus(state.status, state.dead);
  const model = [vars['device.mfr'] ?? vars['ups.mfr'], vars['device.model'] ?? vars['ups.model']]
    .filter(Boolean)
    .join(' ');
  return (
    <article class={`card ups tone-${status?.tone ?? 'unknown'}`} data-ups={ups.name}>
      <header>
        <h3>{ups.name}</h3>
        {model === '' ? null : <span class="muted">{model}</span>}
      </header>
      {state === undefined ? (
        <p class="status no-reading">
          no reading yet{ups.watcher === undefined ? '' : ` — waiting for watcher ${ups.watcher}`}
        </p>
      ) : (
        <>
          <p class="status">
            <span class="status-words">{status?.text}</span>{' '}
            <code class="nut-words" title="ups.status as upsd reports it">
              {state.status?.join(' ') ?? 'unknown'}
            </code>
          </p>
          <p class="muted small">
            since {ago(state.powerSince, now)} · last reading{' '}
            <time datetime={state.observedAt.toISOString()}>{ago(state.observedAt, now)}</time>
            {ups.watcher === undefined ? '' : ` · watcher ${ups.watcher}`}
            {ups.inPolicy ? '' : ' · not in the policy'}
          </p>
          <div class="gauges">
            {[chargeGauge, runtimeGauge, loadGauge, voltageGauge].map((gauge) => (
              <Gauge {...gauge(vars)} />
            ))}
          </div>
        </>
      )}
      <div class="history">
        <div class="range">
          <button type="button" data-range="hour" aria-pressed="true">
            hour
          </button>
          <button type="button" data-range="day" aria-pressed="false">
            day
          </button>
          <button type="button" data-range="week" aria-pressed="false">
            week
          </button>
        </div>
        <div class="chart" data-chart="history" data-range="hour" />
        <JsonData data={ups.history} />
      </div>
    </article>
  );
}
