import { mkdirSync, writeFileSync } from 'node:fs';

/** One measured case: a subject and the baseline it is compared with, in the same run. */
export interface Comparison {
  readonly name: string;
  readonly subject: { readonly label: string; readonly opsPerSec: number };
  readonly baseline: { readonly label: string; readonly opsPerSec: number };
  /** How many times slower the subject is than the baseline (subject time / baseline time). */
  readonly ratio: number;
}

/** Runs `fn` `ops` times (after a warm-up) for `rounds` rounds and returns the median ops/second. */
export async function measure(fn: (i: number) => unknown, ops: number, rounds = 5): Promise<number> {
  for (let i = 0; i < Math.min(ops, 200); i++) await fn(i);
  // (warm-up above; with large operations ops is small and the warm-up is one or two runs)
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (let i = 0; i < ops; i++) await fn(i);
    rates.push(ops / ((performance.now() - start) / 1000));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)] as number;
}

/** Measures subject and baseline interleaved (so machine noise hits both) and returns the comparison. */
export async function compare(
  name: string,
  subject: [label: string, fn: (i: number) => unknown],
  baseline: [label: string, fn: (i: number) => unknown],
  ops: number,
): Promise<Comparison> {
  const s: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < 3; round++) {
    b.push(await measure(baseline[1], ops, 3));
    s.push(await measure(subject[1], ops, 3));
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[1] as number;
  const subjectRate = median(s);
  const baselineRate = median(b);
  return {
    name,
    subject: { label: subject[0], opsPerSec: subjectRate },
    baseline: { label: baseline[0], opsPerSec: baselineRate },
    ratio: baselineRate / subjectRate,
  };
}

/** Runs `fn` once and returns the milliseconds it took (for one-off costs that have no baseline). */
export function timeOnce(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

/** Prints a table and writes `bench/results/<file>.json`. */
export function report(file: string, title: string, rows: readonly Comparison[], facts: Record<string, unknown> = {}): void {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`\n${title}\n`);
  console.log(`| case | subject | ops/s | baseline | ops/s | subject is N× slower |`);
  console.log(`|---|---|---:|---|---:|---:|`);
  for (const r of rows)
    console.log(
      `| ${r.name} | ${r.subject.label} | ${fmt(r.subject.opsPerSec)} | ${r.baseline.label} | ${fmt(r.baseline.opsPerSec)} | ${r.ratio.toFixed(2)}× |`,
    );
  for (const [k, v] of Object.entries(facts)) console.log(`- ${k}: ${v}`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const out = new URL(`./results/${file}.json`, import.meta.url);
  writeFileSync(out, `${JSON.stringify({ title, node: process.version, at: new Date().toISOString(), rows, facts }, null, 2)}\n`);
  console.log(`\nwrote ${out.pathname}`);
}

/** A seeded PRNG (mulberry32), so every run measures the same generated input. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
