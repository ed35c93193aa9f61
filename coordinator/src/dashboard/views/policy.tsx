/** The policy as a picture: stages in order with triggers, hosts and dependencies; the plan's timeline. */
import { type PolicyView, seconds } from '../view-model.js';

export function PolicyPicture(props: { policy: PolicyView | undefined }) {
  const { policy } = props;
  if (policy === undefined)
    return (
      <p class="muted">
        No policy applied yet: <code>upsfleet policy apply policy.yaml</code>
      </p>
    );
  return (
    <>
      <ol class="plan" aria-label="The plan for an outage starting now">
        {policy.plan.map((step, index) => (
          <li>
            {index === 0 ? (
              <b>{step.what}</b>
            ) : (
              <>
                <b>{step.what}</b> at +{seconds(step.at)}
              </>
            )}
          </li>
        ))}
      </ol>
      {policy.planNote === undefined ? null : <p class="muted small">{policy.planNote}</p>}
      <ol class="stages">
        {policy.stages.map((stage) => (
          <li class="stage" data-stage={stage.name}>
            <h3>{stage.name}</h3>
            <p>
              <span class="muted">when</span> {stage.trigger}
            </p>
            {stage.after.length === 0 ? null : (
              <p>
                <span class="muted">after</span> {stage.after.join(', ')} down
              </p>
            )}
            <p>
              <span class="muted">hosts</span> {stage.hosts.join(', ')}
            </p>
            <p class="muted small">grace {seconds(stage.grace)}</p>
          </li>
        ))}
      </ol>
    </>
  );
}
