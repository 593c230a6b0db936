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

/** The patterns of a layer: bare imports must be listed, relative ones must not cross into `forbiddenLayers`. */
function layerPatterns(layer, allowedPackages, forbiddenLayers) {
  // A name ending in ':' is a scheme (`node:`): every module under it is allowed.
  const allowed = allowedPackages.map((name) => (name.endsWith(':') ? `${escape(name)}[^/?]+` : escape(name))).join('|');
  return [
    {
      regex: `^(?!\\.{1,2}/)(?!(${allowed})(/|\\?|$))`,
      message: `${layer}/ may import only these packages: ${allowedPackages.join(', ')}. Add a package to its layer's list in eslint.config.js, or move the code to the right layer.`,
    },
    {
      regex: `^\\.{1,2}/(.*/)?(${forbiddenLayers.join('|')})(/|$)`,
      message: `${layer}/ may not import from ${forbiddenLayers.join(' or ')}/: go through the contract in shared/.`,
    },
  ];
}

/** `no-restricted-imports` as an allowlist: bare imports must be listed, relative ones must not cross into `forbiddenLayers`. */
function layerImports(layer, allowedPackages, forbiddenLayers, morePatterns = []) {
  return ['error', { patterns: [...layerPatterns(layer, allowedPackages, forbiddenLayers), ...morePatterns] }];
}

// The main process's own packages (the external systems each behind its own module).
const electronPackages = [
  'node:',
  'electron',
  'ws',
  'zod',
  // The external systems, each behind its own module (later issues).
  'dockerode',
  // The SSH transport of remote sandbox engines (electron/sandbox/engines/engineClient.ts).
  'ssh2',
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
  // read_logs' filter: RE2's JavaScript port, linear-time matching whatever the pattern (no ReDoS).
  're2js',
  // OpenTelemetry (electron/telemetry/ only, loaded when telemetry is on): the API, the SDK and the OTLP/HTTP protobuf exporters.
  '@opentelemetry/api',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/resources',
  '@opentelemetry/exporter-trace-otlp-proto',
  '@opentelemetry/exporter-metrics-otlp-proto',
  // A workspace's .devcontainer/devcontainer.json (JSON with comments and trailing commas).
  'json5',
];

/**
 * The layers inside electron/, lowest first. A folder (or a file directly in electron/, named
 * without `.ts`) may import from lower layers and from itself; from another folder of its own
 * layer only where the layer says `peers: true`.
 */
export const electronLayers = [
  // 1. Building blocks, used by everything: the log, events, stop, data folder, on-demand loading
  //    and workspace paths (core/), then SQLite and the keychain, then the audit log (its head key
  //    lives in the keychain; the credentials service that audits the keychain is in safety/).
  { layer: 'building blocks: log, core', folders: ['log', 'core'], peers: true },
  { layer: 'building blocks: db, keychain', folders: ['db', 'keychain'] },
  { layer: 'building blocks: audit', folders: ['audit'] },
  // Figures computed from the audit log alone (reads it, writes nothing).
  { layer: 'building blocks: metrics', folders: ['metrics'] },
  // 2. The modules that talk to outside systems.
  { layer: 'outside systems', folders: ['models', 'sandbox', 'git', 'github', 'infra', 'settings', 'hooks', 'memory'], peers: true },
  // Log sources (files outside the workspace, containers' logs, a saved command in the sandbox), over the sandbox.
  { layer: 'log sources', folders: ['logs'] },
  // 2b. OpenTelemetry export: spans and metrics of the agent, over OTLP (the span context itself is in core/spans.ts).
  { layer: 'telemetry', folders: ['telemetry'] },
  // 3. The agent (the loop and the tool registry), then code management and safety above it,
  //    each beside the other, not importing each other.
  { layer: 'agent', folders: ['agent'] },
  { layer: 'code and safety', folders: ['code', 'safety'] },
  // 4. The tools the agent offers, each a definition plus an executor over a lower module.
  { layer: 'tools', folders: ['tools'] },
  // 5. MCP: Sophia's own servers over the registry, and outside servers' tools.
  { layer: 'mcp', folders: ['mcp'] },
  // 6. The composition root.
  { layer: 'app', folders: ['app'] },
  // 7. The transports and the entry points.
  { layer: 'ipc and hosts', folders: ['ipc', 'host', 'main', 'window'], peers: true },
];

function electronLayerConfigs() {
  const rootFiles = ['log', 'main', 'window'];
  const folders = electronLayers.flatMap((entry, rank) => entry.folders.map((folder) => ({ folder, rank, entry })));
  const shownName = (folder) => (rootFiles.includes(folder) ? `${folder}.ts` : `${folder}/`);
  const maxDepth = 4;
  const configs = folders.map(({ folder, rank, entry }) => {
    const forbidden = folders.filter((other) => other.rank > rank || (other.rank === rank && other.folder !== folder && !entry.peers));
    const names = forbidden.map((other) => other.folder);
    const shown = forbidden.map((other) => `${shownName(other.folder)} (${other.entry.layer})`);
    const allowed = folders.filter((other) => !forbidden.includes(other) && other.folder !== folder).map((other) => shownName(other.folder));
    // From a file `depth` folders below electron/, electron/X is `../` depth times, then X.
    const patterns = (depth) =>
      names.length === 0
        ? []
        : [
            {
              regex: `^(${depth === 0 ? '\\./' : `(\\.\\./){${depth}}`}|(\\.\\./){${depth + 1}}electron/)(${names.join('|')})(\\.ts|/|$)`,
              message: `electron/${shownName(folder)} (${entry.layer}) may import only from its own layer or lower ones (${allowed.join(', ') || 'none'}), not from ${shown.join(', ')}. Move what both need down a layer (or into shared/), or pass it in from the composition root (electron/app/); the layers are listed in eslint.config.js.`,
            },
          ];
    const rootFile = rootFiles.includes(folder);
    const files = rootFile ? [[`electron/${folder}.ts`, 0]] : Array.from({ length: maxDepth }, (_, depth) => [`electron/${folder}/${'*/'.repeat(depth)}*.ts`, depth + 1]);
    return files.map(([glob, depth]) => ({ files: [glob], rules: { 'no-restricted-imports': layerImports('electron', electronPackages, ['renderer', 'preload'], patterns(depth)) } }));
  });
  // A folder no layer lists fails lint on its first relative import until it is placed.
  const listed = folders.map(({ folder }) => (rootFiles.includes(folder) ? `electron/${folder}.ts` : `electron/${folder}/**`));
  const unplaced = {
    files: ['electron/**/*.ts'],
    ignores: listed,
    rules: {
      'no-restricted-imports': layerImports('electron', electronPackages, ['renderer', 'preload'], [
        { regex: '^\\.{1,2}/', message: 'This file is in no layer of electron/: add its folder to electronLayers in eslint.config.js.' },
      ]),
    },
  };
  return [...configs.flat(), unplaced];
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
          'chart.js',
          'react-chartjs-2',
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
  },
  ...electronLayerConfigs(),
  {
    files: ['test/**/*.{ts,mjs}', '*.config.{ts,js}', 'electron.vite.config.ts'],
    languageOptions: { globals: globals.node },
  },
);
