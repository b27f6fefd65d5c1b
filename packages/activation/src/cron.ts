import { ModhostError } from '@modhost/core';

/** A parsed 5-field cron expression (minute hour day-of-month month day-of-week), in UTC. */
export interface Cron {
  readonly expression: string;
  /** The first matching minute strictly after `after` (ms since the epoch), or undefined if none within 4 years. */
  next(after: number): number | undefined;
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;
const NAMES: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
};

function parseField(text: string, f: (typeof FIELDS)[number], expression: string): Set<number> {
  const out = new Set<number>();
  const bad = (why: string) =>
    new ModhostError('MANIFEST_INVALID', `cron "${expression}": ${f.name} field "${text}" ${why}`, {
      details: { expression, issues: [{ path: ['schedule'], message: why }] },
    });
  const num = (s: string) => {
    const v = NAMES[s.toLowerCase()] ?? (/^\d+$/.test(s) ? Number(s) : Number.NaN);
    if (!Number.isInteger(v) || v < f.min || v > f.max) throw bad(`has ${JSON.stringify(s)}, expected ${f.min}–${f.max}`);
    return v;
  };
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw bad(`has step ${JSON.stringify(stepText)}, expected a positive whole number`);
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [f.min, f.max];
    else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      [lo, hi] = [num(a), num(b)];
      if (lo > hi) throw bad(`has a range that runs backwards (${range})`);
    } else [lo, hi] = [num(range), stepText === undefined ? num(range) : f.max];
    for (let v = lo; v <= hi; v += step) out.add(f.name === 'day of week' && v === 7 ? 0 : v);
  }
  return out;
}

/** Parses `m h dom mon dow` (numbers, `*`, lists, ranges, steps, month and weekday names). */
export function parseCron(expression: string): Cron {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) {
    throw new ModhostError('MANIFEST_INVALID', `cron "${expression}" must have 5 fields (minute hour day-of-month month day-of-week), e.g. "0 8 * * MON"`, {
      details: { expression, issues: [{ path: ['schedule'], message: 'expected 5 fields' }] },
    });
  }
  const [minutes, hours, days, months, weekdays] = parts.map((p, i) => parseField(p, FIELDS[i] as (typeof FIELDS)[number], expression)) as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  const anyDay = parts[2] === '*';
  const anyWeekday = parts[4] === '*';
  const dayMatches = (d: Date) => {
    // Classic cron: when both day fields are restricted, either may match.
    const dom = days.has(d.getUTCDate());
    const dow = weekdays.has(d.getUTCDay());
    if (anyDay) return dow;
    if (anyWeekday) return dom;
    return dom || dow;
  };
  return {
    expression,
    next(after) {
      const t = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
      const limit = after + 4 * 366 * 24 * 3600_000;
      while (t.getTime() <= limit) {
        if (!months.has(t.getUTCMonth() + 1)) {
          t.setUTCMonth(t.getUTCMonth() + 1, 1);
          t.setUTCHours(0, 0, 0, 0);
        } else if (!dayMatches(t)) {
          t.setUTCDate(t.getUTCDate() + 1);
          t.setUTCHours(0, 0, 0, 0);
        } else if (!hours.has(t.getUTCHours())) {
          t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
        } else if (!minutes.has(t.getUTCMinutes())) {
          t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
        } else return t.getTime();
      }
      return undefined;
    },
  };
}
