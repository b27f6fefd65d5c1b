// How a resolution fails: the error, the explanation a person reads, and hints probed by resolving relaxed inputs.
import { ModhostError } from '@modhost/core';
import { type Catalog, type RangeIssue, versionCount } from './catalog.js';
import { createDescriber, type ExplanationNode, explainFailure, type RangeNames } from './explain.js';
import type { Incompat } from './pubgrub.js';
import type { ResolveFailure, ResolveInput, ResolveResult, RootRequest } from './resolve-types.js';
import { allVersions } from './terms.js';

export function simpleFailure(code: 'RANGE_INVALID' | 'MODULE_NOT_FOUND', message: string, details: Record<string, unknown>): ResolveFailure {
  return {
    ok: false,
    error: new ModhostError(code, message, { details }),
    explanation: { text: message, lines: [message], tree: { root: 0, nodes: { 0: { id: 0, text: message, kind: 'external' } } } },
    hints: [],
  };
}

export function rangeFailure(issues: readonly RangeIssue[]): ResolveFailure {
  const [first] = issues as [RangeIssue];
  const where = first.dependency ? `${first.field}.${first.dependency}` : first.field;
  return simpleFailure(
    'RANGE_INVALID',
    `${first.module} ${first.version} has an invalid range ${JSON.stringify(first.range)} in ${where}: ${first.message}. Fix the manifest; a range like "^1.2.0" or ">=1.0.0 <2.0.0" is expected`,
    { module: first.module, version: first.version, field: first.field, dependency: first.dependency, range: first.range, issues },
  );
}

/** What a hint probe gets back on failure: it only needs to know that the change did not help. */
export const probeFailure: ResolveFailure = {
  ok: false,
  error: new ModhostError('DEPENDENCY_UNSATISFIED', 'probe: no solution'),
  explanation: { text: '', lines: [], tree: { root: 0, nodes: {} } },
  hints: [],
};

/** The failure of a solve, with its explanation and hints; `probe` re-resolves a relaxed input to test a hint. */
export function solverFailure(
  c: Catalog,
  input: ResolveInput,
  roots: readonly RootRequest[],
  failure: Incompat,
  rangeNames: RangeNames,
  probe: (input: ResolveInput) => ResolveResult,
): ResolveFailure {
  const ROOT = c.names.length;
  const nOf = (p: number) => (p === ROOT ? 1 : versionCount(c, p));
  // Name masks that came straight from ranges, so derived terms print as written.
  const walk = [failure];
  const seen = new Set<Incompat>();
  const facts: Incompat[] = [];
  while (walk.length > 0) {
    const inc = walk.pop() as Incompat;
    if (seen.has(inc)) continue;
    seen.add(inc);
    if (inc.cause.kind === 'conflict') walk.push(inc.cause.left, inc.cause.right);
    else facts.push(inc);
    if (inc.cause.kind === 'dependency') {
      const target = inc.terms.find((t) => t.pkg === (inc.cause as { to: number }).to);
      if (target) {
        const mask = allVersions(nOf(target.pkg)) & ~target.set;
        const names = rangeNames.get(target.pkg) ?? new Map<bigint, string>();
        if (!names.has(mask)) names.set(mask, inc.cause.range);
        rangeNames.set(target.pkg, names);
      }
    }
  }
  const d = createDescriber(c, ROOT, rangeNames);
  const version = (p: number, set: bigint) => d.term({ pkg: p, set }).slice((c.names[p] as string).length + 1);
  const explanation = explainFailure(failure, d, (inc): ExplanationNode['fact'] => {
    const cause = inc.cause;
    const first = inc.terms[0];
    if (cause.kind === 'dependency' || cause.kind === 'unavailable') {
      const module = cause.from === ROOT ? '(host)' : (c.names[cause.from] as string);
      const versions = cause.from === ROOT || !first ? '' : version(cause.from, first.set);
      if (cause.kind === 'unavailable')
        return { type: 'unavailable', module: c.names[cause.to] as string, range: cause.range, registered: c.registered[cause.to] === 1, field: cause.field };
      return { type: 'dependency', module, versions, dependency: c.names[cause.to] as string, range: cause.range, field: cause.field };
    }
    if (cause.kind === 'host' && first)
      return { type: 'host', module: c.names[first.pkg] as string, versions: version(first.pkg, first.set), range: cause.range, host: cause.host };
    if (cause.kind === 'root') return { type: 'root' };
    return undefined;
  });
  const onlyHost =
    facts.some((f) => f.cause.kind === 'host') &&
    facts.every((f) => f.cause.kind !== 'unavailable' && !(f.cause.kind === 'dependency' && f.cause.from !== ROOT));
  const code = onlyHost ? 'HOST_INCOMPATIBLE' : 'DEPENDENCY_UNSATISFIED';
  const hints = computeHints(c, input, roots, facts, ROOT, probe);
  const error = new ModhostError(
    code,
    `no set of module versions satisfies every requirement:\n${explanation.text}${hints.length ? `\n${hints.map((h) => `Hint: ${h}`).join('\n')}` : ''}`,
    {
      details: { explanation: explanation.lines, hints },
    },
  );
  return { ok: false, error, explanation, hints };
}

/** Where relaxing one root, or registering a missing module, would have worked. Bounded work. */
function computeHints(
  c: Catalog,
  input: ResolveInput,
  roots: readonly RootRequest[],
  facts: readonly Incompat[],
  ROOT: number,
  probe: (input: ResolveInput) => ResolveResult,
): string[] {
  const hints: string[] = [];
  for (const f of facts) {
    if (f.cause.kind === 'unavailable' && c.registered[f.cause.to] === 0) {
      const who = f.cause.from === ROOT ? 'the host roots' : `${c.names[f.cause.from]}'s ${f.cause.field}`;
      hints.push(`register a module named ${c.names[f.cause.to]}, or remove it from ${who}`);
    }
  }
  for (const f of facts) {
    if (f.cause.kind !== 'host') continue;
    const m = f.terms[0]?.pkg as number;
    hints.push(
      `${c.names[m]} needs host ${f.cause.range} but this host is ${f.cause.host}: register a version of ${c.names[m]} built for this host, or upgrade the host`,
    );
  }
  const involved = new Set(facts.flatMap((f) => (f.cause.kind === 'dependency' && f.cause.from === ROOT ? [c.names[f.cause.to] as string] : [])));
  let budget = 3;
  for (const r of roots) {
    if (!involved.has(r.name) || budget-- <= 0) continue;
    const relaxed = roots.map((x) => (x.name === r.name ? { name: x.name } : x));
    const attempt = probe({ ...input, catalog: c, roots: relaxed });
    if (attempt.ok) {
      const v = attempt.selection[r.name] as string;
      hints.push(
        `${r.name} ${v} would work with everything else: the host asks for ${r.name} ${r.range ?? '*'}${r.source ? ` (${r.source})` : ''}; allow ${v}, e.g. "^${v}"`,
      );
    }
  }
  return [...new Set(hints)];
}
