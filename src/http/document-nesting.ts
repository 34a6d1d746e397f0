// graphql-js parses recursively: a document nested a few thousand levels deep ({, [ or ( in
// selections, lists or object values) overflows the stack inside parse, which yoga answers 500.
// A linear scan refuses it before anything recurses over it; no legitimate operation comes close
// (GRAPHQL_MAX_DEPTH bounds selections at 12, JSON arguments are bounded at 32 levels).
import type { Plugin } from 'graphql-yoga';
import { limitExceeded } from '../argument-errors.ts';

export const MAX_DOCUMENT_NESTING = 100;

/** Whether the document opens more than `max` brackets at once, outside strings and comments. */
export function nestedDeeperThan(source: string, max = MAX_DOCUMENT_NESTING): boolean {
  let depth = 0;
  let i = 0;
  while (i < source.length) {
    const char = source[i];
    if (char === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
    } else if (source.startsWith('"""', i)) {
      // Block strings escape only \""" (no other escapes).
      i += 3;
      while (i < source.length && !source.startsWith('"""', i)) i += source.startsWith('\\"""', i) ? 4 : 1;
      i += 3;
    } else if (char === '"') {
      i++;
      while (i < source.length && source[i] !== '"' && source[i] !== '\n') i += source[i] === '\\' ? 2 : 1;
      i++;
    } else {
      if (char === '{' || char === '[' || char === '(') {
        if (++depth > max) return true;
      } else if (char === '}' || char === ']' || char === ')') {
        depth--;
      }
      i++;
    }
  }
  return false;
}

/** Must come after the plugins that replace the parser (GraphQL Armor's token limit): it wraps theirs. */
export function useDocumentNesting(max = MAX_DOCUMENT_NESTING): Plugin {
  return {
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => {
        const text = typeof source === 'string' ? source : source.body;
        if (nestedDeeperThan(text, max)) {
          throw limitExceeded(`Document nested deeper than ${max} levels of {, [ or (: refused before parsing`);
        }
        return parseFn(source, options);
      });
    },
  };
}
