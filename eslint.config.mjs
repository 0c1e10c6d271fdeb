// ESLint (flat config) with typescript-eslint's type-aware rules; `npm run lint` runs it with `prettier --check`.
// Formatting is Prettier's alone, so no stylistic rules here.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'schemas/', 'clients/', 'coverage/', 'test-results/', '.data/'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },

  // TypeScript and Node's .mjs (apps, libs, tests, bench, scripts, the CLI's bin, examples): type-aware.
  {
    files: ['**/*.ts', '**/*.mjs'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        // .ts files are in tsconfig.json; the few .mjs files outside it get TypeScript's default project (JS, inferred types).
        projectService: {
          allowDefaultProject: ['*.mjs', 'bin/*.mjs', 'examples/*.mjs', 'scripts/*.mjs'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // The async mistakes this lint exists to catch.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },

  // The dashboard's browser modules: plain ES modules served as they are, no types to check.
  {
    files: ['apps/query/web/**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'module', globals: globals.browser },
  },
);
