// The text the service accepts, in one place (issue 11). PostgreSQL text and jsonb cannot hold
// U+0000, and a lone UTF-16 surrogate has no UTF-8 form: the pg driver would silently store
// U+FFFD instead, and in a Json value it made Prisma's engine panic. Both are refused wherever text
// comes in: every GraphQL argument (src/http/accepted-arguments.ts) and uploaded tables
// (src/storage/tabular.ts). JSON values are also bounded in depth, so that no later step that
// walks them recursively (size checks, merge patches, JSON.stringify) can overflow the stack.
import type { FieldError } from '../errors.ts';

export const MAX_JSON_DEPTH = 32;

/**
 * Entries of any one list argument (ids, labels, statuses; not lists inside JSON values). Lists
 * such as nodes(ids:) fan out to one lookup per entry, and the cost limit only counts `first`:
 * 300,000 ids held the database for every user for 17 s. No list of this schema needs more.
 */
export const MAX_LIST_ENTRIES = 100;

/** At most this many problems are listed for one request: enough to fix it, not a second copy of it. */
export const MAX_FIELD_ERRORS = 20;

// NUL, a high surrogate not followed by a low one, or a low one not preceded by a high one.
// eslint-disable-next-line no-control-regex -- NUL is one of the characters refused
const REFUSED = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether a string may hold something refused: a fast first pass for long texts (uploads). */
// eslint-disable-next-line no-control-regex -- NUL is one of the characters refused
export const MAY_HOLD_REFUSED_TEXT = /[\u0000\ud800-\udfff]/;

/** Why `text` is refused (it starts with "contains …"), or null when it is accepted. */
export function textProblem(text: string): string | null {
  const match = REFUSED.exec(text);
  if (!match) return null;
  const at = `at character ${match.index + 1}`;
  if (match[0] === '\u0000') return `contains U+0000 (NUL) ${at}, which text cannot hold`;
  const unit = match[0].charCodeAt(0).toString(16).toUpperCase();
  return `contains a lone UTF-16 surrogate (\\u${unit} without its pair) ${at}, which is not valid Unicode`;
}

/** Collects problems up to MAX_FIELD_ERRORS. */
export class FieldErrorList {
  readonly errors: FieldError[] = [];

  get full(): boolean {
    return this.errors.length >= MAX_FIELD_ERRORS;
  }

  add(path: string[], message: string): void {
    if (!this.full) this.errors.push({ path, message });
  }

  text(value: string, path: string[]): void {
    const problem = textProblem(value);
    if (problem) this.add(path, problem);
  }

  /**
   * A JSON value: every string in it (object keys too) and its depth (an object or array is one
   * level; a value nested deeper than MAX_JSON_DEPTH is refused at the level that goes past it).
   */
  json(value: unknown, path: string[], depth = 0): void {
    if (this.full) return;
    if (typeof value === 'string') {
      this.text(value, path);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    if (depth >= MAX_JSON_DEPTH) {
      this.add(path, `nested deeper than ${MAX_JSON_DEPTH} levels (objects and arrays inside each other)`);
      return;
    }
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length && !this.full; index++) this.json(value[index], [...path, String(index)], depth + 1);
      return;
    }
    let position = 0;
    for (const [key, item] of Object.entries(value)) {
      position++;
      // A refused key is named by its position: echoing it would send the refused text back.
      const keyProblem = textProblem(key);
      if (keyProblem) this.add(path, `key ${position} ${keyProblem}`);
      else this.json(item, [...path, key], depth + 1);
      if (this.full) return;
    }
  }
}

// ---- Names ----

/**
 * A name people read, type and look up (instance names): one spelling per look. Composed
 * characters are stored composed (NFC: "Cafe\u0301" is "Café") and surrounding spaces dropped, so
 * two names that look the same are the same name.
 */
export function normalizeName(name: string): string {
  return name.normalize('NFC').trim();
}

/** Why a (normalized) name is refused: empty, or holding characters that cannot be seen. */
export function nameProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  // Control and format characters (zero-width space, bidirectional overrides, BOM) make a name
  // look like another one, or like nothing.
  const invisible = /[\p{Cc}\p{Cf}]/u.exec(name);
  if (invisible) {
    const code = invisible[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return `contains the invisible character U+${code} at character ${invisible.index + 1}: a name must look like what it is`;
  }
  return null;
}
