// Tenants: the modules each has and its config overrides; the tenant migration as a dry run first, then applied, with
// progress from the live stream.
import { call } from './api.js';
import { h, replace } from './dom.js';
import { may, needs, problemView, tenantQuery } from './session.js';
import type { Tenants } from './types.js';

interface Report {
  ok: boolean;
  dryRun: boolean;
  changes: unknown[];
  problems: { tenant: string; module?: string; path: (string | number)[]; code: string; message: string }[];
  progress: { done: number; total: number };
  rolledBack: boolean;
  snapshotId?: string;
}

/** The progress bar the live stream moves while a migration applies. */
let bar: HTMLProgressElement | undefined;
/** Moves the migration's progress bar (from a `tenants:progress` event). */
export function tenantProgress(done: number, total: number): void {
  if (!bar) return;
  bar.max = total;
  bar.value = done;
  bar.textContent = `${done} of ${total}`;
}

/** Draws the tenants into `main`. */
export async function tenantsView(main: HTMLElement): Promise<void> {
  const t = await call<Tenants>('GET', `/tenants${tenantQuery()}`);
  if (!t.ok) return replace(main, h('h1', {}, 'Tenants'), problemView(t.problem));
  const cards = t.value.tenants.map((x) =>
    h(
      'section',
      { class: 'card', 'aria-label': `Tenant ${x.tenant}` },
      h('h2', {}, x.tenant),
      x.modules.length
        ? h(
            'ul',
            {},
            x.modules.map((m) =>
              h(
                'li',
                {},
                h('a', { href: `#/module/${encodeURIComponent(m.name)}` }, m.name),
                m.enabled ? ' ✓ enabled' : ' ○ not enabled',
                m.range ? ` (pinned ${m.range})` : '',
                Object.keys(m.overrides).length
                  ? h('pre', { class: 'json' }, JSON.stringify(m.overrides, null, 2))
                  : h('span', { class: 'muted' }, ' no overrides'),
              ),
            ),
          )
        : h('p', {}, 'No modules enabled.'),
    ),
  );
  const current = {
    tenants: Object.fromEntries(
      t.value.tenants.map((x) => [
        x.tenant,
        {
          modules: Object.fromEntries(
            x.modules.map((m) => [m.name, { ...(m.enabled ? {} : { enabled: false }), ...(m.range ? { range: m.range } : {}), config: m.overrides }]),
          ),
          mode: 'merge',
        },
      ]),
    ),
  };
  const admin = may('admin');
  const text = h('textarea', { id: 'migration', rows: 12, spellcheck: 'false', class: 'code' });
  text.value = JSON.stringify(current, null, 2);
  const out = h('div', { role: 'status', 'aria-live': 'polite' });
  let checked: string | undefined;
  const apply = h(
    'button',
    { type: 'button', id: 'migration-apply', disabled: true, title: admin ? 'run a dry run of this text first' : needs('admin') },
    'Apply',
  );
  const run = async (dryRun: boolean) => {
    let changes: unknown;
    try {
      changes = JSON.parse(text.value);
    } catch (e) {
      return replace(out, h('p', { role: 'alert' }, `The changes are not JSON: ${(e as Error).message}`));
    }
    bar = h('progress', { 'aria-label': 'Tenants applied', max: 1, value: 0 });
    replace(out, dryRun ? 'Checking…' : h('p', {}, 'Applying… ', bar));
    const r = await call<Report>('POST', '/tenants/apply', { changes, dryRun });
    if (!r.ok) return replace(out, problemView(r.problem));
    const rep = r.value;
    checked = dryRun && rep.ok ? text.value : undefined;
    apply.disabled = !admin || checked === undefined;
    replace(
      out,
      h(
        'p',
        {},
        rep.ok ? '✓ ' : '✗ ',
        dryRun ? (rep.ok ? 'The dry run passes.' : 'The dry run found problems; nothing was written.') : rep.ok ? 'Applied.' : 'Not applied.',
      ),
      h('p', {}, `${rep.changes.length} change(s), tenants ${rep.progress.done} of ${rep.progress.total}${rep.rolledBack ? ', rolled back' : ''}`),
      rep.problems.length
        ? h(
            'ul',
            { class: 'problems' },
            rep.problems.map((p) => h('li', {}, h('code', {}, p.path.join('.')), ` ${p.code}: ${p.message}`)),
          )
        : null,
      rep.changes.length ? h('details', {}, h('summary', {}, 'Changes'), h('pre', { class: 'json' }, JSON.stringify(rep.changes, null, 2))) : null,
    );
  };
  apply.addEventListener('click', () => void run(false));
  text.addEventListener('input', () => {
    apply.disabled = !admin || checked !== text.value;
  });
  replace(
    main,
    h('h1', {}, 'Tenants'),
    cards.length ? h('div', { class: 'cards' }, cards) : h('p', {}, 'No tenants yet.'),
    h(
      'section',
      { 'aria-labelledby': 'h-migration' },
      h('h2', { id: 'h-migration' }, 'Tenant migration'),
      h('p', {}, 'Edit the wanted state (it starts as the current one), check it with a dry run, then apply it.'),
      h('label', { for: 'migration' }, 'Changes (JSON)'),
      text,
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          { type: 'button', id: 'migration-dry-run', disabled: !admin, title: admin ? undefined : needs('admin'), onclick: () => void run(true) },
          'Dry run',
        ),
        ' ',
        apply,
      ),
      admin ? null : h('p', { class: 'muted' }, `Read only: the tenant migration ${needs('admin')}.`),
      out,
    ),
  );
}
