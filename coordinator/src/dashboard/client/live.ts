/**
 * Keeps the page live: one EventSource on /api/v1/stream; each message names the sections to
 * re-render (fetched from the server, which renders them exactly as on first load). A dropped
 * stream is retried by itself, and the page says so meanwhile.
 */
type Section = 'ups' | 'run' | 'hosts' | 'policy' | 'events' | 'channels';

const REFRESH: Record<string, Section[]> = {
  hello: ['ups', 'run', 'hosts', 'policy', 'events', 'channels'],
  ups: ['ups', 'events', 'policy'],
  run: ['run', 'hosts'],
  host: ['hosts'],
  fleet: ['run', 'hosts', 'channels', 'policy'],
};

export function startLive(onSections: (html: string) => void): void {
  const status = document.getElementById('live');
  const pending = new Set<Section>();
  let scheduled = false;
  let firstHello = true;
  let retry = 1000;

  const show = (state: 'live' | 'reconnecting' | 'connecting', text: string) => {
    if (status === null) return;
    status.dataset.state = state;
    status.textContent = text;
  };

  async function refresh(): Promise<void> {
    scheduled = false;
    const names = [...pending];
    pending.clear();
    if (names.length === 0) return;
    const response = await fetch(`/dashboard/sections?only=${names.join(',')}`, {
      credentials: 'same-origin',
    });
    if (response.status === 401) {
      window.location.assign('/');
      return;
    }
    if (response.ok) onSections(await response.text());
  }

  const schedule = (names: readonly Section[]) => {
    for (const name of names) pending.add(name);
    if (scheduled) return;
    scheduled = true;
    window.setTimeout(() => void refresh().catch(() => show('reconnecting', 'reconnecting…')), 150);
  };

  function connect(): void {
    const source = new EventSource('/api/v1/stream');
    source.addEventListener('open', () => {
      retry = 1000;
      show('live', 'live');
    });
    for (const event of Object.keys(REFRESH))
      source.addEventListener(event, () => {
        if (event === 'hello' && firstHello) {
          firstHello = false;
          return;
        }
        schedule(REFRESH[event] ?? []);
      });
    source.addEventListener('error', () => {
      show('reconnecting', 'reconnecting…');
      if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      // Refused (not a drop): signed out, or the coordinator answers with an error. Ask why.
      void fetch('/dashboard/sections?only=channels', { credentials: 'same-origin' })
        .then((response) => {
          if (response.status === 401) window.location.assign('/');
        })
        .catch(() => undefined);
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30_000);
    });
  }
  connect();
}
