// The fuzz suite's properties, in one place: what any answer to any request must satisfy.
// Each check returns the violations it found (empty: the answer is fine) and a label for the
// statistics (the __typename of a typed result, an error's extensions.code, or "ok").
import { namesInRequest, pathRootsFor, type FuzzRequest } from './schema-cases.ts';

export interface HttpAnswer {
  status: number;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  body:
    | { data?: Record<string, unknown> | null; errors?: { message?: string; path?: unknown[]; extensions?: { code?: string } }[] }
    | undefined;
  ms: number;
}

export interface Verdict {
  violations: string[];
  /** Labels of what came back, for "errors by type" (e.g. "ValidationError", "BAD_USER_INPUT", "ok"). */
  labels: string[];
  /** Whether the answer was an error of any kind (then nothing may have been stored). */
  refused: boolean;
}

const MASKED = /^Unexpected error\.?$/;
/** Fields whose errors may name what the request refers to rather than what it holds. */
const STORED_ROOTS: Record<string, string[]> = { 'Mutation.startRun': ['inputs'], 'Mutation.setRunParameter': ['inputs'] };
const LEAKS = [/\[object Object\]/, /\n\s+at .+:\d+:\d+/, /PrismaClient|prisma\.\w+\.\w+\(\)/, /Cannot use a pool/];

function messageViolations(where: string, message: unknown): string[] {
  if (typeof message !== 'string' || message.trim() === '') return [`${where}: no message`];
  if (MASKED.test(message)) return [`${where}: masked "${message}"`];
  return LEAKS.filter((leak) => leak.test(message)).map((leak) => `${where}: message leaks internals (${leak}): ${message.slice(0, 300)}`);
}

/** The properties every HTTP answer must have: no 5xx, no INTERNAL_SERVER_ERROR, errors that name what was wrong. */
export function judgeHttp(request: FuzzRequest, answer: HttpAnswer): Verdict {
  const violations: string[] = [];
  const labels: string[] = [];
  if (answer.status >= 500) violations.push(`HTTP ${answer.status}: ${answer.text.slice(0, 300)}`);
  if (!answer.body) {
    violations.push(`answer is not JSON (HTTP ${answer.status}): ${answer.text.slice(0, 300)}`);
    return { violations, labels: [`HTTP ${answer.status}`], refused: true };
  }
  const names = namesInRequest(request);
  for (const [index, error] of (answer.body.errors ?? []).entries()) {
    const code = error.extensions?.code;
    labels.push(code ?? 'NO_CODE');
    const where = `errors[${index}] (${code ?? 'no code'})`;
    if (!code) violations.push(`${where}: no extensions.code: ${error.message}`);
    if (code === 'INTERNAL_SERVER_ERROR') violations.push(`${where}: ${error.message}`);
    violations.push(...messageViolations(where, error.message));
    // An argument error must say which argument (or which field inside it).
    // An operation over a limit names the limit ("Query Cost limit of 50000 exceeded"), not an argument.
    const overLimit = code === 'GRAPHQL_VALIDATION_FAILED' && /limit of \d+|nested deeper than \d+/i.test(error.message ?? '');
    if ((code === 'BAD_USER_INPUT' || code === 'GRAPHQL_VALIDATION_FAILED') && !overLimit) {
      const mentioned = [...names].some((name) => new RegExp(`(^|[^A-Za-z0-9_])\\$?${name}([^A-Za-z0-9_]|$)`).test(error.message ?? ''));
      if (!mentioned) violations.push(`${where}: names none of ${[...names].slice(0, 12).join(', ')}: ${error.message}`);
    }
  }
  let refused = (answer.body.errors ?? []).length > 0;
  if (answer.status >= 400 && answer.status < 500) refused = true;
  const roots = pathRootsFor(request.target);
  // startRun and setRunParameter validate the draft's inputs: errors are rooted at the run's `inputs`.
  for (const root of STORED_ROOTS[request.target] ?? []) roots.add(root);
  for (const [field, value] of Object.entries(answer.body.data ?? {})) {
    if (value === null && !(answer.body.errors ?? []).length && request.target.startsWith('Mutation.')) {
      violations.push(`data.${field} is null without an error`);
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      if (!item || typeof item !== 'object') continue;
      const typename = (item as { __typename?: string }).__typename;
      if (!typename || !typename.endsWith('Error')) continue;
      refused = true;
      labels.push(typename);
      const typed = item as { message?: string; fieldErrors?: { path?: string[]; message?: string }[] };
      violations.push(...messageViolations(`data.${field} ${typename}`, typed.message));
      if (typename === 'ValidationError') {
        if (!typed.fieldErrors?.length) violations.push(`data.${field} ValidationError without fieldErrors: ${typed.message}`);
        for (const fieldError of typed.fieldErrors ?? []) {
          const path = fieldError.path ?? [];
          if (path.length === 0) violations.push(`data.${field} ValidationError with an empty path: ${fieldError.message}`);
          else if (!roots.has(path[0]))
            violations.push(
              `data.${field} ValidationError path ${JSON.stringify(path)} names no field of the input (${[...roots].join(', ')})`,
            );
          violations.push(...messageViolations(`data.${field} fieldErrors ${JSON.stringify(path)}`, fieldError.message));
        }
      }
    }
  }
  if (labels.length === 0) labels.push('ok');
  return { violations, labels, refused };
}
