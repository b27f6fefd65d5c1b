/** The bare media type of a `content-type` header, lower case (`application/json; charset=utf-8` → `application/json`). */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  const t = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  return t === undefined || t === '' ? undefined : t;
}

/** True when `type` is one of `accepts` (`text/*` takes any `text/` type, `*\/*` anything). */
export function acceptsType(type: string | undefined, accepts: readonly string[]): boolean {
  if (type === undefined) return false;
  return accepts.some((a) => {
    const want = a.toLowerCase();
    if (want === '*/*' || want === type) return true;
    return want.endsWith('/*') && type.startsWith(want.slice(0, -1));
  });
}

/** True for JSON media types (`application/json`, `application/problem+json`, …). */
export const isJsonType = (type: string | undefined): boolean => type !== undefined && (type === 'application/json' || type.endsWith('+json'));
