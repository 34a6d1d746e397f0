// GraphQL Code Generator: typed documents from the printed schema, for the tests and benchmarks
// (test/gql) and for the web console (src/console/gql). Each target reads only its own documents.
import type { CodegenConfig } from '@graphql-codegen/cli';

const scalars = { DateTime: 'string', JSON: 'unknown', SafeInt: 'number', ID: 'string' };

const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  // A file the document extractor cannot read must fail the run, not silently generate nothing.
  ignoreNoDocuments: false,
  generates: {
    'test/gql/': {
      documents: ['test/**/*.ts', 'bench/**/*.ts', '!test/gql/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        emitLegacyCommonJSImports: false,
        scalars,
      },
    },
    'src/console/gql/': {
      documents: ['src/console/**/*.{ts,tsx}', '!src/console/gql/**'],
      preset: 'client',
      // Strings, not ASTs: the browser bundle then needs no graphql-js to print them.
      presetConfig: { fragmentMasking: false },
      config: {
        documentMode: 'string',
        useTypeImports: true,
        enumsAsTypes: true,
        emitLegacyCommonJSImports: false,
        scalars,
      },
    },
  },
};

export default config;
