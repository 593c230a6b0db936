// Lets a plain `node` child process (type stripping) import the product's TypeScript, whose
// relative imports have no extension: `../log` resolves to `../log.ts`. Test-only.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
      export async function resolve(specifier, context, next) {
        try {
          return await next(specifier, context);
        } catch (error) {
          if (!/^\\.{1,2}\\//.test(specifier) || /\\.[cm]?[jt]s$/.test(specifier)) throw error;
          return next(specifier + '.ts', context);
        }
      }
    `),
);
