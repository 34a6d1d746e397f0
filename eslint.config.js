// ESLint finds bugs; Prettier owns layout, and typescript-eslint's recommended set has no layout
// rules, so the two never disagree (no eslint-config-prettier needed).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: [
      'src/generated/',
      'test/gql/',
      'src/console/gql/',
      'dist/',
      'dist-*/',
      'node_modules/',
      '.tools/',
      '.data/',
      'bench/results/',
    ],
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
    // Typed rules only where a promise is easy to lose. The full recommendedTypeChecked set took
    // 141 s on the shared 2-core machine and flagged 294 places, mostly `any` flowing from JSON;
    // with these two the whole lint takes ~20 s (28 s CPU) when the machine is idle.
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    // The web console runs in the browser.
    files: ['src/console/**'],
    languageOptions: { globals: globals.browser },
  },
  {
    // Service code reports through the logger it is given; printing is the job only of the commands.
    files: ['src/**', 'workflows/**'],
    ignores: ['src/commands/**', 'src/main.ts', 'src/console/**'],
    rules: { 'no-console': 'error' },
  },
);
