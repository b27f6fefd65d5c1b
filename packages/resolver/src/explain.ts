// Turns a PubGrub failure into text (pub's error-reporting algorithm, iterative) and a tree.
import type { Catalog } from './catalog.js';
import type { Cause, Incompat } from './pubgrub.js';
import { allVersions, isPositive, negate, type Term } from './terms.js';

/** One node of the derivation tree: an incompatibility and, if derived, the two it came from. */
export interface ExplanationNode {
  readonly id: number;
  /** What the incompatibility says, in words. */
  readonly text: string;
  readonly kind: 'external' | 'derived';
  /** For external facts: where they came from. */
  readonly fact?:
    | {
        readonly type: 'dependency';
        readonly module: string;
        readonly versions: string;
        readonly dependency: string;
        readonly range: string;
        readonly field: string;
      }
    | { readonly type: 'unavailable'; readonly module: string; readonly range: string; readonly registered: boolean; readonly field: string }
    | { readonly type: 'host'; readonly module: string; readonly versions: string; readonly range: string; readonly host: string }
    | { readonly type: 'root' };
  /** For derived ones: the ids of the two causes. */
  readonly causes?: readonly [number, number];
}

/** Why resolution failed: the report as text lines and as a derivation tree. */
export interface Explanation {
  readonly text: string;
  readonly lines: readonly string[];
  readonly tree: { readonly root: number; readonly nodes: Readonly<Record<number, ExplanationNode>> };
}

/** Describes terms and incompatibilities of one solver run in words. */
export interface Describer {
  term(t: Term): string;
  incompat(inc: Incompat): string;
  and(a: Incompat, b: Incompat, lineA?: number, lineB?: number): string;
}

/** Range texts seen for exact masks, so derived terms print as the range a user wrote. */
export type RangeNames = Map<number, Map<bigint, string>>;

export function createDescriber(c: Catalog, ROOT: number, rangeNames: RangeNames): Describer {
  const nOf = (p: number) => (p === ROOT ? 1 : (c.versionStart[p + 1] as number) - (c.versionStart[p] as number));
  const name = (p: number) => (p === ROOT ? 'the host' : (c.names[p] as string));
  const version = (p: number, i: number) => c.versions[(c.versionStart[p] as number) + i] as string;

  /** A positive mask as words: a known range, or runs of adjacent versions collapsed to bounds. */
  const versionsText = (p: number, mask: bigint): string => {
    const n = nOf(p);
    const known = rangeNames.get(p)?.get(mask);
    if (known !== undefined) return known;
    const runs: string[] = [];
    for (let i = 0; i < n; ) {
      if (((mask >> BigInt(i)) & 1n) === 0n) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < n && ((mask >> BigInt(j + 1)) & 1n) === 1n) j++;
      if (i === j) runs.push(version(p, i));
      else if (i === 0) runs.push(j + 1 < n ? `<${version(p, j + 1)}` : 'any');
      else if (j === n - 1) runs.push(`>=${version(p, i)}`);
      else runs.push(`>=${version(p, i)} <${version(p, j + 1)}`);
      i = j + 1;
    }
    return runs.join(' || ');
  };

  const positiveText = (p: number, mask: bigint): string => {
    if (p === ROOT) return 'the host';
    const n = nOf(p);
    if (n > 0 && mask === allVersions(n)) return `every version of ${name(p)}`;
    const text = versionsText(p, mask);
    return text === '' ? name(p) : `${name(p)} ${text}`;
  };

  const term = (t: Term): string => {
    const n = nOf(t.pkg);
    if (isPositive(t.set, n)) return positiveText(t.pkg, t.set);
    return `not ${positiveText(t.pkg, negate(t.set, n))}`;
  };
  const inverse = (t: Term) => positiveText(t.pkg, negate(t.set, nOf(t.pkg)));

  const listVersions = (p: number) => {
    const n = nOf(p);
    const all = Array.from({ length: n }, (_, i) => version(p, i));
    return all.length > 6 ? `${all.slice(0, 3).join(', ')}, …, ${all.slice(-2).join(', ')}` : all.join(', ');
  };
  /** `name range`, or just the name for "any release". */
  const target = (p: number, range: string) => (range.trim() === '*' || range.trim() === '' ? name(p) : `${name(p)} ${range}`);
  const fieldVerb = (field: string) => (field === 'optionalDependencies' ? 'optionally depends on' : 'depends on');

  const incompat = (inc: Incompat): string => {
    const cause: Cause = inc.cause;
    const [a, b] = inc.terms;
    switch (cause.kind) {
      case 'root':
        return 'the host must run';
      case 'dependency': {
        if (cause.from === ROOT) return `the host requires ${target(cause.to, cause.range)}${cause.source ? ` (${cause.source})` : ''}`;
        return `${term(a as Term)} ${fieldVerb(cause.field)} ${target(cause.to, cause.range)}`;
      }
      case 'unavailable': {
        const why =
          c.registered[cause.to] === 1
            ? `no registered version matches; ${name(cause.to)} has ${listVersions(cause.to)}`
            : `no module named ${name(cause.to)} is registered`;
        const who = cause.from === ROOT ? 'the host requires' : `${term(a as Term)} ${fieldVerb(cause.field)}`;
        const src = cause.from === ROOT && cause.source ? `, ${cause.source}` : '';
        return `${who} ${target(cause.to, cause.range)} (${why}${src})`;
      }
      case 'no-versions':
        return `no version of ${a ? term(a) : 'this module'} is available`;
      case 'host':
        return `${term(a as Term)} needs host ${cause.range} (engines.host; this host is ${cause.host})`;
      default:
        break;
    }
    if (cause.kind === 'conflict' && (inc.terms.length === 0 || (inc.terms.length === 1 && a?.pkg === ROOT && isPositive(a.set, 1))))
      return 'resolution failed';
    if (inc.terms.length === 1 && a) {
      return isPositive(a.set, nOf(a.pkg)) ? `${term(a)} is forbidden` : `${inverse(a)} is required`;
    }
    if (inc.terms.length === 2 && a && b) {
      const pa = isPositive(a.set, nOf(a.pkg));
      const pb = isPositive(b.set, nOf(b.pkg));
      if (pa && pb) return `${term(a)} is incompatible with ${term(b)}`;
      if (pa !== pb) {
        const [pos, neg] = pa ? [a, b] : [b, a];
        return `${term(pos)} requires ${inverse(neg)}`;
      }
      return `either ${inverse(a)} or ${inverse(b)} is required`;
    }
    const pos = inc.terms.filter((t) => isPositive(t.set, nOf(t.pkg)));
    const neg = inc.terms.filter((t) => !isPositive(t.set, nOf(t.pkg)));
    if (neg.length === 0) return `${pos.map((t) => term(t)).join(', ')} are incompatible`;
    return `if ${pos.map((t) => term(t)).join(' and ')} then ${neg.map((t) => inverse(t)).join(' or ')}`;
  };

  const and = (x: Incompat, y: Incompat, lx?: number, ly?: number): string => {
    const ref = (l?: number) => (l === undefined ? '' : ` (${l})`);
    const cx = x.cause;
    const cy = y.cause;
    if (cx.kind === 'dependency' && cy.kind === 'dependency' && lx === undefined && ly === undefined) {
      // "a depends on b which depends on c"
      if (cx.to === cy.from && cx.from !== ROOT) return `${incompat(x)} which ${fieldVerb(cy.field)} ${target(cy.to, cy.range)}`;
      if (cy.to === cx.from && cy.from !== ROOT) return `${incompat(y)} which ${fieldVerb(cx.field)} ${target(cx.to, cx.range)}`;
      // "the host requires both a and b"
      if (cx.from === cy.from && cx.from === ROOT) {
        const src = cx.source === cy.source && cx.source ? ` (${cx.source})` : '';
        return `the host requires both ${target(cx.to, cx.range)} and ${target(cy.to, cy.range)}${src}`;
      }
    }
    return `${incompat(x)}${ref(lx)} and ${incompat(y)}${ref(ly)}`;
  };

  return { term, incompat, and };
}

/** Runs pub's error reporting over the derivation graph of `failure`, with an explicit stack. */
export function explainFailure(failure: Incompat, d: Describer, describeFact: (inc: Incompat) => ExplanationNode['fact']): Explanation {
  // Count how many derived incompatibilities each one causes.
  const derivations = new Map<Incompat, number>();
  const all: Incompat[] = [];
  const seen = new Set<Incompat>();
  const walk: Incompat[] = [failure];
  while (walk.length > 0) {
    const inc = walk.pop() as Incompat;
    if (seen.has(inc)) continue;
    seen.add(inc);
    all.push(inc);
    if (inc.cause.kind === 'conflict') {
      for (const cause of [inc.cause.left, inc.cause.right]) {
        derivations.set(cause, (derivations.get(cause) ?? 0) + 1);
        walk.push(cause);
      }
    }
  }
  // The tree describes every incompatibility; build it only when someone looks (a deep failure has many).
  let nodes: Record<number, ExplanationNode> | undefined;
  const buildNodes = () => {
    const out: Record<number, ExplanationNode> = {};
    for (const inc of all) {
      if (inc.cause.kind === 'conflict') {
        out[inc.id] = { id: inc.id, text: d.incompat(inc), kind: 'derived', causes: [inc.cause.left.id, inc.cause.right.id] };
      } else {
        const fact = describeFact(inc);
        out[inc.id] = fact ? { id: inc.id, text: d.incompat(inc), kind: 'external', fact } : { id: inc.id, text: d.incompat(inc), kind: 'external' };
      }
    }
    return out;
  };

  const lines: { text: string; number?: number }[] = [];
  const lineNumbers = new Map<Incompat, number>();
  let numbersUsed = 0;
  const isDerived = (inc: Incompat) => inc.cause.kind === 'conflict';
  const causesOf = (inc: Incompat) => inc.cause as Extract<Cause, { kind: 'conflict' }>;
  const write = (inc: Incompat, text: string, numbered: boolean) => {
    if (numbered) {
      const number = ++numbersUsed;
      lineNumbers.set(inc, number);
      lines.push({ text, number });
    } else lines.push({ text });
  };
  const isSingleLine = (inc: Incompat) => !isDerived(causesOf(inc).left) && !isDerived(causesOf(inc).right);
  const isCollapsible = (inc: Incompat) => {
    if ((derivations.get(inc) ?? 0) > 1) return false;
    const { left, right } = causesOf(inc);
    if (isDerived(left) === isDerived(right)) return false;
    return !lineNumbers.has(isDerived(left) ? left : right);
  };

  type Task = () => void;
  const stack: Task[] = [];
  const visit = (inc: Incompat, conclusion = false): void => {
    const numbered = conclusion || (derivations.get(inc) ?? 0) > 1;
    const conjunction = conclusion || inc === failure ? 'So,' : 'And';
    const text = d.incompat(inc);
    const { left, right } = causesOf(inc);
    if (isDerived(left) && isDerived(right)) {
      const ll = lineNumbers.get(left);
      const rl = lineNumbers.get(right);
      if (ll !== undefined && rl !== undefined) {
        write(inc, `Because ${d.and(left, right, ll, rl)}, ${text}.`, numbered);
      } else if (ll !== undefined || rl !== undefined) {
        const [withLine, without] = ll !== undefined ? [left, right] : [right, left];
        stack.push(() => write(inc, `${conjunction} because ${d.incompat(withLine)} (${lineNumbers.get(withLine)}), ${text}.`, numbered));
        stack.push(() => visit(without));
      } else if (isSingleLine(left) || isSingleLine(right)) {
        const [first, second] = isSingleLine(right) ? [left, right] : [right, left];
        stack.push(() => write(inc, `Thus, ${text}.`, numbered));
        stack.push(() => visit(second));
        stack.push(() => visit(first));
      } else {
        stack.push(() => write(inc, `${conjunction} because ${d.incompat(left)} (${lineNumbers.get(left)}), ${text}.`, numbered));
        stack.push(() => visit(right));
        stack.push(() => lines.push({ text: '' }));
        stack.push(() => visit(left, true));
      }
    } else if (isDerived(left) || isDerived(right)) {
      const [derived, ext] = isDerived(left) ? [left, right] : [right, left];
      const dl = lineNumbers.get(derived);
      if (dl !== undefined) {
        write(inc, `Because ${d.and(ext, derived, undefined, dl)}, ${text}.`, numbered);
      } else if (isCollapsible(derived)) {
        const dc = causesOf(derived);
        const [priorDerived, priorExt] = isDerived(dc.left) ? [dc.left, dc.right] : [dc.right, dc.left];
        stack.push(() => write(inc, `${conjunction} because ${d.and(priorExt, ext)}, ${text}.`, numbered));
        stack.push(() => visit(priorDerived));
      } else {
        stack.push(() => write(inc, `${conjunction} because ${d.incompat(ext)}, ${text}.`, numbered));
        stack.push(() => visit(derived));
      }
    } else {
      write(inc, `Because ${d.and(left, right)}, ${text}.`, numbered);
    }
  };

  if (isDerived(failure)) {
    stack.push(() => visit(failure));
    while (stack.length > 0) (stack.pop() as Task)();
  } else {
    lines.push({ text: `Because ${d.incompat(failure)}, resolution failed.` });
  }
  const width = numbersUsed > 0 ? String(numbersUsed).length + 3 : 0;
  const rendered = lines.map((l) => (width === 0 ? l.text : l.text === '' ? '' : `${(l.number === undefined ? '' : `(${l.number}) `).padEnd(width)}${l.text}`));
  const tree = { root: failure.id } as { root: number; readonly nodes: Readonly<Record<number, ExplanationNode>> };
  Object.defineProperty(tree, 'nodes', { enumerable: true, get: () => (nodes ??= buildNodes()) });
  return { text: rendered.join('\n'), lines: rendered, tree };
}
