// The dependency graph as a picture: waves left to right (a module after its dependencies), failed and blocked
// modules marked with a symbol and a word as well as a colour, and the resolver's explanation when the plan fails.
import { call } from './api.js';
import { h, replace, s } from './dom.js';
import { problemView, tenantQuery } from './session.js';
import type { Graph } from './types.js';

const W = 190;
const H = 48;
const GAP_X = 70;
const GAP_Y = 22;
const BAD: Record<string, string> = { failed: '✗ failed', blocked: '⛔ blocked', 'rolled-back': '↩ rolled back', missing: '? missing' };

/** Draws the graph into `main`. */
export async function graphView(main: HTMLElement): Promise<void> {
  const g = await call<Graph>('GET', `/graph${tenantQuery()}`);
  if (!g.ok) return replace(main, h('h1', {}, 'Dependency graph'), problemView(g.problem));
  const { nodes, edges, waves, plan } = g.value;
  const at = new Map<string, { x: number; y: number }>();
  waves.forEach((wave, col) => {
    wave.forEach((name, row) => {
      at.set(name, { x: 10 + col * (W + GAP_X), y: 10 + row * (H + GAP_Y) });
    });
  });
  const width = Math.max(1, waves.length) * (W + GAP_X) - GAP_X + 20;
  const height = Math.max(1, ...waves.map((w) => w.length)) * (H + GAP_Y) - GAP_Y + 20;
  const svg = s(
    'svg',
    { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'graph-title', class: 'graph' },
    s('title', { id: 'graph-title' }, `Dependency graph: ${nodes.length} modules in ${waves.length} waves`),
    s(
      'defs',
      {},
      s(
        'marker',
        { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto' },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }),
      ),
    ),
    edges.map((e) => {
      const from = at.get(e.to);
      const to = at.get(e.from);
      if (!from || !to) return null;
      const x1 = from.x + W;
      const y1 = from.y + H / 2;
      const x2 = to.x;
      const y2 = to.y + H / 2;
      const mid = (x1 + x2) / 2;
      return s(
        'path',
        { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, class: `edge${e.optional ? ' optional' : ''}`, 'marker-end': 'url(#arrow)' },
        s('title', {}, `${e.from} needs ${e.to} ${e.range}${e.optional ? ' (optional)' : ''}`),
      );
    }),
    nodes.map((n) => {
      const p = at.get(n.name);
      if (!p) return null;
      const bad = BAD[n.state];
      return s(
        'g',
        { class: `node ${bad ? `bad s-${n.state}` : `st-${n.status.toLowerCase()}`}`, transform: `translate(${p.x},${p.y})` },
        s('rect', { width: W, height: H, rx: 6 }),
        s('text', { x: 10, y: 20, class: 'name' }, n.version ? `${n.name}@${n.version}` : n.name),
        s('text', { x: 10, y: 38, class: 'state' }, bad ?? `${n.state} · ${n.status}`),
        s('title', {}, `${n.name}${n.version ? `@${n.version}` : ''}: ${n.state} (${n.status})`),
      );
    }),
  );
  replace(
    main,
    h('h1', {}, 'Dependency graph'),
    plan.ok
      ? h('p', {}, '✓ The plan resolves. Modules start in waves, left to right; an arrow goes from a dependency to what needs it.')
      : h('div', { class: 'problem', role: 'alert' }, h('strong', {}, '✗ The plan does not resolve'), h('pre', { class: 'detail' }, plan.explanation ?? '')),
    h('div', { class: 'graph-box' }, svg),
    h(
      'table',
      { class: 'grid', 'aria-label': 'Waves' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Wave'), h('th', { scope: 'col' }, 'Modules'))),
      h(
        'tbody',
        {},
        waves.map((w, i) =>
          h(
            'tr',
            {},
            h('td', {}, i + 1),
            h(
              'td',
              {},
              w
                .map((name) => {
                  const n = nodes.find((x) => x.name === name);
                  return `${name}${n && BAD[n.state] ? ` (${BAD[n.state]})` : ''}`;
                })
                .join(', '),
            ),
          ),
        ),
      ),
    ),
  );
}
