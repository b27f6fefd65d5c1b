// Checking a manifest before installing it: every problem at its JSON path.
import { call } from './api.js';
import { h, replace } from './dom.js';
import { problemView } from './session.js';

const SAMPLE = { name: 'greeter', version: '1.0.0', main: 'index.mjs', permissions: ['routes:mount'] };

/** Draws the validation form into `main`. */
export function validateView(main: HTMLElement): void {
  const text = h('textarea', { id: 'manifest', rows: 14, spellcheck: 'false', class: 'code' });
  text.value = JSON.stringify(SAMPLE, null, 2);
  const file = h('input', { id: 'manifest-file', type: 'file', accept: '.json,application/json' });
  const out = h('div', { role: 'status', 'aria-live': 'polite' });
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (f) text.value = await f.text();
  });
  const check = async (ev: Event) => {
    ev.preventDefault();
    let manifest: unknown;
    try {
      manifest = JSON.parse(text.value);
    } catch (e) {
      return replace(out, h('p', { role: 'alert' }, `✗ Not JSON: ${(e as Error).message}`));
    }
    const r = await call<{ ok: boolean; issues: { path: (string | number)[]; message: string }[] }>('POST', '/modules/validate', { manifest });
    if (!r.ok) return replace(out, problemView(r.problem));
    replace(
      out,
      r.value.ok
        ? h('p', { class: 'ok' }, '✓ The manifest is valid.')
        : h(
            'div',
            { class: 'problem' },
            h('p', {}, `✗ ${r.value.issues.length} problem(s):`),
            h(
              'ul',
              { class: 'issues' },
              r.value.issues.map((i) => h('li', {}, h('code', {}, i.path.length ? i.path.join('.') : '(root)'), ': ', i.message)),
            ),
          ),
    );
  };
  replace(
    main,
    h('h1', {}, 'Validate a manifest'),
    h(
      'form',
      { onsubmit: check, 'aria-label': 'Validate a manifest' },
      h('div', { class: 'field' }, h('label', { for: 'manifest-file' }, 'modhost.json file (optional)'), file),
      h('div', { class: 'field' }, h('label', { for: 'manifest' }, 'Manifest (JSON)'), text),
      h('button', { type: 'submit', class: 'primary' }, 'Validate'),
    ),
    out,
  );
}
