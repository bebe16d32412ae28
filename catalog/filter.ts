/**
 * Consul's `?filter` expression language (the API Filtering docs; grammar shaped like
 * hashicorp/go-bexpr), over plain JSON-shaped objects.
 *
 * Grammar:
 *   expr      := or
 *   or        := and ("or" and)*
 *   and       := not ("and" not)*
 *   not       := "not" not | primary
 *   primary   := "(" expr ")" | match
 *   match     := selector ("==" | "!=") value
 *              | selector ("contains" | "not contains" | "matches" | "not matches") value
 *              | selector "is" ["not"] "empty"
 *              | value ("in" | "not in") selector
 *   selector  := ident ("." ident | "." digits | "[" string "]")*  |  string starting with "/" (JSON pointer)
 *   value     := string ("..." with escapes, or `raw`) | number | bare word (a selector-shaped word)
 *
 * Semantics:
 * - Field names are case-sensitive, like Consul's.
 * - `==`/`!=` compare a scalar: the value is coerced to the field's type (number, boolean, string).
 * - `in`/`contains` on an array: some element equals the value; on an object (map): the key
 *   exists; on a string: substring.
 * - `matches` is an unanchored regular-expression search on a string field; the pattern is
 *   compiled at parse time (a bad pattern is a parse error).
 * - `is empty`: a string, array or map of length 0, or a missing or null field.
 * - A path that passes through an array (e.g. `Checks.Status` over a list of checks) is true
 *   when the match holds for any element; negated operators apply per element, so
 *   `Checks.Status != passing` means "some check is not passing".
 * - A missing field makes `==`, `in`, `contains`, `matches`, `is not empty` false and their
 *   negations true.
 */

export class FilterError extends Error {
  override name = 'FilterError';
  /** 1-based character position in the source where the problem was found. */
  readonly position: number;
  constructor(problem: string, position: number, src: string) {
    const near = src.slice(Math.max(0, position - 1), position + 15);
    super(`filter: ${problem} at position ${position}${near ? ` (near "${near}")` : ' (at end)'}`);
    this.position = position;
  }
}

export type MatchOp =
  | '==' | '!=' | 'is empty' | 'is not empty' | 'in' | 'not in' | 'contains' | 'not contains' | 'matches' | 'not matches';

export type FilterAst =
  | { kind: 'and' | 'or'; left: FilterAst; right: FilterAst }
  | { kind: 'not'; expr: FilterAst }
  | { kind: 'match'; selector: string[]; op: MatchOp; value?: string; regex?: RegExp };

/** Parses a filter expression; throws {@link FilterError} naming the problem and its position. */
export function parseFilter(src: string): FilterAst {
  return new Parser(src).parse();
}

/** Parses once and returns a predicate. */
export function compileFilter(src: string): (obj: unknown) => boolean {
  const ast = parseFilter(src);
  return (obj) => evaluate(ast, obj);
}

// ---------------------------------------------------------------- parser

const IDENT_START = /[A-Za-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_]/;
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'contains', 'matches', 'is', 'empty']);

/** A parsed operand before we know whether it is a selector or a value. */
interface Operand {
  /** Selector path when the operand has selector shape. */
  path?: string[];
  /** Raw value when the operand can be a value. */
  raw?: string;
  start: number;
}

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parse(): FilterAst {
    this.ws();
    if (this.pos >= this.src.length) this.fail('empty expression');
    const e = this.or();
    this.ws();
    if (this.pos < this.src.length) {
      if (this.src[this.pos] === ')') this.fail('unmatched ")"');
      this.fail('expected "and", "or" or the end of the expression');
    }
    return e;
  }

  private fail(problem: string, at = this.pos): never {
    throw new FilterError(problem, at + 1, this.src);
  }

  private ws(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  /** The word (identifier characters) at the cursor, without consuming it. */
  private peekWord(at = this.pos): string {
    let end = at;
    while (end < this.src.length && IDENT_CHAR.test(this.src[end]!)) end++;
    return this.src.slice(at, end);
  }

  /** Consumes keyword `kw` (followed by a non-identifier character) if it is next. */
  private keyword(kw: string): boolean {
    this.ws();
    if (this.peekWord() !== kw) return false;
    this.pos += kw.length;
    return true;
  }

  /** Consumes a sequence of keywords only if all of them are next. */
  private keywords(...kws: string[]): boolean {
    const save = this.pos;
    for (const k of kws) if (!this.keyword(k)) { this.pos = save; return false; }
    return true;
  }

  private or(): FilterAst {
    let left = this.and();
    while (this.keyword('or')) left = { kind: 'or', left, right: this.and() };
    return left;
  }

  private and(): FilterAst {
    let left = this.not();
    while (this.keyword('and')) left = { kind: 'and', left, right: this.not() };
    return left;
  }

  private not(): FilterAst {
    if (this.keyword('not')) return { kind: 'not', expr: this.not() };
    return this.primary();
  }

  private primary(): FilterAst {
    this.ws();
    if (this.src[this.pos] === '(') {
      const open = this.pos;
      this.pos++;
      this.ws();
      if (this.src[this.pos] === ')') this.fail('empty parentheses');
      const e = this.or();
      this.ws();
      if (this.src[this.pos] !== ')') this.fail(this.pos >= this.src.length ? `unclosed "(" opened at position ${open + 1}` : 'expected ")"');
      this.pos++;
      return e;
    }
    return this.match();
  }

  private match(): FilterAst {
    this.ws();
    if (this.pos >= this.src.length) this.fail('expected a selector or value');
    const first = this.operand();
    // value-first forms: <value> in <selector>, <value> not in <selector>
    const opAt = this.pos;
    let op: MatchOp | undefined;
    if (this.keyword('in')) op = 'in';
    else if (this.keywords('not', 'in')) op = 'not in';
    if (op !== undefined) {
      if (first.raw === undefined) this.fail('expected a value before "in"', first.start);
      this.ws();
      const selAt = this.pos;
      const sel = this.operand();
      if (sel.path === undefined) this.fail('expected a selector after "in"', selAt);
      return { kind: 'match', selector: sel.path, op, value: first.raw };
    }
    if (first.path === undefined) this.fail('expected a selector', first.start);
    const selector = first.path;
    this.ws();
    if (this.src.startsWith('==', this.pos)) { this.pos += 2; op = '=='; }
    else if (this.src.startsWith('!=', this.pos)) { this.pos += 2; op = '!='; }
    else if (this.keywords('is', 'empty')) return { kind: 'match', selector, op: 'is empty' };
    else if (this.keywords('is', 'not', 'empty')) return { kind: 'match', selector, op: 'is not empty' };
    else if (this.keyword('contains')) op = 'contains';
    else if (this.keywords('not', 'contains')) op = 'not contains';
    else if (this.keyword('matches')) op = 'matches';
    else if (this.keywords('not', 'matches')) op = 'not matches';
    else if (this.peekWord() === 'is') this.fail('expected "is empty" or "is not empty"');
    else this.fail(this.pos >= this.src.length ? 'expected an operator after the selector' : 'expected an operator (==, !=, is empty, is not empty, contains, not contains, matches, not matches)', this.pos >= this.src.length ? opAt : this.pos);
    this.ws();
    const valAt = this.pos;
    if (this.pos >= this.src.length) this.fail(`expected a value after "${op}"`);
    const v = this.operand();
    if (v.raw === undefined) this.fail('expected a value', valAt);
    const node: FilterAst = { kind: 'match', selector, op, value: v.raw };
    if (op === 'matches' || op === 'not matches') {
      try {
        node.regex = new RegExp(v.raw);
      } catch (err) {
        this.fail(`invalid regular expression ${JSON.stringify(v.raw)}: ${(err as Error).message}`, valAt);
      }
    }
    return node;
  }

  /** A string, number or selector-shaped word at the cursor. */
  private operand(): Operand {
    this.ws();
    const start = this.pos;
    const c = this.src[this.pos];
    if (c === '"' || c === '`') {
      const s = this.string();
      const out: Operand = { raw: s, start };
      if (s.startsWith('/')) out.path = s.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
      return out;
    }
    if (c !== undefined && /[-0-9]/.test(c)) {
      const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?/.exec(this.src.slice(this.pos));
      if (m === null) this.fail('invalid number');
      this.pos += m[0].length;
      const next = this.src[this.pos];
      if (next !== undefined && !/[\s)]/.test(next)) this.fail('invalid number', start);
      return { raw: m[0], start };
    }
    if (c === undefined || !IDENT_START.test(c)) this.fail('expected a selector or value');
    const word = this.peekWord();
    if (KEYWORDS.has(word)) this.fail(`unexpected keyword "${word}"`);
    const path = [word];
    this.pos += word.length;
    for (;;) {
      if (this.src[this.pos] === '.') {
        const segAt = this.pos + 1;
        const seg = this.peekWord(segAt);
        if (seg === '') this.fail('expected a field name after "."', segAt);
        if (!IDENT_START.test(seg[0]!) && !/^[0-9]+$/.test(seg)) this.fail('invalid field name', segAt);
        path.push(seg);
        this.pos = segAt + seg.length;
      } else if (this.src[this.pos] === '[') {
        this.pos++;
        this.ws();
        const q = this.src[this.pos];
        if (q !== '"' && q !== '`') this.fail('expected a quoted key inside "[...]"');
        path.push(this.string());
        this.ws();
        if (this.src[this.pos] !== ']') this.fail('unclosed "["');
        this.pos++;
      } else {
        break;
      }
    }
    return { path, raw: path.join('.'), start };
  }

  /** A double-quoted string with JSON-like escapes, or a backtick raw string. */
  private string(): string {
    const start = this.pos;
    const q = this.src[this.pos]!;
    this.pos++;
    let out = '';
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos]!;
      if (ch === q) {
        this.pos++;
        return out;
      }
      if (ch === '\\' && q === '"') {
        const e = this.src[this.pos + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', a: '\x07', v: '\v' };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          this.pos += 2;
          continue;
        }
        if (e === 'u') {
          const hex = this.src.slice(this.pos + 2, this.pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 6;
          continue;
        }
        this.fail('invalid escape sequence');
      }
      out += ch;
      this.pos++;
    }
    return this.fail('unterminated string', start);
  }
}

// ---------------------------------------------------------------- evaluation

const NOT_FOUND = Symbol('not found');

/** Evaluates a parsed filter against one object. Never throws. */
export function evaluate(ast: FilterAst, obj: unknown): boolean {
  switch (ast.kind) {
    case 'and':
      return evaluate(ast.left, obj) && evaluate(ast.right, obj);
    case 'or':
      return evaluate(ast.left, obj) || evaluate(ast.right, obj);
    case 'not':
      return !evaluate(ast.expr, obj);
    case 'match':
      return walk(ast, obj, 0);
  }
}

function walk(m: Extract<FilterAst, { kind: 'match' }>, v: unknown, i: number): boolean {
  if (i === m.selector.length) return applyOp(m, v);
  const seg = m.selector[i]!;
  if (Array.isArray(v)) {
    if (/^[0-9]+$/.test(seg)) return walk(m, Number(seg) < v.length ? v[Number(seg)] : NOT_FOUND, i + 1);
    return v.some((el) => walk(m, el, i));
  }
  if (v !== null && typeof v === 'object' && Object.prototype.hasOwnProperty.call(v, seg)) {
    return walk(m, (v as Record<string, unknown>)[seg], i + 1);
  }
  return applyOp(m, NOT_FOUND);
}

function applyOp(m: Extract<FilterAst, { kind: 'match' }>, v: unknown): boolean {
  const raw = m.value ?? '';
  switch (m.op) {
    case '==': return equalsRaw(v, raw);
    case '!=': return !equalsRaw(v, raw);
    case 'in':
    case 'contains': return containsRaw(v, raw);
    case 'not in':
    case 'not contains': return !containsRaw(v, raw);
    case 'matches': return typeof v === 'string' && m.regex!.test(v);
    case 'not matches': return !(typeof v === 'string' && m.regex!.test(v));
    case 'is empty': return isEmpty(v);
    case 'is not empty': return !isEmpty(v);
  }
}

const TRUE_WORDS = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

function equalsRaw(v: unknown, raw: string): boolean {
  switch (typeof v) {
    case 'string': return v === raw;
    case 'number': return raw.trim() !== '' && Number(raw) === v;
    case 'boolean': return v ? TRUE_WORDS.has(raw) : FALSE_WORDS.has(raw);
    default: return false;
  }
}

function containsRaw(v: unknown, raw: string): boolean {
  if (typeof v === 'string') return v.includes(raw);
  if (Array.isArray(v)) return v.some((el) => equalsRaw(el, raw));
  if (v !== null && typeof v === 'object') return Object.prototype.hasOwnProperty.call(v, raw);
  return false;
}

function isEmpty(v: unknown): boolean {
  if (v === NOT_FOUND || v === null || v === undefined) return true;
  if (typeof v === 'string' || Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}
