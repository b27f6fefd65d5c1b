// Turns an ES module's text into a script a Hardened JavaScript Compartment can evaluate: a function that takes
// the module's linkage (its imports, its exports, `import()`, `import.meta`) as arguments. The SES shim has no
// ES module parser of its own (that is `@endo/module-source`, a Babel build); this is a small lexer that finds
// the top-level `import`/`export` statements, `import(…)` and `import.meta`, and rewrites only those. Plain
// JavaScript: it runs inside the sandboxed guest as is.
//
// Semantics kept: imports are evaluated first, in order; exports are live (getters over the module's own
// bindings); `import * as ns` is the live namespace. Not kept: a named import is read once, when the importing
// module starts (a later reassignment of an exported `let` is seen through the namespace, not the named import).

const ID_START = /[A-Za-z_$\u0080-\uffff\\]/;
const ID_PART = /[\w$\u0080-\uffff\\]/;
// After these tokens a `/` starts a regular expression, not a division.
const BEFORE_REGEX = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

/** Splits source text into tokens: {type, value, start, end, nl} (nl: a line break precedes it). */
export function tokenize(src) {
  const tokens = [];
  // `{` that opened a template substitution, so its `}` resumes the template.
  const braces = [];
  let i = 0;
  let nl = false;
  const n = src.length;
  const push = (type, start, end) => {
    tokens.push({ type, value: src.slice(start, end), start, end, nl });
    nl = false;
  };
  const regexAllowed = () => {
    const t = tokens[tokens.length - 1];
    if (!t) return true;
    if (t.type === 'punct') return !(t.value === ')' || t.value === ']' || t.value === '}');
    if (t.type === 'id') return BEFORE_REGEX.has(t.value);
    return false;
  };
  // Scans a template from `i` (just after "`" or the `}` of a substitution); returns true when it ended.
  const template = () => {
    while (i < n) {
      const c = src[i];
      if (c === '\\') i += 2;
      else if (c === '`') {
        i += 1;
        return true;
      } else if (c === '$' && src[i + 1] === '{') {
        i += 2;
        braces.push('tpl');
        return false;
      } else i += 1;
    }
    throw new SyntaxError('unterminated template literal');
  };
  while (i < n) {
    const c = src[i];
    if (c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029') {
      nl = true;
      i += 1;
    } else if (c === ' ' || c === '\t' || c === '\f' || c === '\v' || c === '\ufeff' || c === '\u00a0') i += 1;
    else if (c === '/' && src[i + 1] === '/') {
      const start = i;
      while (i < n && src[i] !== '\n' && src[i] !== '\r') i += 1;
      tokens.push({ type: 'comment', value: '', start, end: i, nl });
    } else if (c === '/' && src[i + 1] === '*') {
      const start = i;
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new SyntaxError('unterminated comment');
      i = end + 2;
      if (/[\n\r]/.test(src.slice(start, i))) nl = true;
      tokens.push({ type: 'comment', value: '', start, end: i, nl: false });
    } else if (c === '"' || c === "'") {
      const start = i;
      i += 1;
      while (i < n && src[i] !== c) {
        if (src[i] === '\\') i += 1;
        else if (src[i] === '\n') throw new SyntaxError('unterminated string literal');
        i += 1;
      }
      i += 1;
      push('str', start, i);
    } else if (c === '`') {
      const start = i;
      i += 1;
      template();
      push('tpl', start, i);
    } else if (c === '}' && braces[braces.length - 1] === 'tpl') {
      braces.pop();
      const start = i;
      i += 1;
      template();
      push('tpl', start, i);
    } else if (c === '/' && regexAllowed()) {
      const start = i;
      i += 1;
      let inClass = false;
      while (i < n) {
        const d = src[i];
        if (d === '\\') i += 2;
        else if (d === '\n') throw new SyntaxError('unterminated regular expression');
        else {
          if (d === '[') inClass = true;
          else if (d === ']') inClass = false;
          else if (d === '/' && !inClass) break;
          i += 1;
        }
      }
      i += 1;
      while (i < n && ID_PART.test(src[i])) i += 1;
      push('re', start, i);
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const start = i;
      while (i < n && /[\w.]/.test(src[i])) {
        // An exponent's sign belongs to the number.
        if ((src[i] === 'e' || src[i] === 'E') && (src[i + 1] === '+' || src[i + 1] === '-') && !/^0[xX]/.test(src.slice(start, i))) i += 1;
        i += 1;
      }
      push('num', start, i);
    } else if (ID_START.test(c)) {
      const start = i;
      while (i < n && ID_PART.test(src[i])) i += src[i] === '\\' ? 6 : 1;
      push('id', start, i);
    } else if (c === '#' && ID_START.test(src[i + 1] ?? '')) {
      const start = i;
      i += 1;
      while (i < n && ID_PART.test(src[i])) i += 1;
      push('id', start, i);
    } else {
      if (c === '{') braces.push('{');
      else if (c === '}') braces.pop();
      // `...` and `?.` stay one token each, so "`.` before `import`" means a member access.
      const three = src.slice(i, i + 3);
      const len = three === '...' ? 3 : src.slice(i, i + 2) === '?.' && !/[0-9]/.test(src[i + 2] ?? '') ? 2 : 1;
      push('punct', i, i + len);
      i += len;
    }
  }
  return tokens;
}

/** The text of a string token, unquoted. */
const unquote = (t) => {
  if (t?.type !== 'str') throw new SyntaxError(`expected a module specifier string, got ${t ? t.value : 'the end of the file'}`);
  return JSON.parse(t.value[0] === '"' ? t.value : `"${t.value.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"')}"`);
};

/** The binding names a destructuring pattern (or a plain identifier) declares, starting at token `k`; returns [names, next]. */
function bindingNames(tokens, k) {
  const t = tokens[k];
  if (t.type === 'id') return [[t.value], k + 1];
  const names = [];
  let depth = 0;
  let j = k;
  for (; j < tokens.length; j++) {
    const x = tokens[j];
    if (x.type === 'comment') continue;
    if (x.value === '{' || x.value === '[' || x.value === '(') depth += 1;
    else if (x.value === '}' || x.value === ']' || x.value === ')') {
      depth -= 1;
      if (depth === 0) return [names, j + 1];
    } else if (x.value === '=' && depth > 0) {
      // A default value: skip it up to the next `,` or closing bracket at this depth.
      let d = 0;
      for (j += 1; j < tokens.length; j++) {
        const y = tokens[j].value;
        if (y === '{' || y === '[' || y === '(') d += 1;
        else if (y === '}' || y === ']' || y === ')') {
          if (d === 0) {
            j -= 1;
            break;
          }
          d -= 1;
        } else if (y === ',' && d === 0) {
          j -= 1;
          break;
        }
      }
    } else if (x.type === 'id') {
      const next = tokens[j + 1]?.value;
      // `{ key: name }`: the key is not a binding.
      if (next === ':' && tokens[j - 1]?.value !== '?') continue;
      names.push(x.value);
    }
  }
  throw new SyntaxError('unterminated destructuring pattern');
}

// Tokens that cannot end an expression: after them a line break does not end the statement.
const CONTINUES = new Set(['=', ',', '(', '[', '{', '.', '?.', '?', ':', '+', '-', '*', '/', '%', '&', '|', '^', '!', '~', '<', '>', '&&', '||']);

/**
 * Rewrites an ES module into `(function ($h) { … })` for `compartment.evaluate`. Returns the function's
 * source, the specifiers it imports (in order) and whether the text had module syntax at all.
 */
export function transformModule(src) {
  const all = tokenize(src);
  const tokens = all.filter((t) => t.type !== 'comment');
  const edits = [];
  const imports = [];
  const specIndex = new Map();
  const locals = []; // [exported name, local expression]
  const reexports = []; // `export * from`
  const header = [];
  let hasSyntax = false;
  const importVar = (spec) => {
    if (!specIndex.has(spec)) {
      specIndex.set(spec, imports.length);
      imports.push(spec);
      header.push(`const $h_${imports.length - 1} = $h.importNow(${JSON.stringify(spec)});`);
    }
    return `$h_${specIndex.get(spec)}`;
  };
  const blank = (start, end, text = '') => edits.push({ start, end, text });
  let depth = 0;
  const statementEnd = (k) => {
    // Returns the index just past the statement starting its clause at k (a `;` at depth 0, or a line break where the
    // expression cannot go on).
    let d = 0;
    for (let j = k; j < tokens.length; j++) {
      const t = tokens[j];
      if (t.value === '{' || t.value === '(' || t.value === '[') d += 1;
      else if (t.value === '}' || t.value === ')' || t.value === ']') {
        if (d === 0) return j;
        d -= 1;
      } else if (t.value === ';' && d === 0) return j + 1;
      if (d === 0 && j > k && tokens[j + 1]?.nl && !CONTINUES.has(t.value) && !CONTINUES.has(tokens[j + 1].value)) return j + 1;
    }
    return tokens.length;
  };
  const skipAttributes = (k) => {
    // `with { type: 'json' }` / `assert { … }`
    if ((tokens[k]?.value === 'with' || tokens[k]?.value === 'assert') && tokens[k + 1]?.value === '{') {
      let j = k + 2;
      while (j < tokens.length && tokens[j].value !== '}') j += 1;
      return j + 1;
    }
    return k;
  };
  const endOf = (k) => (tokens[k]?.value === ';' ? k + 1 : k);
  const spanEnd = (k) => (k > 0 ? tokens[k - 1].end : 0);

  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.type === 'punct' || t.type === 'tpl') {
      if (t.value === '{' || t.value === '(' || t.value === '[') depth += 1;
      else if (t.value === '}' || t.value === ')' || t.value === ']') depth -= 1;
      else if (t.type === 'tpl' && t.value.endsWith('${')) depth += 1;
      if (t.type === 'tpl' && t.value.startsWith('}')) depth -= 1;
      continue;
    }
    if (t.type !== 'id') continue;
    const prev = tokens[k - 1]?.value;
    const member = prev === '.' || prev === '?.';
    if (t.value === 'import' && !member) {
      const next = tokens[k + 1];
      if (next?.value === '(') {
        blank(t.start, t.end, '$h.dynamicImport');
        continue;
      }
      if (next?.value === '.' && tokens[k + 2]?.value === 'meta') {
        blank(t.start, tokens[k + 2].end, '$h.importMeta');
        continue;
      }
      if (depth !== 0) continue;
      hasSyntax = true;
      // import 'x' | import def, { a as b } from 'x' | import * as ns from 'x'
      let j = k + 1;
      const bindings = [];
      if (tokens[j]?.type === 'str') {
        importVar(unquote(tokens[j]));
        j = endOf(skipAttributes(j + 1));
        blank(t.start, spanEnd(j));
        k = j - 1;
        continue;
      }
      while (j < tokens.length && tokens[j].value !== 'from') {
        const x = tokens[j];
        if (x.value === '*') {
          bindings.push(['*', tokens[j + 2].value]);
          j += 3;
        } else if (x.value === '{') {
          j += 1;
          while (tokens[j].value !== '}') {
            const name = tokens[j].type === 'str' ? unquote(tokens[j]) : tokens[j].value;
            let local = name;
            if (tokens[j + 1]?.value === 'as') {
              local = tokens[j + 2].value;
              j += 2;
            }
            bindings.push([name, local]);
            j += 1;
            if (tokens[j].value === ',') j += 1;
          }
          j += 1;
        } else if (x.value === ',') j += 1;
        else {
          bindings.push(['default', x.value]);
          j += 1;
        }
      }
      const spec = unquote(tokens[j + 1]);
      const ns = importVar(spec);
      for (const [name, local] of bindings) header.push(name === '*' ? `const ${local} = ${ns};` : `const ${local} = ${ns}[${JSON.stringify(name)}];`);
      j = endOf(skipAttributes(j + 2));
      blank(t.start, spanEnd(j));
      k = j - 1;
      continue;
    }
    if (t.value !== 'export' || member || depth !== 0) continue;
    hasSyntax = true;
    const next = tokens[k + 1];
    if (next.value === 'default') {
      const after = tokens[k + 2];
      const isAsyncFn = after.value === 'async' && tokens[k + 3]?.value === 'function' && !tokens[k + 3].nl;
      if (after.value === 'function' || after.value === 'class' || isAsyncFn) {
        let nameAt = k + (isAsyncFn ? 4 : 3);
        if (tokens[nameAt]?.value === '*') nameAt += 1;
        const named = tokens[nameAt]?.type === 'id' && tokens[nameAt].value !== 'extends';
        if (named) {
          blank(t.start, next.end);
          locals.push(['default', tokens[nameAt].value]);
        } else {
          blank(t.start, next.end, 'const $h_default = ');
          locals.push(['default', '$h_default']);
        }
      } else {
        blank(t.start, next.end, 'const $h_default = ');
        locals.push(['default', '$h_default']);
      }
      continue;
    }
    if (next.value === '*') {
      // export * from 'x' | export * as ns from 'x'
      if (tokens[k + 2].value === 'as') {
        const name = tokens[k + 3].type === 'str' ? unquote(tokens[k + 3]) : tokens[k + 3].value;
        const ns = importVar(unquote(tokens[k + 5]));
        locals.push([name, ns]);
        const j = endOf(skipAttributes(k + 6));
        blank(t.start, spanEnd(j));
        k = j - 1;
      } else {
        reexports.push(importVar(unquote(tokens[k + 3])));
        const j = endOf(skipAttributes(k + 4));
        blank(t.start, spanEnd(j));
        k = j - 1;
      }
      continue;
    }
    if (next.value === '{') {
      let j = k + 2;
      const pairs = [];
      while (tokens[j].value !== '}') {
        const local = tokens[j].type === 'str' ? unquote(tokens[j]) : tokens[j].value;
        let exported = local;
        if (tokens[j + 1]?.value === 'as') {
          exported = tokens[j + 2].type === 'str' ? unquote(tokens[j + 2]) : tokens[j + 2].value;
          j += 2;
        }
        pairs.push([exported, local]);
        j += 1;
        if (tokens[j].value === ',') j += 1;
      }
      j += 1;
      if (tokens[j]?.value === 'from') {
        const ns = importVar(unquote(tokens[j + 1]));
        for (const [exported, local] of pairs) locals.push([exported, `${ns}[${JSON.stringify(local)}]`]);
        j = skipAttributes(j + 2);
      } else for (const [exported, local] of pairs) locals.push([exported, local]);
      j = endOf(j);
      blank(t.start, spanEnd(j));
      k = j - 1;
      continue;
    }
    // export const|let|var … | export function f | export async function f | export class C
    blank(t.start, t.end);
    if (next.value === 'function' || next.value === 'class' || next.value === 'async') {
      let nameAt = k + (next.value === 'async' ? 3 : 2);
      if (tokens[nameAt]?.value === '*') nameAt += 1;
      locals.push([tokens[nameAt].value, tokens[nameAt].value]);
      continue;
    }
    if (next.value === 'const' || next.value === 'let' || next.value === 'var') {
      let j = k + 2;
      const end = statementEnd(j);
      for (;;) {
        const [names, after] = bindingNames(tokens, j);
        for (const name of names) locals.push([name, name]);
        // Skip the initialiser up to a `,` at depth 0 within this statement.
        let d = 0;
        j = after;
        while (j < end) {
          const v = tokens[j].value;
          if (v === '{' || v === '(' || v === '[') d += 1;
          else if (v === '}' || v === ')' || v === ']') d -= 1;
          else if (v === ',' && d === 0) break;
          j += 1;
        }
        if (j >= end || tokens[j].value !== ',') break;
        j += 1;
      }
      continue;
    }
    throw new SyntaxError(`unsupported export form "export ${next.value}"`);
  }

  // Comments go (the evaluator refuses `import(` and HTML comment markers even inside them), line breaks stay.
  for (const t of all) if (t.type === 'comment') blank(t.start, t.end, src.slice(t.start, t.end).replace(/[^\n\r]/g, ''));
  // Strings keep their value, but not the character sequences the evaluator rejects without parsing.
  for (const t of tokens)
    if (t.type === 'str' || t.type === 'tpl') if (/\b(?:import|eval)\s*\(|<!--|-->/.test(t.value)) blank(t.start, t.end, escapeRejected(t.value));

  edits.sort((a, b) => b.start - a.start);
  let body = src;
  for (const e of edits) {
    const removed = body.slice(e.start, e.end);
    const lines = removed.split(/\r\n|\r|\n/).length - 1;
    const kept = e.text.split(/\r\n|\r|\n/).length - 1;
    body = body.slice(0, e.start) + e.text + '\n'.repeat(Math.max(0, lines - kept)) + body.slice(e.end);
  }
  const getters = locals.map(([exported, local]) => `${JSON.stringify(exported)}: () => ${local}`).join(', ');
  const prologue = [`$h.exports({ ${getters} });`, ...header, ...reexports.map((ns) => `$h.reexport(${ns});`)].join(' ');
  // One line of prologue before the body keeps the body's line numbers off by one only.
  return { source: `(function ($h) { ${prologue}\n${body}\n})`, imports, hasSyntax };
}

// An identifier spelled with unicode escapes (`e\\u0076al`, `\\u{65}val`).
const ESCAPED_IDENTIFIER = /(?:[\p{ID_Continue}$\u200c\u200d]|\\u[0-9a-fA-F]{4}|\\u\{[0-9a-fA-F]+\})+/gu;
const decodeEscapes = (id) =>
  id.replace(/\\u\{([0-9a-fA-F]+)\}|\\u([0-9a-fA-F]{4})/g, (_, long, short) => {
    const cp = Number.parseInt(long ?? short, 16);
    return cp > 0x10ffff ? '\ufffd' : String.fromCodePoint(cp);
  });

/**
 * Refuses source text that names `eval` with unicode escapes anywhere (strings included, to be safe): `e\\u0076al(…)`
 * is a direct eval the evaluator's own text check does not see, and V8 (Node 20) crashes the whole process, host
 * included, on one in a method. A compartment transform: it sees module text, `Function` bodies and `eval`ed text.
 */
export function rejectEscapedEval(src) {
  if (!src.includes('\\u')) return src;
  for (const [id] of src.matchAll(ESCAPED_IDENTIFIER))
    if (id.includes('\\') && decodeEscapes(id) === 'eval')
      throw new SyntaxError(`possible direct eval expression rejected: "${id}" spells eval with unicode escapes`);
  return src;
}

/** Escapes `i` of `import(`, `e` of `eval(` and the `!`/`>` of HTML comment markers inside a string or template. */
function escapeRejected(text) {
  return text
    .replace(/\b(import|eval)(\s*\()/g, (_, w, rest) => `\\x${w.charCodeAt(0).toString(16)}${w.slice(1)}${rest}`)
    .replace(/<!--/g, '<\\x21--')
    .replace(/-->/g, '--\\x3e');
}
