// Where the project's own files are, whether this process runs the TypeScript sources (tsx) or
// the compiled form (`npm run build` → dist/, run by plain `node`). The compiled tree mirrors the
// sources one level down (dist/src, dist/workflows), and files that are not compiled (prisma/,
// .tools/) stay at the project root.
import { fileURLToPath } from 'node:url';

/** This module runs from dist/ (compiled JavaScript) rather than from the .ts sources. */
export const COMPILED = !import.meta.url.endsWith('.ts');

export const PROJECT_ROOT = fileURLToPath(new URL(COMPILED ? '../../' : '../', import.meta.url));

/**
 * The path of module `name` (written without extension) beside the module at `base`
 * (an import.meta.url), as this process can load it: `.ts` from the sources, `.js` compiled.
 */
export function siblingModule(base: string, name: string): string {
  return fileURLToPath(new URL(`./${name}${COMPILED ? '.js' : '.ts'}`, base));
}
