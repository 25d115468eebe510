/**
 * @module Tiny runtime schemas: every decoded request is checked against one before any
 * handler sees it. Each schema bounds sizes, so validation itself cannot be made expensive.
 */
import { ValidationError } from './errors.js';

export interface Schema<T> {
  /** Return the value typed as T, or throw a ValidationError naming the bad field. */
  parse(value: unknown, path?: string): T;
}
export type Infer<S> = S extends Schema<infer T> ? T : never;

const schema = <T>(parse: (value: unknown, path: string) => T): Schema<T> => ({
  parse: (value, path = '') => parse(value, path),
});

export function string(options: { min?: number; max: number; pattern?: RegExp }): Schema<string> {
  return schema((value, path) => {
    if (typeof value !== 'string') throw new ValidationError(path, 'expected a string');
    if (value.length < (options.min ?? 0)) throw new ValidationError(path, `shorter than ${options.min}`);
    if (value.length > options.max) throw new ValidationError(path, `longer than ${options.max}`);
    if (options.pattern && !options.pattern.test(value)) throw new ValidationError(path, 'has an invalid format');
    return value;
  });
}

export function bytes(options: { min?: number; max: number } | { length: number }): Schema<Uint8Array> {
  const min = 'length' in options ? options.length : (options.min ?? 0);
  const max = 'length' in options ? options.length : options.max;
  return schema((value, path) => {
    if (!(value instanceof Uint8Array)) throw new ValidationError(path, 'expected bytes');
    if (value.byteLength < min || value.byteLength > max) {
      throw new ValidationError(path, min === max ? `expected ${min} bytes` : `expected ${min}..${max} bytes`);
    }
    return value;
  });
}

export function uint(options: { max?: number } = {}): Schema<number> {
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  return schema((value, path) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new ValidationError(path, 'expected a non-negative integer');
    }
    if (value > max) throw new ValidationError(path, `greater than ${max}`);
    return value;
  });
}

export function boolean(): Schema<boolean> {
  return schema((value, path) => {
    if (typeof value !== 'boolean') throw new ValidationError(path, 'expected a boolean');
    return value;
  });
}

export function literal<const T extends string | number | boolean>(expected: T): Schema<T> {
  return schema((value, path) => {
    if (value !== expected) throw new ValidationError(path, `expected ${JSON.stringify(expected)}`);
    return expected;
  });
}

export function oneOf<const T extends readonly string[]>(values: T): Schema<T[number]> {
  const allowed = new Set<string>(values);
  return schema((value, path) => {
    if (typeof value !== 'string' || !allowed.has(value)) throw new ValidationError(path, `expected one of ${values.join(', ')}`);
    return value as T[number];
  });
}

export function array<T>(item: Schema<T>, options: { max: number }): Schema<T[]> {
  return schema((value, path) => {
    if (!Array.isArray(value)) throw new ValidationError(path, 'expected an array');
    if (value.length > options.max) throw new ValidationError(path, `more than ${options.max} items`);
    return value.map((element, index) => item.parse(element, `${path}[${index}]`));
  });
}

const optionalMark = Symbol('optional');
export interface OptionalSchema<T> extends Schema<T | undefined> {
  [optionalMark]: true;
}
export function optional<T>(inner: Schema<T>): OptionalSchema<T> {
  return {
    [optionalMark]: true,
    parse: (value, path = '') => (value === undefined || value === null ? undefined : inner.parse(value, path)),
  };
}

type Shape = Record<string, Schema<unknown>>;
type RequiredKeys<S extends Shape> = { [K in keyof S]: S[K] extends OptionalSchema<unknown> ? never : K }[keyof S];
type OptionalKeys<S extends Shape> = Exclude<keyof S, RequiredKeys<S>>;
export type ObjectOf<S extends Shape> = { [K in RequiredKeys<S>]: Infer<S[K]> } & {
  [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined>;
};

/** A record with exactly these keys; unknown keys are refused so nothing unvalidated slips through. */
export function object<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  const keys = Object.keys(shape);
  return schema((value, path) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
      throw new ValidationError(path, 'expected a map');
    }
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(shape, key)) throw new ValidationError(path ? `${path}.${key}` : key, 'is not allowed');
    }
    const result: Record<string, unknown> = {};
    for (const key of keys) {
      const fieldSchema = shape[key] as Schema<unknown>;
      const field = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
      const parsed = fieldSchema.parse(field, path ? `${path}.${key}` : key);
      if (parsed !== undefined) result[key] = parsed;
    }
    return result as ObjectOf<S>;
  });
}
