// The admin console's entry: reads the session, routes by the URL's hash, keeps the live stream open and redraws
// the view when the host says something changed.
import { getJson } from './api.js';
import { h, replace, when } from './dom.js';
import { type Session, session, setSession } from './session.js';
import { graphView } from './view-graph.js';
import { moduleView } from './view-module.js';
import { modulesView } from './view-modules.js';
import { tenantProgress, tenantsView } from './view-tenants.js';
import { validateView } from './view-validate.js';

interface LiveEvent {
  type: string;
  at: number;
  name?: string;
  version?: string;
  from?: string | null;
  to?: string;
  status?: string;
  tenant?: string;
  message?: string;
  done?: number;
  total?: number;
}

const main = document.getElementById('main') as HTMLElement;
const toast = document.getElementById('toast') as HTMLElement;
const conn = document.getElementById('conn') as HTMLElement;
const log: LiveEvent[] = [];
let refresh: (() => Promise<void>) | undefined;
let route = '';

const describe = (e: LiveEvent) => {
  const who = e.name ? `${e.name}${e.version ? `@${e.version}` : ''}` : (e.tenant ?? '');
  if (e.type === 'module:transition') return `${who}: ${e.from ?? '—'} → ${e.to}`;
  if (e.type === 'module:upgraded' || e.type === 'module:rolled-back') return `${e.name}: ${e.from} → ${e.to}`;
  if (e.type === 'module:health') return `${who}: health ${e.status}`;
  if (e.type === 'tenants:progress') return `tenant ${e.tenant}: ${e.done} of ${e.total}`;
  return `${who}${e.message ? `: ${e.message}` : ''}`;
};

const liveView = () => {
  refresh = async () => liveView();
  replace(
    main,
    h('h1', {}, 'Live'),
    h('p', {}, 'Host events as they happen (newest first): state changes, health, swaps and tenant progress.'),
    h(
      'table',
      { class: 'grid', 'aria-label': 'Events' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['When', 'Event', 'What'].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h(
        'tbody',
        {},
        log.length
          ? log
              .slice(-200)
              .reverse()
              .map((e) => h('tr', {}, h('td', {}, when(e.at)), h('td', {}, h('code', {}, e.type)), h('td', {}, describe(e))))
          : h('tr', {}, h('td', { colspan: 3 }, 'Nothing yet: upgrade a module, or change a tenant, and watch.')),
      ),
    ),
  );
};

const navigate = async () => {
  route = location.hash.replace(/^#/, '') || '/';
  refresh = undefined;
  for (const a of document.querySelectorAll('nav a')) {
    const here = (a.getAttribute('href') ?? '') === `#${route}` || (route.startsWith('/module/') && a.getAttribute('href') === '#/');
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!session().signedIn && !session().host.viewer && !session().own?.viewer) {
    replace(
      main,
      h('h1', {}, 'Sign in'),
      h('p', {}, "This console uses your application's sign-in, and you are not signed in (or have no management role). Sign in to the app, then reload."),
    );
    return;
  }
  const at = route;
  if (at === '/') {
    refresh = () => modulesView(main);
    await refresh();
  } else if (at.startsWith('/module/')) {
    refresh = await moduleView(main, decodeURIComponent(at.slice('/module/'.length)));
  } else if (at === '/graph') {
    refresh = () => graphView(main);
    await refresh();
  } else if (at === '/tenants') tenantsView(main);
  else if (at === '/validate') validateView(main);
  else if (at === '/live') liveView();
  else replace(main, h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Back to the modules')));
  main.setAttribute('data-ready', at);
  // Keyboard users land on the new content.
  if (document.activeElement?.closest('nav')) main.focus();
};

let pending: ReturnType<typeof setTimeout> | undefined;
let toastTimer: ReturnType<typeof setTimeout> | undefined;
const onEvent = (e: LiveEvent) => {
  log.push(e);
  if (log.length > 500) log.shift();
  if (e.type === 'tenants:progress' && e.done !== undefined && e.total !== undefined) tenantProgress(e.done, e.total);
  if (e.type !== 'module:transition') {
    replace(toast, `${e.type}: ${describe(e)}`);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => replace(toast), 6000);
  }
  // Bursts of events (a start has a transition per phase) redraw once.
  clearTimeout(pending);
  pending = setTimeout(() => void refresh?.(), 250);
};

const connect = () => {
  const source = new EventSource('events');
  let quiet: ReturnType<typeof setTimeout> | undefined;
  const live = () => {
    clearTimeout(quiet);
    replace(conn, '● live');
  };
  source.addEventListener('open', live);
  source.addEventListener('ready', live);
  source.addEventListener('host', (m) => {
    live();
    try {
      onEvent(JSON.parse((m as MessageEvent<string>).data) as LiveEvent);
    } catch {
      // A malformed event is skipped, never fatal.
    }
  });
  // Each stream response ends and the browser reconnects at once: only a reconnection that takes a while is news.
  source.addEventListener('error', () => {
    clearTimeout(quiet);
    quiet = setTimeout(() => replace(conn, source.readyState === EventSource.CLOSED ? '○ offline' : '◌ reconnecting'), 3000);
  });
};

const start = async () => {
  const s = await getJson<Session>('session');
  if (s) setSession(s);
  const who = document.getElementById('who') as HTMLElement;
  const role = s?.host.admin ? 'admin' : s?.host.operator ? 'operator' : s?.host.viewer ? 'viewer' : s?.own?.viewer ? `tenant ${s.tenant}` : 'no role';
  replace(who, s?.signedIn ? `${s.principal ?? 'signed in'} (${role})` : 'not signed in');
  window.addEventListener('hashchange', () => void navigate());
  await navigate();
  if (session().host.viewer || session().own?.viewer) connect();
  document.body.setAttribute('data-console', 'ready');
};

void start();
