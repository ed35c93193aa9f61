/** A horizontal gauge with the UPS's own marks (warning, low), as HTML the server renders. */
import type { Tone } from '../status-words.js';

export interface Mark {
  readonly at: number;
  readonly label: string;
  readonly tone: 'warn' | 'bad';
}

export interface GaugeProps {
  readonly label: string;
  /** The NUT variable, shown beside the label. */
  readonly variable: string;
  readonly value: number | undefined;
  readonly text: string;
  readonly min: number;
  readonly max: number;
  readonly marks: readonly Mark[];
  readonly tone: Tone;
}

const percent = (value: number, min: number, max: number) =>
  Math.max(0, Math.min(100, ((value - min) / (max - min || 1)) * 100));

export function Gauge(props: GaugeProps) {
  const { value, min, max } = props;
  return (
    <div class={`gauge tone-${value === undefined ? 'unknown' : props.tone}`}>
      <div class="gauge-head">
        <span class="gauge-label">
          {props.label} <code>{props.variable}</code>
        </span>
        <b class="gauge-value">{value === undefined ? 'not reported' : props.text}</b>
      </div>
      <div class="gauge-bar" aria-hidden="true">
        {value === undefined ? null : (
          <span class="gauge-fill" style={`width:${percent(value, min, max)}%`} />
        )}
        {props.marks.map((mark) => (
          <i
            class={`gauge-mark mark-${mark.tone}`}
            style={`left:${percent(mark.at, min, max)}%`}
            title={mark.label}
          />
        ))}
      </div>
      {props.marks.length === 0 ? null : (
        <div class="gauge-marks">{props.marks.map((mark) => mark.label).join(' · ')}</div>
      )}
    </div>
  );
}
