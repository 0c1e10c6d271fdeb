// ESLint (flat config) with typescript-eslint's type-aware rules; `npm run lint` runs it with `prettier --check`.
// Formatting is Prettier's alone, so no stylistic rules here.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const UNUSED = { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true };
const UNSAFE_ANY_OFF = {
  '@typescript-eslint/no-unsafe-argument': 'off',
  '@typescript-eslint/no-unsafe-assignment': 'off',
  '@typescript-eslint/no-unsafe-call': 'off',
  '@typescript-eslint/no-unsafe-member-access': 'off',
  '@typescript-eslint/no-unsafe-return': 'off',
};

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'schemas/', 'clients/', 'coverage/', 'test-results/', '.data/', '.scratch/'],
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
          // The launchers and examples outside tsconfig.json: a dozen small files, well within what the default project handles quickly.
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 16,
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // The async mistakes this lint exists to catch.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // `_`-prefixed names are deliberately unused (omitted by destructuring, placeholder parameters).
      '@typescript-eslint/no-unused-vars': ['error', UNUSED],
      // Off: `async` without `await` is how fakes and command runners implement Promise-returning interfaces (a throw becomes a rejection).
      '@typescript-eslint/require-await': 'off',
      // Off: a literal beside `string` (`string | '*'`) documents the special value; the union is for the reader, not the compiler.
      '@typescript-eslint/no-redundant-type-constituents': 'off',
    },
  },

  // Tests and the benchmark read untyped JSON answers (tool results, HTTP bodies) and check them with expect or a throw.
  {
    files: ['test/**/*.ts', '**/*.spec.ts', 'bench/**/*.ts'],
    rules: {
      // Off: typing every answer read off the wire would add casts, not safety; the checks that follow are the types.
      '@typescript-eslint/no-explicit-any': 'off',
      ...UNSAFE_ANY_OFF,
    },
  },

  // Node's .mjs files are plain JavaScript: whatever comes from JSON or a spawn result is `any` by inference.
  {
    files: ['**/*.mjs'],
    // Off: with no type annotations these rules flag every use of a parsed or untyped value, not mistakes.
    rules: UNSAFE_ANY_OFF,
  },

  // The dashboard's browser modules: plain ES modules served as they are, no types to check.
  {
    files: ['apps/query/web/**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'module', globals: globals.browser },
    rules: { 'no-unused-vars': ['error', UNUSED] },
  },
);
