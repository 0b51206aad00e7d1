/**
 * The filter language of object sets, compiled to SQL over the object store.
 *
 *   filter     := or
 *   or         := and ("or" and)*
 *   and        := condition ("and" condition)*
 *   condition  := "(" or ")" | FIELD OPERATOR VALUE
 *   OPERATOR   := "="  equal        "!=" not equal
 *                 "^=" starts with  "$=" ends with   "*=" contains
 *   VALUE      := "double-quoted text" (\" and \\ escape) | bare-word (no spaces or parentheses)
 *
 * FIELD is a field of the set's object type (e.g. `name`, `network`, `address`, `port`). Words
 * `and`/`or` are case-insensitive. Example: `name $= ".example.com" and not_a_field = x` fails
 * with the position of `not_a_field`.
 */

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'condition'; field: string; operator: Operator; value: string };

const OPERATORS = ['=', '!=', '^=', '$=', '*='] as const;
type Operator = (typeof OPERATORS)[number];

export class FilterSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`at character ${position + 1}: ${message}`);
  }
}

interface Token {
  kind: 'word' | 'string' | 'operator' | '(' | ')' | 'end';
  text: string;
  position: number;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: c, text: c, position: i++ });
    } else if (c === '"') {
      const start = i++;
      let text = '';
      while (i < source.length && source[i] !== '"') {
        if (source[i] === '\\' && i + 1 < source.length) i++;
        text += source[i++];
      }
      if (i >= source.length) throw new FilterSyntaxError('a quoted value is not closed with "', start);
      i++;
      tokens.push({ kind: 'string', text, position: start });
    } else {
      const operator = OPERATORS.slice()
        .sort((a, b) => b.length - a.length)
        .find((op) => source.startsWith(op, i));
      if (operator) {
        tokens.push({ kind: 'operator', text: operator, position: i });
        i += operator.length;
        continue;
      }
      const start = i;
      while (i < source.length && !/[\s()"=]/.test(source[i]) && !OPERATORS.some((op) => source.startsWith(op, i))) i++;
      if (i === start) throw new FilterSyntaxError(`unexpected ${JSON.stringify(c)}`, i);
      tokens.push({ kind: 'word', text: source.slice(start, i), position: start });
    }
  }
  tokens.push({ kind: 'end', text: '', position: source.length });
  return tokens;
}

/** Parses a filter; `fields` are the names it may use. Throws FilterSyntaxError with the position. */
export function parseFilter(source: string, fields: readonly string[]): FilterNode {
  const tokens = tokenize(source);
  let at = 0;
  const peek = () => tokens[at];
  const isWord = (word: string) => peek().kind === 'word' && peek().text.toLowerCase() === word;

  const parseOr = (): FilterNode => {
    let left = parseAnd();
    while (isWord('or')) {
      at++;
      left = { kind: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): FilterNode => {
    let left = parseCondition();
    while (isWord('and')) {
      at++;
      left = { kind: 'and', left, right: parseCondition() };
    }
    return left;
  };
  const parseCondition = (): FilterNode => {
    const token = peek();
    if (token.kind === '(') {
      at++;
      const inner = parseOr();
      if (peek().kind !== ')') throw new FilterSyntaxError('expected ")"', peek().position);
      at++;
      return inner;
    }
    if (token.kind !== 'word') throw new FilterSyntaxError(`expected a field (${fields.join(', ')})`, token.position);
    if (!fields.includes(token.text))
      throw new FilterSyntaxError(`unknown field "${token.text}"; the fields are ${fields.join(', ')}`, token.position);
    at++;
    const operator = peek();
    if (operator.kind !== 'operator')
      throw new FilterSyntaxError(
        `expected an operator (${OPERATORS.join(' ')}) after ${token.text}`,
        operator.position,
      );
    at++;
    const value = peek();
    if (value.kind !== 'word' && value.kind !== 'string')
      throw new FilterSyntaxError(`expected a value after ${operator.text}`, value.position);
    at++;
    return { kind: 'condition', field: token.text, operator: operator.text as Operator, value: value.text };
  };

  const tree = parseOr();
  if (peek().kind !== 'end')
    throw new FilterSyntaxError(`expected "and", "or" or the end, not "${peek().text}"`, peek().position);
  return tree;
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The filter as a SQL condition on `alias.data`, its values appended to `params` (never inlined).
 */
export function filterToSql(node: FilterNode, params: unknown[], alias = 'o'): string {
  if (node.kind !== 'condition') {
    const left = filterToSql(node.left, params, alias);
    const right = filterToSql(node.right, params, alias);
    return `(${left} ${node.kind.toUpperCase()} ${right})`;
  }
  params.push(node.field);
  const field = `${alias}.data->>$${params.length}`;
  const like = (pattern: string) => {
    params.push(pattern);
    return `${field} LIKE $${params.length}`;
  };
  switch (node.operator) {
    case '=':
      params.push(node.value);
      return `${field} = $${params.length}`;
    case '!=':
      params.push(node.value);
      return `${field} IS DISTINCT FROM $${params.length}`;
    case '^=':
      return like(`${escapeLike(node.value)}%`);
    case '$=':
      return like(`%${escapeLike(node.value)}`);
    case '*=':
      return like(`%${escapeLike(node.value)}%`);
  }
}
