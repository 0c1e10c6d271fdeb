import type { z } from 'zod';

export interface JsonBounds {
  /** Levels of objects and arrays, the outermost counting 1. */
  depth: number;
  /** Object keys and array items, counted over every level. */
  entries: number;
}

export interface JsonBoundsViolation {
  path: (string | number)[];
  message: string;
}

/**
 * How a caller's JSON value breaks the bounds, if it does. It walks the value with its own stack
 * rather than recursing once per level, so no nesting, however deep, can exhaust the call stack.
 * `__proto__` is refused: JavaScript objects cannot hold it as data (assigning it sets the prototype).
 */
export function jsonBoundsViolation(value: unknown, { depth, entries }: JsonBounds): JsonBoundsViolation | undefined {
  const stack: { value: object; path: (string | number)[] }[] = [];
  const visit = (child: unknown, path: (string | number)[]) => {
    if (child !== null && typeof child === 'object') stack.push({ value: child, path });
  };
  visit(value, []);
  let seen = 0;
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.path.length >= depth) return { path: node.path, message: `nested deeper than ${depth} levels` };
    // Counted one by one, stopping at the bound: no list of a huge object's children is ever built.
    if (Array.isArray(node.value)) {
      for (let index = 0; index < node.value.length; index++) {
        if (++seen > entries) return { path: node.path, message: `more than ${entries} keys and items in all` };
        visit(node.value[index], [...node.path, index]);
      }
      continue;
    }
    for (const key in node.value) {
      if (!Object.hasOwn(node.value, key)) continue;
      if (key === '__proto__') return { path: node.path, message: 'the key "__proto__" is not allowed' };
      if (++seen > entries) return { path: node.path, message: `more than ${entries} keys and items in all` };
      visit((node.value as Record<string, unknown>)[key], [...node.path, key]);
    }
  }
  return undefined;
}

/**
 * Refines a free-form object schema with depth and entry bounds, then a size bound on its JSON
 * (measured only once the depth is known to be safe to serialise).
 */
export function bounded<S extends z.ZodType>(schema: S, bounds: JsonBounds & { chars: number }): S {
  return schema.superRefine((value, ctx) => {
    const violation = jsonBoundsViolation(value, bounds);
    if (violation) {
      ctx.addIssue({ code: 'custom', path: violation.path, message: violation.message });
    } else if (JSON.stringify(value).length > bounds.chars) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${bounds.chars} characters as JSON` });
    }
  });
}
