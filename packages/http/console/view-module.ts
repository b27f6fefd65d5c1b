// One module's page: summary, versions with what each changed, upgrade (canary) and rollback behind a confirmation
// that shows the plan, config, tenants, migrations, routes and jobs, permissions and its audit records.
import { call, type Problem } from './api.js';
import { configForm } from './config-form.js';
import { badge, h, replace, when } from './dom.js';
import { may, needs, problemView, session, tenantQuery, viewTenant } from './session.js';
import type { AuditRecord, ModuleDetail, ModuleInspect, Tenants } from './types.js';

const table = (label: string, head: readonly string[], rows: readonly Node[], empty: string) =>
  h(
    'table',
    { class: 'grid', 'aria-label': label },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        head.map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: head.length }, empty))),
  );
const section = (title: string, ...body: (Node | string | null)[]) =>
  h('section', { 'aria-labelledby': `h-${title.replace(/\W+/g, '-')}` }, h('h2', { id: `h-${title.replace(/\W+/g, '-')}` }, title), body);

/** Asks before a change: shows the plan, resolves true when confirmed. */
function confirmPlan(title: string, plan: readonly (string | Node)[]): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'confirm-title' },
      h('h2', { id: 'confirm-title' }, title),
      h(
        'ul',
        { class: 'plan' },
        plan.map((p) => h('li', {}, p)),
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'primary', onclick: () => dialog.close('yes') }, 'Confirm'),
        h('button', { type: 'button', onclick: () => dialog.close('no') }, 'Cancel'),
      ),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'yes');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Draws the page of module `name` into `main`; `refresh` redraws only what the live view changes. */
export async function moduleView(main: HTMLElement, name: string): Promise<() => Promise<void>> {
  const enc = encodeURIComponent(name);
  const head = h('div');
  const versions = h('div');
  const actions = h('div');
  const outcome = h('div', { class: 'outcome', role: 'status', 'aria-live': 'polite' });
  const configBox = h('div');
  const configStatus = h('div', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
  const tenantsBox = h('div');
  const rest = h('div');
  replace(main, h('p', {}, h('a', { href: '#/' }, '← Modules')), head, actions, outcome, versions, configBox, tenantsBox, rest);

  let info: ModuleInspect | undefined;
  let access: 'host' | 'tenants' = 'host';
  let scope: string | undefined = viewTenant();
  const showResult = (p: Problem | undefined, ok: string) => replace(outcome, p ? problemView(p) : h('p', { class: 'ok' }, ok));

  const drawSummary = async () => {
    const [d, i] = await Promise.all([
      call<ModuleDetail>('GET', `/modules/${enc}${tenantQuery()}`),
      call<ModuleInspect>('GET', `/modules/${enc}/inspect${tenantQuery()}`),
    ]);
    if (!d.ok) return replace(head, h('h1', {}, name), problemView(d.problem));
    if (!i.ok) return replace(head, h('h1', {}, name), problemView(i.problem));
    const m = d.value;
    info = i.value;
    access = m.access;
    replace(
      head,
      h('h1', {}, info.displayName ? `${info.displayName} ` : '', h('code', {}, name), ' ', badge(m.status)),
      info.description ? h('p', {}, info.description) : null,
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Serving'),
        h('dd', {}, m.version, ` (${m.state})`),
        h('dt', {}, 'Desired'),
        h('dd', {}, m.desiredVersion ?? 'no preference'),
        h('dt', {}, 'Health'),
        h('dd', {}, badge(m.health.status), m.health.detail ? ` ${m.health.detail}` : ''),
        h('dt', {}, 'Isolation'),
        h('dd', {}, m.isolation),
        h('dt', {}, 'Serves'),
        h('dd', {}, m.access === 'host' ? 'every request (host-wide)' : `tenants: ${m.tenants.join(', ') || 'none'}`),
        h('dt', {}, 'Permissions'),
        h('dd', {}, `${info.permissions.requested} requested, ${info.permissions.granted} granted, ${info.permissions.denied} denied`),
      ),
      m.lastError
        ? h(
            'div',
            { class: 'problem', role: 'alert' },
            h('strong', {}, `Last error ${m.lastError.code}${m.lastError.phase ? ` in ${m.lastError.phase}` : ''}`),
            h('pre', { class: 'detail error-message' }, m.lastError.message),
            m.lastError.hint ? h('p', {}, 'What to do: ', m.lastError.hint) : null,
          )
        : null,
      m.refused
        ? h(
            'div',
            { class: 'problem' },
            h('strong', {}, `Version ${m.refused.version} was refused (${m.refused.code})`),
            h('pre', { class: 'detail error-message' }, m.refused.message),
          )
        : null,
      info.health.history.length
        ? h(
            'details',
            {},
            h('summary', {}, `Health history (${info.health.history.length})`),
            h(
              'ul',
              {},
              info.health.history.map((x) => h('li', {}, when(x.at), ' ', badge(x.status), x.detail ? ` ${x.detail}` : '')),
            ),
          )
        : null,
      m.instances.length
        ? table(
            'Instances',
            ['Instance', 'Alive', 'Version', 'State'],
            m.instances.map((x) => h('tr', {}, h('td', {}, x.id), h('td', {}, x.alive ? '✓ yes' : '✗ no'), h('td', {}, x.version), h('td', {}, x.state))),
            '',
          )
        : null,
    );
    drawActions(m);
    replace(
      versions,
      section(
        'Versions',
        table(
          'Versions',
          ['Version', 'State', 'What changed'],
          m.versions.map((v) =>
            h(
              'tr',
              {},
              h('td', {}, v.version, v.version === m.version ? ' (serving)' : ''),
              h('td', {}, v.rejected ? badge('FAILED') : null, ' ', v.state, v.rejected ? ' (rejected)' : ''),
              h(
                'td',
                {},
                h(
                  'ul',
                  { class: 'changes' },
                  (info?.versions.find((x) => x.version === v.version)?.changes ?? []).map((c) => h('li', {}, c)),
                ),
              ),
            ),
          ),
          'No versions.',
        ),
      ),
    );
  };

  const drawActions = (m: ModuleDetail) => {
    const operate = may('operator');
    const why = operate ? undefined : needs('operator');
    const choices = m.versions.filter((v) => v.version !== m.version && !v.rejected).map((v) => v.version);
    const select = h(
      'select',
      { id: 'upgrade-version', disabled: !operate || choices.length === 0 },
      choices.map((v) => h('option', { value: v }, v)),
    );
    const canary = h('input', { id: 'upgrade-canary', type: 'checkbox', disabled: !operate || !info?.canary });
    const steps = h('input', { id: 'upgrade-steps', type: 'text', value: '10, 50', size: 8, disabled: !operate || !info?.canary });
    const stepMs = h('input', { id: 'upgrade-step-ms', type: 'number', value: 1000, min: 1, disabled: !operate || !info?.canary });
    const upgrade = async () => {
      const version = select.value;
      const target = info?.versions.find((v) => v.version === version);
      const stepList = steps.value
        .split(/[,\s]+/)
        .filter(Boolean)
        .map(Number);
      const useCanary = canary.checked && stepList.length > 0 && stepList.every((n) => n >= 0 && n <= 100);
      const plan = [
        `Start ${name}@${version} beside ${m.version}; it takes traffic only after its health gate passes.`,
        useCanary
          ? `Canary: ${stepList.join('% → ')}% → 100% of request keys, each held ${stepMs.value} ms while health is probed.`
          : 'All traffic switches at once.',
        ...(target?.changes ?? []).map((c) => `Change: ${c}`),
        info?.dependents.length
          ? `Dependents (their ranges must accept ${version}): ${info.dependents.map((d) => `${d.name} ${d.range}`).join(', ')}`
          : 'No module depends on it.',
        `${m.version} stays warm for a rollback.`,
      ];
      if (!(await confirmPlan(`Upgrade ${name} to ${version}?`, plan))) return;
      replace(outcome, h('p', {}, `Upgrading ${name} to ${version}…`, h('progress', { 'aria-label': 'Upgrade under way' })));
      const r = await call<{ outcome: string; from?: string; to?: string }>('POST', `/modules/${enc}/upgrade`, {
        version,
        ...(useCanary ? { canary: { steps: stepList, stepMs: Number(stepMs.value) || 1000 } } : {}),
      });
      showResult(r.ok ? undefined : r.problem, r.ok ? `✓ ${r.value.outcome}: ${r.value.from} → ${r.value.to}` : '');
      await drawSummary();
    };
    const rollback = async () => {
      const plan = [`Point ${name} back at the version it replaced, if it is still warm.`, `${m.version} stops taking traffic.`];
      if (!(await confirmPlan(`Roll back ${name}?`, plan))) return;
      replace(outcome, h('p', {}, `Rolling back ${name}…`));
      const r = await call<{ outcome: string; from?: string; to?: string }>('POST', `/modules/${enc}/rollback`);
      showResult(r.ok ? undefined : r.problem, r.ok ? `✓ ${r.value.outcome}: ${r.value.from} → ${r.value.to}` : '');
      await drawSummary();
    };
    const toggle = async () => {
      const enabled = m.access !== 'host';
      const ok = await confirmPlan(`${enabled ? 'Enable' : 'Disable'} ${name} host-wide?`, [
        enabled ? 'Every request reaches it again (after its health gate).' : 'Only the tenants it is enabled for keep it.',
      ]);
      if (!ok) return;
      const r = await call('PUT', `/modules/${enc}/status`, { enabled });
      showResult(r.ok ? undefined : r.problem, `✓ ${enabled ? 'enabled' : 'disabled'} host-wide`);
      await drawSummary();
    };
    replace(
      actions,
      section(
        'Actions',
        h(
          'div',
          { class: 'actions' },
          h('label', { for: 'upgrade-version' }, 'Version '),
          choices.length ? select : h('span', { class: 'muted' }, 'no other version to go to (the others are serving or were rejected)'),
          ' ',
          h('label', { class: 'inline' }, canary, ' canary steps'),
          ' ',
          h('label', { for: 'upgrade-steps' }, '(%) '),
          steps,
          ' ',
          h('label', { for: 'upgrade-step-ms' }, 'every ms '),
          stepMs,
          ' ',
          h(
            'button',
            { type: 'button', id: 'upgrade', class: 'primary', disabled: !operate || choices.length === 0, title: why, onclick: upgrade },
            'Upgrade…',
          ),
          ' ',
          h('button', { type: 'button', id: 'rollback', disabled: !operate, title: why, onclick: rollback }, 'Roll back…'),
          ' ',
          h(
            'button',
            { type: 'button', id: 'toggle', disabled: !operate, title: why, onclick: toggle },
            m.access === 'host' ? 'Disable host-wide…' : 'Enable host-wide…',
          ),
        ),
        operate ? null : h('p', { class: 'muted' }, `Read only: changing versions ${why}.`),
        info?.canary ? null : h('p', { class: 'muted' }, 'Canary steps need a stateless module with routes.'),
      ),
    );
  };

  const drawConfig = () => {
    if (!info) return;
    const own = session().tenant;
    const options = [...(session().host.viewer ? [['', 'host-wide']] : []), ...(tenantIds.map((t) => [t, `tenant ${t}`]) as string[][])];
    const pick = h(
      'select',
      { id: 'config-scope' },
      options.map(([v, l]) => h('option', { value: v ?? '' }, l ?? '')),
    );
    pick.value = scope ?? '';
    pick.addEventListener('change', async () => {
      replace(configStatus);
      scope = pick.value === '' ? undefined : pick.value;
      await reloadConfig();
    });
    const form = h('div');
    replace(configBox, section('Config', h('label', { for: 'config-scope' }, 'Layer '), pick, form, configStatus));
    configForm(form, configStatus, name, info, scope ?? (session().host.viewer ? undefined : (own ?? undefined)), () => void reloadConfig());
  };
  const reloadConfig = async () => {
    const q = scope ? `?tenant=${encodeURIComponent(scope)}` : '';
    const i = await call<ModuleInspect>('GET', `/modules/${enc}/inspect${q}`);
    if (i.ok) info = i.value;
    drawConfig();
  };

  let tenantIds: string[] = [];
  const drawTenants = async () => {
    const t = await call<Tenants>('GET', `/tenants${tenantQuery()}`);
    if (!t.ok) return replace(tenantsBox, section('Tenants', problemView(t.problem)));
    tenantIds = t.value.tenants.map((x) => x.tenant);
    const rows = t.value.tenants.map((x) => {
      const on = x.modules.some((e) => e.name === name && e.enabled);
      const allowed = may('operator', x.tenant);
      const box = h('input', { type: 'checkbox', id: `tenant-${x.tenant}`, disabled: !allowed });
      box.checked = on;
      box.addEventListener('change', async () => {
        const r = await call('PUT', `/modules/${enc}/status`, { enabled: box.checked, tenant: x.tenant });
        showResult(r.ok ? undefined : r.problem, `✓ ${box.checked ? 'enabled' : 'disabled'} for ${x.tenant}`);
        await drawTenants();
      });
      return h('tr', {}, h('td', {}, h('label', { for: `tenant-${x.tenant}` }, x.tenant)), h('td', {}, box, on ? ' enabled' : ' not enabled'));
    });
    const hostWide = access === 'host';
    replace(
      tenantsBox,
      section(
        'Tenants',
        hostWide
          ? h('p', { class: 'muted' }, 'It serves every request host-wide; enabling it for a tenant makes it serve only the tenants it is enabled for.')
          : null,
        table('Enablement per tenant', ['Tenant', 'Enabled'], rows, 'No tenants yet.'),
      ),
    );
  };

  const drawRest = async () => {
    if (!info) return;
    const audit = await call<{ records: AuditRecord[] }>('GET', `/audit?module=${enc}&limit=50${tenantQuery('&')}`);
    const applied = new Map((info.migrations.applied ?? []).map((a) => [a.name, a]));
    replace(
      rest,
      section(
        'Migrations',
        table(
          'Migrations',
          ['Migration', 'Reversible', 'Applied'],
          info.migrations.declared.map((x) => {
            const a = applied.get(x.name);
            return h(
              'tr',
              {},
              h('td', {}, x.name),
              h('td', {}, x.reversible ? 'yes' : 'no'),
              h('td', {}, info?.migrations.applied === null ? 'unknown' : a ? `✓ batch ${a.batch} by ${a.version}, ${when(a.at)}` : '○ pending'),
            );
          }),
          'No migrations.',
        ),
      ),
      section(
        'Routes and jobs',
        table(
          'Routes',
          ['Method', 'Path', 'Permission'],
          info.routes.map((r) => h('tr', {}, h('td', {}, r.method), h('td', {}, h('code', {}, r.path)), h('td', {}, r.permission ?? '—'))),
          'No routes.',
        ),
        table(
          'Jobs',
          ['Job', 'Schedule'],
          info.jobs.map((j) => h('tr', {}, h('td', {}, j.name), h('td', {}, j.schedule))),
          'No jobs.',
        ),
      ),
      section(
        'Permissions',
        h('p', {}, `${info.permissions.requested} requested, ${info.permissions.granted} granted, ${info.permissions.denied} denied`),
        table(
          'Permissions',
          ['Permission', 'Decision', 'Uses'],
          info.permissions.list.map((p) =>
            h('tr', {}, h('td', {}, h('code', {}, p.permission)), h('td', {}, p.granted ? '✓ granted' : '✗ denied'), h('td', {}, p.uses)),
          ),
          'It asks for no permissions.',
        ),
      ),
      section(
        'Audit',
        audit.ok
          ? table(
              'Audit records',
              ['#', 'When', 'Action', 'Tenant', 'Who', 'Outcome'],
              audit.value.records
                .slice()
                .reverse()
                .map((r) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, r.seq),
                    h('td', {}, when(r.at)),
                    h('td', {}, r.action),
                    h('td', {}, r.tenant ?? 'host-wide'),
                    h('td', {}, typeof r.principal === 'string' ? r.principal : JSON.stringify(r.principal ?? null)),
                    h('td', {}, r.outcome, r.error ? ` (${r.error.code}: ${r.error.message})` : ''),
                  ),
                ),
              'No changes recorded.',
            )
          : problemView(audit.problem),
      ),
    );
  };

  await drawSummary();
  await drawTenants();
  drawConfig();
  await drawRest();
  return async () => {
    await drawSummary();
    await drawRest();
  };
}
