// Lint that enforces the layers (see shared/STYLE.md of the team):
//   shared/   pure TypeScript: zod only; no node:*, electron or DOM
//   renderer/ shared/ and an allowlist of browser packages
//   preload/  shared/ and electron
//   electron/ Node, and an allowlist of packages: the only layer that may touch Docker,
//             SQLite, git, GitHub, the keychain, model SDKs and infrastructure SDKs.
// An import of a package not on its layer's list is an error, so a new dependency is a
// conscious choice made here.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const escape = (name) => name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** `no-restricted-imports` as an allowlist: bare imports must be listed, relative ones must not cross into `forbiddenLayers`. */
function layerImports(layer, allowedPackages, forbiddenLayers) {
  // A name ending in ':' is a scheme (`node:`): every module under it is allowed.
  const allowed = allowedPackages.map((name) => (name.endsWith(':') ? `${escape(name)}[^/?]+` : escape(name))).join('|');
  return [
    'error',
    {
      patterns: [
        {
          regex: `^(?!\\.{1,2}/)(?!(${allowed})(/|\\?|$))`,
          message: `${layer}/ may import only these packages: ${allowedPackages.join(', ')}. Add a package to its layer's list in eslint.config.js, or move the code to the right layer.`,
        },
        {
          regex: `^\\.{1,2}/(.*/)?(${forbiddenLayers.join('|')})(/|$)`,
          message: `${layer}/ may not import from ${forbiddenLayers.join(' or ')}/: go through the contract in shared/.`,
        },
      ],
    },
  ];
}

const nodeGlobals = ['process', 'Buffer', 'require', 'module', '__dirname', '__filename', 'global', 'setImmediate'];
const domGlobals = ['window', 'document', 'navigator', 'localStorage', 'sessionStorage', 'location', 'HTMLElement', 'fetch', 'WebSocket'];
const restrictGlobals = (names, layer) => ['error', ...names.map((name) => ({ name, message: `${layer}/ cannot use ${name}.` }))];

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'release/**', 'node_modules/**', 'test/fixtures/**', 'test/e2e/screenshots/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx}'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['electron/**/*.ts', 'preload/**/*.ts', 'shared/**/*.ts', 'renderer/**/*.{ts,tsx}'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': layerImports('shared', ['zod'], ['electron', 'preload', 'renderer']),
      'no-restricted-globals': restrictGlobals([...nodeGlobals, ...domGlobals], 'shared'),
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: globals.browser },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.flat.recommended.rules,
      'no-restricted-imports': layerImports(
        'renderer',
        [
          'react',
          'react-dom',
          '@monaco-editor/react',
          'monaco-editor',
          'react-markdown',
          'remark-gfm',
          'rehype-highlight',
          'highlight.js',
          'marked',
          '@tanstack/react-virtual',
          'zod',
        ],
        ['electron', 'preload'],
      ),
      'no-restricted-globals': restrictGlobals(nodeGlobals, 'renderer'),
    },
  },
  {
    files: ['preload/**/*.ts'],
    rules: {
      'no-restricted-imports': layerImports('preload', ['electron'], ['electron', 'renderer']),
    },
  },
  {
    files: ['electron/**/*.ts'],
    languageOptions: { globals: globals.node },
    rules: {
      'no-restricted-imports': layerImports(
        'electron',
        [
          'node:',
          'electron',
          'ws',
          'zod',
          // The external systems, each behind its own module (later issues).
          'dockerode',
          // Tar archives for copying files in and out of a sandbox.
          'tar-stream',
          'better-sqlite3',
          'isomorphic-git',
          '@octokit/rest',
          '@napi-rs/keyring',
          // The workspace policy file, read with line numbers for its notices.
          'yaml',
          'ollama',
          '@anthropic-ai/sdk',
          // OpenAI-compatible Chat Completions (OpenAI, Azure, vLLM, LM Studio, llama.cpp, LiteLLM, Snowflake Cortex).
          'openai',
          '@pulumi/pulumi',
          'snowflake-sdk',
          // Snowflake DDL checked before it is sent: parsed (Snowflake dialect), then dry-run in an in-memory DuckDB.
          'node-sql-parser',
          '@duckdb/node-api',
          '@modelcontextprotocol/sdk',
          // Code management: unified diffs (jsdiff), SARIF 2.1.0 types (@types/sarif, types only),
          // the code index's parsers (web-tree-sitter with VS Code's prebuilt grammars), BM25 ranking, .gitignore rules.
          'diff',
          'sarif',
          '@vscode/tree-sitter-wasm',
          'minisearch',
          'ignore',
        ],
        ['renderer', 'preload'],
      ),
    },
  },
  {
    files: ['test/**/*.{ts,mjs}', '*.config.{ts,js}', 'electron.vite.config.ts'],
    languageOptions: { globals: globals.node },
  },
);
