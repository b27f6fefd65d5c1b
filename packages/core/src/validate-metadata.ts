import { isPlainObject } from './safe-data.js';

/** Catalogue limits shared by `defineModule` and `modhost.json`, so a module is judged the same either way. */
export const METADATA_LIMITS = { displayName: 100, url: 2048, tags: 20, tag: 50, category: 50 } as const;
/** A tag: lower-case words of letters and digits joined by `-` (`billing`, `multi-tenant`). */
export const TAG_PATTERN: RegExp = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** A homepage: an absolute `http:` or `https:` URL (a page for people to open; no credentials in it). */
export const HOMEPAGE_PATTERN: RegExp = /^https?:\/\/[^\s/?#@]+(?:[/?#]\S*)?$/i;
/** A repository: a URL (`https://`, `git+ssh://`, …) or a shorthand (`github:owner/repo`, `owner/repo`). */
export const REPOSITORY_PATTERN: RegExp = /^(?:(?:https?|git|git\+https|git\+ssh|ssh):\/\/\S+|(?:(?:github|gitlab|bitbucket):)?[\w-][\w.-]*\/[\w-][\w.-]*)$/;

type Add = (path: readonly (string | number)[], message: string) => void;

const L = METADATA_LIMITS;
/** A non-blank string of at most `max` characters, matching `pattern` when given. */
const text = (max: number, pattern?: RegExp) => (v: unknown) => typeof v === 'string' && v.trim() !== '' && v.length <= max && (!pattern || pattern.test(v));
const tag = text(L.tag, TAG_PATTERN);
/** Each metadata field: its check, and what it must be (a table keeps core's bundle small). */
const FIELDS: Record<string, [(v: unknown) => boolean, string]> = {
  homepage: [text(L.url, HOMEPAGE_PATTERN), 'an http(s) URL such as "https://example.com/billing"'],
  repository: [text(L.url, REPOSITORY_PATTERN), 'a URL or a shorthand such as "github:owner/repo"'],
  tags: [(v) => Array.isArray(v) && v.length <= L.tags, `an array of at most ${L.tags} tags`],
  category: [text(L.category), `a non-empty string of at most ${L.category} characters`],
};

/** Checks `displayName` and `metadata` of a definition; every problem goes to `add` with its path. */
export function checkCatalogFields(d: Record<string, unknown>, add: Add): void {
  if (d.displayName !== undefined && !text(L.displayName)(d.displayName))
    add(['displayName'], `displayName must be a non-empty string of at most ${L.displayName} characters`);
  const m = d.metadata;
  if (m === undefined) return;
  if (!isPlainObject(m)) {
    add(['metadata'], 'metadata must be an object { homepage?, repository?, tags?, category? }');
    return;
  }
  for (const [key, value] of Object.entries(m)) {
    const field = FIELDS[key];
    if (!field) add(['metadata', key], `unknown metadata field "${key}"`);
    else if (!field[0](value)) add(['metadata', key], `${key} must be ${field[1]}`);
  }
  const tags = m.tags;
  if (!Array.isArray(tags)) return;
  tags.forEach((t, i) => {
    if (!tag(t)) add(['metadata', 'tags', i], `a tag is lower-case words joined by "-" (e.g. "multi-tenant"), at most ${L.tag} characters`);
    else if (tags.indexOf(t) < i) add(['metadata', 'tags', i], `tag "${t}" is listed twice`);
  });
}
