/**
 * Symbols of a source file (functions, classes, methods, types) from tree-sitter: the
 * web-tree-sitter runtime and prebuilt grammars of `@vscode/tree-sitter-wasm` (TypeScript,
 * TSX, JavaScript, Python, Go). No prebuilt SQL grammar ships in a registry package, so
 * SQL's CREATE statements are read with a regular expression instead.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as TreeSitterModule from '@vscode/tree-sitter-wasm';

type TreeSitter = typeof TreeSitterModule;
type Language = InstanceType<TreeSitter['Language']>;
type Parser = InstanceType<TreeSitter['Parser']>;
type Query = InstanceType<TreeSitter['Query']>;

export interface CodeSymbol {
  readonly name: string;
  /** The tree-sitter node type that declares it ("function_declaration"), or "create_table" for SQL. */
  readonly kind: string;
  /** 1-based. */
  readonly line: number;
}

const grammars: Readonly<Record<string, { wasm: string; query: string }>> = {
  typescript: {
    wasm: 'tree-sitter-typescript.wasm',
    query: `(function_declaration name: (identifier) @name)
      (class_declaration name: (type_identifier) @name)
      (abstract_class_declaration name: (type_identifier) @name)
      (method_definition name: (property_identifier) @name)
      (interface_declaration name: (type_identifier) @name)
      (type_alias_declaration name: (type_identifier) @name)
      (enum_declaration name: (identifier) @name)
      (program (lexical_declaration (variable_declarator name: (identifier) @name)))
      (program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name))))`,
  },
  tsx: { wasm: 'tree-sitter-tsx.wasm', query: '' },
  javascript: {
    wasm: 'tree-sitter-javascript.wasm',
    query: `(function_declaration name: (identifier) @name)
      (class_declaration name: (identifier) @name)
      (method_definition name: (property_identifier) @name)
      (program (lexical_declaration (variable_declarator name: (identifier) @name)))
      (program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name))))`,
  },
  python: {
    wasm: 'tree-sitter-python.wasm',
    query: `(function_definition name: (identifier) @name)
      (class_definition name: (identifier) @name)`,
  },
  go: {
    wasm: 'tree-sitter-go.wasm',
    query: `(function_declaration name: (identifier) @name)
      (method_declaration name: (field_identifier) @name)
      (type_spec name: (type_identifier) @name)`,
  },
};

const byExtension: Readonly<Record<string, string>> = {
  '.ts': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
  '.tsx': 'tsx',
  '.js': 'javascript',
  '.jsx': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  '.py': 'python',
  '.go': 'go',
};

const sqlCreate = /\bcreate\s+(?:or\s+replace\s+)?(?:temp(?:orary)?\s+)?(table|view|materialized\s+view|function|procedure|index|schema|sequence|type)\s+(?:if\s+not\s+exists\s+)?([\w."]+)/gi;
const maxSymbolsPerFile = 500;

export class SymbolExtractor {
  /** Grammars load per language, with the first file of that language (a few megabytes each). */
  readonly #parsers = new Map<string, Promise<{ parser: Parser; query: Query }>>();

  private constructor(
    private readonly treeSitter: TreeSitter,
    private readonly dir: string,
  ) {}

  /** The tree-sitter runtime alone; no grammar is loaded until a file needs it. */
  static async create(): Promise<SymbolExtractor> {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('@vscode/tree-sitter-wasm');
    const ts = require('@vscode/tree-sitter-wasm') as TreeSitter;
    const dir = path.dirname(entry);
    await ts.Parser.init({ locateFile: (file: string) => path.join(dir, file) });
    return new SymbolExtractor(ts, dir);
  }

  /** The languages whose grammar has been loaded (or is loading). */
  loadedLanguages(): string[] {
    return [...this.#parsers.keys()];
  }

  #parser(name: string): Promise<{ parser: Parser; query: Query }> | undefined {
    const grammar = grammars[name];
    if (!grammar) return undefined;
    let loading = this.#parsers.get(name);
    if (!loading) {
      const ts = this.treeSitter;
      loading = (async () => {
        const language: Language = await ts.Language.load(path.join(this.dir, grammar.wasm));
        const parser = new ts.Parser();
        parser.setLanguage(language);
        // TSX shares TypeScript's declarations.
        const query = new ts.Query(language, grammar.query || grammars['typescript']?.query || '');
        return { parser, query };
      })();
      // A grammar that failed to load is tried again with the next file.
      loading.catch(() => this.#parsers.delete(name));
      this.#parsers.set(name, loading);
    }
    return loading;
  }

  static supports(file: string): boolean {
    const extension = path.extname(file).toLowerCase();
    return extension === '.sql' || extension in byExtension;
  }

  async symbols(file: string, text: string): Promise<CodeSymbol[]> {
    const extension = path.extname(file).toLowerCase();
    if (extension === '.sql') {
      const found: CodeSymbol[] = [];
      for (const match of text.matchAll(sqlCreate)) {
        if (found.length >= maxSymbolsPerFile) break;
        const line = text.slice(0, match.index).split('\n').length;
        found.push({ name: (match[2] ?? '').replace(/"/g, ''), kind: `create_${(match[1] ?? '').toLowerCase().replace(/\s+/g, '_')}`, line });
      }
      return found;
    }
    const language = byExtension[extension];
    const entry = language ? await this.#parser(language) : undefined;
    if (!entry) return [];
    const tree = entry.parser.parse(text);
    if (!tree) return [];
    try {
      return entry.query
        .captures(tree.rootNode)
        .slice(0, maxSymbolsPerFile)
        .map((capture) => ({ name: capture.node.text, kind: capture.node.parent?.type ?? 'symbol', line: capture.node.startPosition.row + 1 }));
    } finally {
      tree.delete();
    }
  }
}
