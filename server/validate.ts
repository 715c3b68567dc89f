import type { z } from 'zod';
import type { FieldIssue } from '../shared/schemas.js';
import { ValidationError } from './errors.js';

export type { FieldIssue };

export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({
    field: i.path.length ? i.path.join('.') : '(body)',
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
  }));
}

/** Parse input against a shared schema or throw a 400 naming each wrong field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationError(fieldIssues(result.error));
  return result.data;
}
