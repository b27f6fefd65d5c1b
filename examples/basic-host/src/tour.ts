import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostEvents } from 'modhost';
import { type AppOptions, EXAMPLE_VERSIONS, prepareModulesDir, startApp } from './app.js';

/** Options for {@link runTour}. */
export interface TourOptions {
  print?: (line: string) => void;
  /** `watch`: let the folder watcher notice the copy (as a person would); `rescan`: ask the host at once. */
  trigger?: 'watch' | 'rescan';
  /** Concurrent request loops while swapping. Default 8. */
  concurrency?: number;
  health?: AppOptions['health'];
}

/** What the tour saw. */
export interface TourResult {
  readonly requests: number;
  readonly failed: number;
  readonly failures: readonly string[];
  /** How many responses each tasks version served. */
  readonly served: Readonly<Record<string, number>>;
  readonly events: readonly string[];
  readonly finalVersion: string;
}

/**
 * The scripted tour: starts the example app and keeps requests flowing. It copies tasks 1.1.0 into the modules
 * folder (hot-swapped through the health gate), rolls back by hand to the still-warm 1.0.0, then copies in a broken
 * 1.2.0 (refused before the switch: 1.0.0 keeps serving). It counts every request that failed. Nothing here
 * waits on a timer: each step waits for the host's event.
 */
export async function runTour(options: TourOptions = {}): Promise<TourResult> {
  const print = options.print ?? ((l: string) => console.log(l));
  const work = mkdtempSync(join(tmpdir(), 'modhost-tour-'));
  const modulesDir = prepareModulesDir(join(work, 'modules'));
  const app = await startApp({
    modulesDir,
    watch: options.trigger !== 'rescan',
    ...(options.health ? { health: options.health } : {}),
    logger: () => ({ debug() {}, info() {}, warn() {}, error() {} }),
  });
  const { host, url } = app;
  const events: string[] = [];
  host.events.onAny((e, p) => {
    events.push(String(e));
    print(`  [event] ${String(e)} ${JSON.stringify(p)}`);
  });
  const next = <K extends keyof HostEvents>(event: K) => new Promise<HostEvents[K]>((r) => host.events.once(event, r));

  let running = true;
  let requests = 0;
  const failures: string[] = [];
  const served: Record<string, number> = {};
  const loop = async (i: number) => {
    // Each user's bearer token names their tenant (src/auth.ts).
    const token = i % 2 === 0 ? 'acme-admin' : 'globex-member';
    while (running) {
      requests += 1;
      try {
        const res = await fetch(`${url}/tasks`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { version?: string };
        if (res.status !== 200) failures.push(`GET /tasks ${res.status} ${JSON.stringify(body)}`);
        else served[body.version ?? '?'] = (served[body.version ?? '?'] ?? 0) + 1;
        if (i === 0 && requests % 50 === 0) {
          const post = await fetch(`${url}/tasks`, {
            method: 'POST',
            headers: { authorization: 'Bearer acme-admin', 'content-type': 'application/json' },
            body: JSON.stringify({ title: `task ${requests}` }),
          });
          requests += 1;
          if (post.status !== 201) failures.push(`POST /tasks ${post.status}`);
        }
      } catch (e) {
        failures.push(`GET /tasks threw ${(e as Error).message}`);
      }
    }
  };
  // Waits (on responses, not on a timer) until a version has served `count` requests.
  const servedBy = async (version: string, count: number) => {
    while ((served[version] ?? 0) < count && failures.length === 0) await new Promise((r) => setImmediate(r));
  };
  const copyIn = async (version: string) => {
    cpSync(join(EXAMPLE_VERSIONS, version), join(modulesDir, 'tasks'), { recursive: true });
    if (options.trigger === 'rescan') await host.rescan();
  };

  try {
    print(`tour: app on ${url}, ${options.concurrency ?? 8} request loops on /tasks`);
    const loops = Array.from({ length: options.concurrency ?? 8 }, (_, i) => loop(i));
    print('tour: copying tasks 1.1.0 into the modules folder…');
    const upgraded = next('module:upgraded');
    await copyIn('tasks-1.1.0');
    await upgraded;
    await servedBy('1.1.0', 50);
    print('tour: rolling tasks back by hand to the warm 1.0.0…');
    const rolledBack = await host.rollback('tasks');
    if (!rolledBack.ok) failures.push(`rollback: ${rolledBack.outcome} ${rolledBack.error?.message ?? ''}`);
    const before = served['1.0.0'] ?? 0;
    await servedBy('1.0.0', before + 50);
    print('tour: copying the broken tasks 1.2.0 into the modules folder…');
    const refused = next('module:upgrade-failed');
    await copyIn('tasks-1.2.0-broken');
    await refused;
    // Let traffic run against the version that survived, then stop.
    const after = requests;
    while (requests < after + 50) await new Promise((r) => setImmediate(r));
    running = false;
    await Promise.all(loops);
    const status = await host.status();
    const finalVersion = status.modules.find((m) => m.name === 'tasks')?.version ?? '?';
    print(`tour: ${requests} requests, ${failures.length} failed; served by version: ${JSON.stringify(served)}; tasks now ${finalVersion}`);
    return { requests, failed: failures.length, failures, served, events, finalVersion };
  } finally {
    running = false;
    await app.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
