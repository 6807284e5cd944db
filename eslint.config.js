// @ts-check
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

/**
 * Folder layers of node/src, lowest first (ARCHITECTURE.md, STYLE.md 16): a folder may
 * import its own layer and the layers below it, never a layer above. Tests obey the same
 * rule: a test that needs a higher layer (an agent, the CLI) lives in that layer's folder.
 */
export const nodeLayers = [
  ['gen', 'version.ts', 'observability', 'net', 'tls', 'acl', 'log'],
  ['raft', 'gossip'],
  ['server'],
  ['http', 'client'],
  ['agent'],
  ['cli'],
];

const src = (/** @type {string} */ f) => `./node/src/${f}`;

/**
 * `import-x/no-restricted-paths` zones: the layers above, the pure protocol cores (a core
 * imports nothing of its package outside core/: core <- shell), and the two programs
 * (operator/ imports only node's generated gRPC client; node/ never imports operator/).
 * @type {{ target: string | string[], from: string | string[], except?: string[], message: string }[]}
 */
export const layerZones = [
  ...nodeLayers.slice(0, -1).map((layer, i) => ({
    target: layer.map(src),
    from: nodeLayers
      .slice(i + 1)
      .flat()
      .map(src),
    message: `layering (ARCHITECTURE.md): ${layer.join(', ')} may import only ${nodeLayers
      .slice(0, i + 1)
      .flat()
      .join(', ')}.`,
  })),
  ...['raft', 'gossip'].map((pkg) => ({
    target: src(`${pkg}/core`),
    from: src(pkg),
    except: ['./core'],
    message: `${pkg}/core is the pure protocol core: it imports nothing of ${pkg}/ outside core/ (core <- shell).`,
  })),
  {
    target: './operator',
    from: './node',
    except: ['./src/gen'],
    message:
      "operator/ imports only node's generated gRPC client (node/src/gen), nothing else of node/ (ARCHITECTURE.md).",
  },
  { target: './node', from: './operator', message: 'node/ never imports operator/ (ARCHITECTURE.md).' },
];

/**
 * Test doubles and fixtures live in `testing/` folders (STYLE.md, the test-doubles
 * convention), never beside production files, and production code imports neither them nor
 * test files: one `no-restricted-imports` pattern, used by every block that sets the rule.
 */
export const testOnlyImports = {
  regex: '(^|/)(testing/|[^/]+\\.test\\.js$)',
  message:
    'test doubles and fixtures (testing/ folders, *.test.ts) are for tests only: production code never imports them.',
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'build/**',
      'dist/**',
      'crds/**',
      'charts/**',
      '**/gen/**',
      'test/.cache/**',
      '**/*.cjs',
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      // Resolve the `.js` specifiers of our ESM sources to the `.ts` files (NodeNext style);
      // without it import-x resolves nothing relative and no-cycle/no-restricted-paths see nothing.
      'import-x/resolver-next': [
        createNodeResolver({ extensions: ['.ts', '.js', '.json', '.node'], extensionAlias: { '.js': ['.ts', '.js'] } }),
      ],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'import-x/no-cycle': ['error', { maxDepth: 10, ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layerZones }],
    },
  },
  {
    files: ['**/core/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      // STYLE.md 1: protocol cores are pure; clock, RNG and I/O are injected.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'net', 'dgram', 'timers', 'crypto'], message: 'core/ is pure: no I/O imports.' },
            testOnlyImports,
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'core/ takes an injected clock.' },
        { object: 'Math', property: 'random', message: 'core/ takes an injected RNG.' },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'process'],
    },
  },
  {
    files: ['node/src/**/*.ts', 'operator/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/testing/**', '**/core/**', 'node/src/raft/sim/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [testOnlyImports] }] },
  },
);
