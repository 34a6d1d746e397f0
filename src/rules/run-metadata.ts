// Limits on what users attach to runs (labels, attributes), shared by every operation that
// writes them.
import type { FieldError } from '../errors.ts';

export const MAX_LABELS = 50;
export const MAX_LABEL_LENGTH = 64;
export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/;
export const MAX_ATTRIBUTES_BYTES = 64 * 1024;

export function labelErrors(labels: readonly string[], path: string[] = ['labels']): FieldError[] {
  const errors: FieldError[] = [];
  if (labels.length > MAX_LABELS) errors.push({ path, message: `At most ${MAX_LABELS} labels are allowed (got ${labels.length})` });
  labels.forEach((label, index) => {
    if (label.length === 0 || label.length > MAX_LABEL_LENGTH) {
      errors.push({ path: [...path, String(index)], message: `A label has 1 to ${MAX_LABEL_LENGTH} characters` });
    } else if (!LABEL_PATTERN.test(label)) {
      errors.push({
        path: [...path, String(index)],
        message: 'A label starts with a letter or digit and contains only letters, digits and _ . : / -',
      });
    }
  });
  return errors;
}

export function attributeErrors(attributes: unknown, path: string[] = ['attributes']): FieldError[] {
  if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) {
    return [{ path, message: 'Attributes must be a JSON object' }];
  }
  const size = Buffer.byteLength(JSON.stringify(attributes));
  if (size > MAX_ATTRIBUTES_BYTES) {
    return [{ path, message: `Attributes may take at most ${MAX_ATTRIBUTES_BYTES} bytes as JSON (got ${size})` }];
  }
  return [];
}

/** De-duplicates labels, keeping their first-seen order. */
export function normalizeLabels(labels: readonly string[]): string[] {
  return [...new Set(labels)];
}
