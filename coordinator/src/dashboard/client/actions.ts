/** The write token's actions: a drill, a manual stage after a typed confirmation, an enrollment command. */

interface Problem {
  detail?: string;
  title?: string;
  errors?: string[];
}

async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const data = (await response.json().catch(() => ({}))) as Record<string, unknown> & Problem;
  if (!response.ok) throw new Error(data.detail ?? data.title ?? `${response.status} ${response.statusText}`);
  return data;
}

function say(text: string, tone: 'ok' | 'bad'): void {
  const out = document.querySelector<HTMLElement>('.action-result');
  if (out === null) return;
  out.textContent = text;
  out.className = `action-result tone-${tone}`;
}

const field = (form: HTMLFormElement, name: string) =>
  (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null)?.value.trim() ?? '';

async function act(form: HTMLFormElement): Promise<void> {
  switch (form.dataset.action) {
    case 'drill': {
      const started = await call('POST', '/api/v1/drills');
      say(`Drill ${String(started.number)} started: each host's checks appear under Current run.`, 'ok');
      document.getElementById('run')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
      return;
    }
    case 'fire': {
      const stage = field(form, 'stage');
      if (field(form, 'confirm') !== stage) throw new Error(`type "${stage}" to confirm`);
      await call('POST', `/api/v1/stages/${encodeURIComponent(stage)}/fire`);
      (form.elements.namedItem('confirm') as HTMLInputElement).value = '';
      syncConfirm(form);
      say(`Stage ${stage} fired.`, 'ok');
      return;
    }
    case 'enroll': {
      const name = field(form, 'name');
      const created = await call('POST', '/api/v1/enrollments', { name });
      const pre = form.querySelector<HTMLElement>('.enroll-command');
      if (pre !== null) {
        pre.hidden = false;
        pre.textContent = `upsfleet enroll --coordinator ${window.location.origin} --token ${String(created.token)} --name ${name}`;
      }
      say(
        `Run this on ${name} before ${new Date(String(created.expiresAt)).toLocaleString()}; the token works once.`,
        'ok',
      );
      return;
    }
  }
}

/** The fire button stays disabled until the stage's name is typed. */
export function syncConfirm(form: HTMLFormElement): void {
  const button = form.querySelector<HTMLButtonElement>('button[type=submit]');
  if (button !== null)
    button.disabled = field(form, 'confirm') === '' || field(form, 'confirm') !== field(form, 'stage');
}

export function startActions(): void {
  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.dataset.action === undefined) return;
    event.preventDefault();
    const button = form.querySelector<HTMLButtonElement>('button[type=submit]');
    if (button !== null) button.disabled = true;
    act(form)
      .catch((error: unknown) => say(error instanceof Error ? error.message : String(error), 'bad'))
      .finally(() => {
        if (button !== null) button.disabled = false;
        if (form.dataset.action === 'fire') syncConfirm(form);
      });
  });
  document.addEventListener('input', (event) => {
    const form = (event.target as HTMLElement | null)?.closest?.('form');
    if (form instanceof HTMLFormElement && form.dataset.action === 'fire') syncConfirm(form);
  });
  document.addEventListener('change', (event) => {
    const form = (event.target as HTMLElement | null)?.closest?.('form');
    if (form instanceof HTMLFormElement && form.dataset.action === 'fire') syncConfirm(form);
  });
}
