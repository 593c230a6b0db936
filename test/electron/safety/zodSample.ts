/** A valid sample input for a tool's zod schema, to walk every registered tool. Test-only. */
import type { z } from 'zod';

type Def = { type: string; [key: string]: unknown };

function defOf(schema: unknown): Def {
  return (schema as { _zod: { def: Def } })._zod.def;
}

export function sampleFor(schema: z.ZodType): unknown {
  const def = defOf(schema);
  switch (def.type) {
    case 'object': {
      const shape = def['shape'] as Record<string, z.ZodType>;
      return Object.fromEntries(
        Object.entries(shape)
          .map(([key, child]) => [key, sampleFor(child)] as const)
          .filter(([, value]) => value !== undefined),
      );
    }
    case 'string':
      return 'src/sample.txt';
    case 'number':
    case 'int':
      return 1;
    case 'boolean':
      return false;
    case 'enum':
      return Object.values(def['entries'] as Record<string, unknown>)[0];
    case 'literal':
      return (def['values'] as unknown[])[0];
    case 'array':
      return [sampleFor(def['element'] as z.ZodType)];
    case 'optional':
    case 'default':
    case 'prefault':
      return undefined;
    case 'nullable':
      return null;
    case 'union':
      return sampleFor((def['options'] as z.ZodType[])[0]!);
    case 'pipe':
      return sampleFor(def['in'] as z.ZodType);
    case 'record':
      return {};
    default:
      return undefined;
  }
}
