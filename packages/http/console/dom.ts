// A tiny element builder: every value becomes a text node or an attribute, never markup, so whatever a module or an
// error says is shown as text.

type Child = Node | string | number | null | undefined | false | readonly Child[];
type Attrs = Record<string, string | number | boolean | undefined | null | EventListener>;

/** An element with attributes (`on*` are listeners; `true` is a bare attribute) and children (strings as text). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** Appends children (strings as text nodes). */
export function append(parent: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : (c as Node));
  }
}

/** Replaces an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

const SVG = 'http://www.w3.org/2000/svg';
/** An SVG element with attributes and children. */
export function s(tag: string, attrs: Record<string, string | number> = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

/** A status as text with a symbol (never colour alone) and a class for colour. */
export function badge(status: string): HTMLElement {
  const symbol: Record<string, string> = {
    ENABLED: '●',
    ok: '✓',
    DISABLED: '○',
    REGISTERED: '○',
    INSTALLING: '…',
    UPDATING: '⟳',
    REMOVING: '…',
    FAILED: '✗',
    fail: '✗',
    degraded: '!',
    unknown: '?',
    MISSING: '?',
  };
  return h('span', { class: `badge b-${status.toLowerCase()}` }, `${symbol[status] ?? '•'} ${status}`);
}

/** A time as the operator's local time. */
export const when = (at: number) => new Date(at).toLocaleString();
