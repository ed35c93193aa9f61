/** The dashboard page and the sign-in page. Sections are rendered alone too, for live updates. */
import type { Child } from 'hono/jsx';
import type { DashboardView } from '../view-model.js';
import { HostsTable } from './hosts.js';
import { Channels, RecentEvents } from './lists.js';
import { PolicyPicture } from './policy.js';
import { RunPanel } from './run.js';
import { UpsCard } from './ups.js';

export interface AssetPaths {
  readonly css: string;
  readonly js: string;
}

export const SECTIONS = ['ups', 'run', 'hosts', 'policy', 'events', 'channels'] as const;
export type SectionName = (typeof SECTIONS)[number];

const TITLES: Record<SectionName, string> = {
  ups: 'UPS',
  run: 'Current run',
  hosts: 'Hosts',
  policy: 'Policy',
  events: 'Recent events',
  channels: 'Notifications',
};

function sectionBody(name: SectionName, view: DashboardView): Child {
  switch (name) {
    case 'ups':
      return view.ups.length === 0 ? (
        <p class="muted">No UPS yet: list one in the policy and start its watcher.</p>
      ) : (
        <div class="cards">
          {view.ups.map((ups) => (
            <UpsCard ups={ups} now={view.now} />
          ))}
        </div>
      );
    case 'run':
      return <RunPanel view={view} />;
    case 'hosts':
      return <HostsTable view={view} />;
    case 'policy':
      return <PolicyPicture policy={view.policy} />;
    case 'events':
      return <RecentEvents view={view} />;
    case 'channels':
      return <Channels view={view} />;
  }
}

export function Section(props: { name: SectionName; view: DashboardView }) {
  return (
    <section id={props.name} class={`panel panel-${props.name}`} aria-labelledby={`${props.name}-title`}>
      <h2 id={`${props.name}-title`}>{TITLES[props.name]}</h2>
      {sectionBody(props.name, props.view)}
    </section>
  );
}

function Layout(props: { title: string; assets: AssetPaths; children: Child; script?: boolean }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{props.title}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={props.assets.css} />
        {props.script === false ? null : <script src={props.assets.js} defer />}
      </head>
      <body>{props.children}</body>
    </html>
  );
}

function Actions(props: { view: DashboardView }) {
  const stages = props.view.policy?.stages ?? [];
  return (
    <section id="actions" class="panel panel-actions" aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      <form data-action="drill">
        <p class="small muted">Every host checks it could shut down, and does nothing.</p>
        <button type="submit">Start a drill</button>
      </form>
      <form data-action="fire">
        <label>
          Fire a stage now{' '}
          <select name="stage" required>
            {stages.map((stage) => (
              <option value={stage.name}>{stage.name}</option>
            ))}
          </select>
        </label>
        <label>
          Type the stage's name to confirm <input name="confirm" autocomplete="off" required />
        </label>
        <button type="submit" class="danger" disabled>
          Fire the stage
        </button>
      </form>
      <form data-action="enroll">
        <label>
          Enroll a host named{' '}
          <input name="name" pattern="[A-Za-z0-9][A-Za-z0-9._-]*" required autocomplete="off" />
        </label>
        <button type="submit">Make the command</button>
        <pre class="enroll-command" hidden />
      </form>
      <p class="action-result" role="status" aria-live="polite" />
    </section>
  );
}

export function DashboardPage(props: { view: DashboardView; assets: AssetPaths }) {
  const { view } = props;
  return (
    <Layout title="upsfleet" assets={props.assets}>
      <header class="top">
        <h1>upsfleet</h1>
        <span id="live" class="live" data-state="connecting" role="status" aria-live="polite">
          connecting…
        </span>
        <span class="who muted small">
          signed in as <b>{view.principal.name}</b>
          {view.principal.canWrite ? '' : ' (read only)'}
        </span>
        <form method="post" action="/sign-out" class="sign-out">
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main class="grid">
        <Section name="ups" view={view} />
        <Section name="run" view={view} />
        {view.principal.canWrite ? <Actions view={view} /> : null}
        <Section name="hosts" view={view} />
        <Section name="policy" view={view} />
        <Section name="events" view={view} />
        <Section name="channels" view={view} />
      </main>
    </Layout>
  );
}

export function SignInPage(props: { assets: AssetPaths; message?: string | undefined }) {
  return (
    <Layout title="Sign in · upsfleet" assets={props.assets} script={false}>
      <main class="sign-in">
        <h1>upsfleet</h1>
        <form method="post" action="/sign-in" class="panel">
          <label>
            API token
            <input type="password" name="token" autocomplete="current-password" required autofocus />
          </label>
          {props.message === undefined ? null : (
            <p class="error" role="alert">
              {props.message}
            </p>
          )}
          <button type="submit">Sign in</button>
          <p class="muted small">
            A token printed by <code>upsfleet coordinator</code> on first start, or made with{' '}
            <code>upsfleet tokens create NAME --scopes read</code>. It is kept in an HttpOnly cookie for this
            site only.
          </p>
        </form>
      </main>
    </Layout>
  );
}
