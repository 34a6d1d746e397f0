// ESLint finds bugs; Prettier owns layout, and typescript-eslint's recommended set has no layout
// rules, so the two never disagree (no eslint-config-prettier needed).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['src/generated/', 'test/gql/', 'dist/', 'node_modules/', '.tools/', '.data/', 'bench/results/'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The code drops a field from an object with a named rest sibling (`{ total: _total, ...run }`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Pothos plugins extend its types the only way it offers: `declare global { namespace PothosSchemaTypes }`.
      '@typescript-eslint/no-namespace': ['error', { allowDeclarations: true }],
      // `==` only for null/undefined together.
      eqeqeq: ['error', 'smart'],
      // A `${…}` in a plain string is a template literal that lost its backquotes.
      'no-template-curly-in-string': 'error',
      'array-callback-return': 'error',
      'no-restricted-properties': [
        'error',
        ...['describe', 'it', 'test'].map((object) => ({
          object,
          property: 'only',
          message: 'A committed .only silently skips the rest of the file.',
        })),
      ],
    },
  },
  {
    // Typed rules only where a promise is easy to lose; the full recommendedTypeChecked set took
    // 141 s here (2 cores) and flagged mostly `any` flowing from JSON, these few about 40 s.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    // The service logs through its logger (pino); printing is the job only of the commands.
    files: ['src/**'],
    ignores: ['src/commands/**', 'src/main.ts'],
    rules: { 'no-console': 'error' },
  },
);
