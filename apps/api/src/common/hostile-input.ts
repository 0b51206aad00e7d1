import type { NextFunction, Request, Response } from 'express';

/** Deeper than any body the API takes (a task's data, an object, a plugin): deeper is refused. */
const MAX_DEPTH = 32;
/** Keys that would reach an object's prototype if anything merged them. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Refuses, before any handler sees it, input that no field of the API accepts and that would
 * otherwise fail deep inside (a 500): the NUL character (PostgreSQL's text cannot store it) in the
 * path, a query parameter or a body string or key; bodies nested deeper than MAX_DEPTH (they
 * overflow the stack of recursive validators); prototype keys. The 400 names the field. The walk
 * is iterative, so the deepest body cannot overflow it.
 */
export function rejectHostileInput(request: Request, response: Response, next: NextFunction): void {
  const problem = pathProblem(request.path) ?? walk(request.query, 'query') ?? walk(request.body, 'body');
  if (!problem) return next();
  response.status(400).json({ statusCode: 400, error: 'Bad Request', message: [problem] });
}

function pathProblem(path: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return 'path: not valid percent-encoding';
  }
  return decoded.includes('\u0000') ? 'path: must not contain the NUL character' : null;
}

function walk(root: unknown, where: 'query' | 'body'): string | null {
  const stack: Array<{ value: unknown; field: string; depth: number }> = [{ value: root, field: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, field, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return `${field || where}: must not contain the NUL character`;
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_DEPTH) return `${where}: nested deeper than ${MAX_DEPTH} levels`;
    for (const [key, child] of Object.entries(value)) {
      const name = field ? `${field}.${key}` : key;
      if (key.includes('\u0000')) return `${field || where}: a property name must not contain the NUL character`;
      if (PROTOTYPE_KEYS.has(key)) return `${name}: property ${key} is not allowed`;
      stack.push({ value: child, field: name, depth: depth + 1 });
    }
  }
  return null;
}
