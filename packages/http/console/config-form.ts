// The config form, generated from the module's JSON Schema: one labelled control per property, sensitive ones
// write-only (never filled in, sent only when typed), and only changed values sent.
import { call } from './api.js';
import { h, replace } from './dom.js';
import { may, needs, problemView } from './session.js';
import type { JsonSchema, ModuleInspect } from './types.js';

const typeOf = (s: JsonSchema | undefined, value: unknown): string => {
  const t = Array.isArray(s?.type) ? s?.type.find((x) => x !== 'null') : s?.type;
  if (t) return t;
  if (s?.enum) return 'enum';
  return value === null ? 'string' : Array.isArray(value) ? 'array' : typeof value;
};

/** Draws the form for one scope (host-wide, or a tenant's layer) into `box`; what saving did goes into `status`. */
export function configForm(box: HTMLElement, status: HTMLElement, name: string, info: ModuleInspect, tenant: string | undefined, reload: () => void): void {
  const schema = info.config.schema ?? {};
  const values = info.config.values;
  const keys = Object.keys(schema.properties ?? values);
  const layer = tenant === undefined ? info.config.layers.host : info.config.layers.tenant;
  const allowed = may('operator', tenant);
  const controls = new Map<string, { read: () => unknown; initial: unknown; sensitive: boolean }>();
  const fields = keys.map((key) => {
    const prop = schema.properties?.[key];
    const id = `cfg-${key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const sensitive = info.config.sensitive.some((p) => p === key || p.startsWith(`${key}.`));
    const value = values[key];
    const kind = sensitive ? 'secret' : prop?.enum ? 'enum' : typeOf(prop, value);
    let input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
    let read: () => unknown;
    if (kind === 'secret') {
      input = h('input', { id, type: 'password', autocomplete: 'off', placeholder: 'write-only: leave empty to keep' });
      read = () => (input.value === '' ? undefined : input.value);
    } else if (kind === 'boolean') {
      const box = h('input', { id, type: 'checkbox' });
      box.checked = value === true;
      input = box;
      read = () => box.checked;
    } else if (kind === 'enum') {
      input = h(
        'select',
        { id },
        (prop?.enum ?? []).map((o) => h('option', { value: JSON.stringify(o) }, String(o))),
      );
      input.value = JSON.stringify(value);
      read = () => JSON.parse(input.value);
    } else if (kind === 'number' || kind === 'integer') {
      input = h('input', { id, type: 'number', step: kind === 'integer' ? 1 : 'any', min: prop?.minimum ?? prop?.exclusiveMinimum, max: prop?.maximum });
      input.value = value === undefined ? '' : String(value);
      read = () => (input.value === '' ? undefined : Number(input.value));
    } else if (kind === 'string') {
      input = h('input', { id, type: 'text' });
      input.value = value === undefined ? '' : String(value);
      read = () => input.value;
    } else {
      input = h('textarea', { id, rows: 3, spellcheck: 'false' });
      input.value = JSON.stringify(value ?? null, null, 2);
      read = () => JSON.parse(input.value);
    }
    input.disabled = !allowed;
    controls.set(key, { read, initial: kind === 'secret' ? undefined : value, sensitive: kind === 'secret' });
    const described = prop?.description ?? prop?.title;
    return h(
      'div',
      { class: 'field' },
      h('label', { for: id }, key, sensitive ? ' (sensitive, write-only)' : '', Object.hasOwn(layer, key) ? ' — set in this layer' : ''),
      input,
      described ? h('div', { class: 'muted' }, described) : null,
    );
  });
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const changed: Record<string, unknown> = {};
    try {
      for (const [key, c] of controls) {
        const v = c.read();
        if (v === undefined) continue;
        if (c.sensitive || JSON.stringify(v) !== JSON.stringify(c.initial)) changed[key] = v;
      }
    } catch {
      replace(status, h('p', { role: 'alert' }, 'A JSON field does not parse.'));
      return;
    }
    if (Object.keys(changed).length === 0) return replace(status, 'Nothing changed.');
    replace(status, 'Saving…');
    const r = await call('PUT', `/modules/${encodeURIComponent(name)}/config`, { values: changed, ...(tenant ? { tenant } : {}) });
    if (!r.ok) return replace(status, problemView(r.problem));
    replace(status, `✓ Saved ${Object.keys(changed).join(', ')}${tenant ? ` for ${tenant}` : ' host-wide'}.`);
    reload();
  };
  replace(
    box,
    h(
      'form',
      { class: 'config', 'aria-label': `Config of ${name}${tenant ? ` for ${tenant}` : ' (host-wide)'}`, onsubmit: submit },
      fields.length ? fields : h('p', {}, 'This module has no config.'),
      fields.length
        ? h(
            'button',
            { type: 'submit', disabled: !allowed, title: allowed ? undefined : needs('operator', tenant ? `for ${tenant}` : 'host-wide') },
            'Save config',
          )
        : null,
      allowed ? null : h('span', { class: 'muted' }, ` Read only: ${needs('operator', tenant ? `for ${tenant}` : 'host-wide')}.`),
    ),
  );
}
