// The caller's session, as `session` answers it: who, their tenant, and what they may do where.
import type { Problem } from './api.js';
import { h } from './dom.js';

type Abilities = { viewer: boolean; operator: boolean; admin: boolean };

/** What the server says of the caller. */
export interface Session {
  signedIn: boolean;
  principal: string | null;
  tenant: string | null;
  host: Abilities;
  own: Abilities | null;
}

let current: Session = { signedIn: false, principal: null, tenant: null, host: { viewer: false, operator: false, admin: false }, own: null };

/** Keeps the session read at start. */
export const setSession = (s: Session) => {
  current = s;
};
/** The session. */
export const session = () => current;
/** The tenant the caller's views are scoped to: none for a host-wide viewer, else their own. */
export const viewTenant = () => (current.host.viewer ? undefined : (current.tenant ?? undefined));
/** `?tenant=` for read calls, when the caller sees only their tenant. */
export const tenantQuery = (sep = '?') => {
  const t = viewTenant();
  return t === undefined ? '' : `${sep}tenant=${encodeURIComponent(t)}`;
};
/** Whether the caller holds `role` host-wide, or (with `tenant`) for that tenant. */
export const may = (role: keyof Abilities, tenant?: string) =>
  current.host[role] || (tenant !== undefined && tenant === current.tenant && current.own?.[role] === true);

/** Why a button is disabled, for its title and the text beside it. */
export const needs = (role: string, where = 'host-wide') => `needs the ${role} role ${where}`;

/** A problem as a block of text: detail (with the resolver's explanation, when there is one), hint and issues. */
export function problemView(p: Problem): HTMLElement {
  return h(
    'div',
    { class: 'problem', role: 'alert' },
    h('strong', {}, `${p.status ? `${p.status} ` : ''}${p.code ?? p.title}`),
    h('pre', { class: 'detail' }, p.detail),
    p.hint ? h('p', {}, 'What to do: ', p.hint) : null,
    p.issues?.length
      ? h(
          'ul',
          {},
          p.issues.map((i) => h('li', {}, h('code', {}, i.path.join('.') || '(root)'), ': ', i.message)),
        )
      : null,
  );
}
