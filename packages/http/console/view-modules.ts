// The modules list: every module with its status, health, versions, isolation, fleet convergence and last error.
import { call } from './api.js';
import { badge, h, replace } from './dom.js';
import { problemView, tenantQuery } from './session.js';
import type { ModuleDetail, ModuleSummary } from './types.js';

/** Draws the list into `main`. */
export async function modulesView(main: HTMLElement): Promise<void> {
  const list = await call<{ tenant: string | null; modules: ModuleSummary[] }>('GET', `/modules${tenantQuery()}`);
  if (!list.ok) return replace(main, h('h1', {}, 'Modules'), problemView(list.problem));
  const details = await Promise.all(list.value.modules.map((m) => call<ModuleDetail>('GET', `/modules/${encodeURIComponent(m.name)}${tenantQuery()}`)));
  const rows = list.value.modules.map((m, i) => {
    const d = details[i]?.ok ? (details[i] as { value: ModuleDetail }).value : undefined;
    const serving = d?.instances.filter((x) => x.alive) ?? [];
    const converged = serving.every((x) => x.version === m.version);
    return h(
      'tr',
      { 'data-module': m.name },
      h('th', { scope: 'row' }, h('a', { href: `#/module/${encodeURIComponent(m.name)}` }, m.name)),
      h('td', {}, m.version),
      h('td', {}, d?.desiredVersion ?? '—'),
      h('td', {}, badge(m.status)),
      h('td', {}, badge(m.health.status), m.health.detail ? h('div', { class: 'muted' }, m.health.detail) : null),
      h('td', {}, m.isolation),
      h('td', {}, serving.length === 0 ? '—' : `${serving.length} live, ${converged ? '✓ converged' : '≠ diverged'}`),
      h(
        'td',
        { class: 'error-cell' },
        m.lastError ? [h('code', {}, m.lastError.code), ' ', h('span', { class: 'error-message' }, m.lastError.message)] : '—',
        m.lastError?.hint ? h('div', { class: 'muted' }, 'Hint: ', m.lastError.hint) : null,
      ),
    );
  });
  replace(
    main,
    h('h1', {}, 'Modules', list.value.tenant ? ` (tenant ${list.value.tenant})` : ''),
    h(
      'table',
      { class: 'grid', 'aria-label': 'Modules' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Module', 'Serving', 'Desired', 'Status', 'Health', 'Isolation', 'Instances', 'Last error'].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 8 }, 'No modules are installed.'))),
    ),
  );
}
