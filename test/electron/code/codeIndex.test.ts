/**
 * The code index on a real folder: tree-sitter symbols for TypeScript, JavaScript, Python
 * and Go (and SQL's CREATE statements), BM25 ranking, .gitignore at every level, secret
 * files left out, saved and loaded again without reading the files, and kept up to date
 * file by file.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CodeIndex, tokenize } from '../../../electron/code/codeIndex';
import { SymbolExtractor } from '../../../electron/code/symbols';

let root: string;
let store: string;
let extractor: SymbolExtractor;

const files: Record<string, string> = {
  'sql/employees.sql': 'CREATE TABLE employees (\n  id INTEGER PRIMARY KEY,\n  name VARCHAR(100)\n);\nCREATE OR REPLACE VIEW active_employees AS SELECT * FROM employees;\n',
  'src/gong.ts': 'export interface GongCall { customer: string }\nexport function summarizeGongInteractions(calls: GongCall[]): string {\n  return `${calls.length}`;\n}\nexport class CallSummary {\n  render() { return 1; }\n}\nexport const MAX_CALLS = 10;\n',
  'src/view.tsx': 'export function EmployeeCard() { return <div/>; }\n',
  'lib/util.js': 'function parseCsvLine(line) { return line.split(","); }\nclass Reader { read() {} }\n',
  'etl/load.py': 'class PayrollLoader:\n    def load_payroll(self):\n        pass\n\ndef main():\n    pass\n',
  'cmd/main.go': 'package main\n\ntype Server struct{}\n\nfunc (s *Server) Serve() {}\n\nfunc main() {}\n',
  '.gitignore': 'build/\n*.log\n',
  'build/out.js': 'function ignoredBuildOutput() {}\n',
  'debug.log': 'ignoredLogLine\n',
  'sub/.gitignore': 'generated.ts\n',
  'sub/generated.ts': 'export function ignoredGenerated() {}\n',
  'sub/kept.ts': 'export function keptInSub() {}\n',
  '.env': 'SECRET_TOKEN=abc\n',
};

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'sophia-index-'));
  store = path.join(await mkdtemp(path.join(os.tmpdir(), 'sophia-index-store-')), 'index.json');
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  }
  extractor = await SymbolExtractor.create();
});

describe('the code index', () => {
  it('reads symbols with tree-sitter for TypeScript, TSX, JavaScript, Python, Go, and SQL by pattern', async () => {
    const names = async (file: string) => (await extractor.symbols(file, files[file] ?? '')).map((symbol) => symbol.name);
    expect(await names('src/gong.ts')).toEqual(['GongCall', 'summarizeGongInteractions', 'CallSummary', 'render', 'MAX_CALLS']);
    expect(await names('src/view.tsx')).toEqual(['EmployeeCard']);
    expect(await names('lib/util.js')).toEqual(['parseCsvLine', 'Reader', 'read']);
    expect(await names('etl/load.py')).toEqual(['PayrollLoader', 'load_payroll', 'main']);
    expect(await names('cmd/main.go')).toEqual(['Server', 'Serve', 'main']);
    expect(await extractor.symbols('sql/employees.sql', files['sql/employees.sql'] ?? '')).toEqual([
      { name: 'employees', kind: 'create_table', line: 1 },
      { name: 'active_employees', kind: 'create_view', line: 5 },
    ]);
    expect((await extractor.symbols('src/gong.ts', files['src/gong.ts'] ?? ''))[1]).toEqual({ name: 'summarizeGongInteractions', kind: 'function_declaration', line: 2 });
  });

  it('loads a grammar with the first file of its language, and no other', async () => {
    const fresh = await SymbolExtractor.create();
    expect(fresh.loadedLanguages()).toEqual([]);
    await fresh.symbols('sql/employees.sql', files['sql/employees.sql'] ?? '');
    expect(fresh.loadedLanguages()).toEqual([]);
    expect((await fresh.symbols('etl/load.py', files['etl/load.py'] ?? '')).map((symbol) => symbol.name)).toEqual(['PayrollLoader', 'load_payroll', 'main']);
    expect(fresh.loadedLanguages()).toEqual(['python']);
    await fresh.symbols('cmd/main.go', files['cmd/main.go'] ?? '');
    await fresh.symbols('etl/other.py', 'def other():\n    pass\n');
    expect(fresh.loadedLanguages()).toEqual(['python', 'go']);
  });

  it('splits identifiers the way code names them', () => {
    expect(tokenize('summarizeGongInteractions load_payroll')).toEqual(['summarizeGongInteractions', 'summarize', 'Gong', 'Interactions', 'load_payroll', 'load', 'payroll']);
  });

  it('indexes what git would track, ranks by BM25, and offers a repository map within a budget', async () => {
    const index = await CodeIndex.open(root, store, extractor);
    const report = await index.refresh();
    expect(report).toMatchObject({ files: 9, indexed: 9, removed: 0 });
    const paths = (query: string) => index.search(query).map((hit) => hit.path);
    expect(paths('ignoredBuildOutput')).not.toContain('build/out.js');
    expect(paths('ignoredLogLine')).not.toContain('debug.log');
    expect(paths('ignoredGenerated')).not.toContain('sub/generated.ts');
    expect(paths('SECRET_TOKEN')).not.toContain('.env');
    expect(index.search('keptInSub')[0]?.path).toBe('sub/kept.ts');
    const gong = index.search('summarize gong interactions');
    expect(gong[0]).toMatchObject({ path: 'src/gong.ts', symbols: expect.arrayContaining([expect.objectContaining({ name: 'summarizeGongInteractions', line: 2 })]) });
    expect(index.search('employees')[0]?.path).toBe('sql/employees.sql');
    const map = index.repoMap(30);
    expect(map.length).toBeLessThanOrEqual(120);
    expect(map.split('\n')[0]).toBe('src/gong.ts: GongCall@1, summarizeGongInteractions@2, CallSummary@5, render@6, MAX_CALLS@8');
    expect(index.repoMap(200, 'payroll').split('\n')[0]).toMatch(/^etl\/load\.py: PayrollLoader@1/);
    await index.save();
  });

  it('loads the saved index without reading the files again, and re-reads only what changed', async () => {
    const index = await CodeIndex.open(root, store, extractor);
    expect(index.size).toBe(9);
    expect(index.search('summarizeGongInteractions')[0]?.path).toBe('src/gong.ts');
    expect(await index.refresh()).toMatchObject({ files: 9, indexed: 0, removed: 0 });

    await writeFile(path.join(root, 'src/gong.ts'), 'export function rankCustomers() {}\n');
    await rm(path.join(root, 'lib/util.js'));
    expect(await index.refresh()).toMatchObject({ files: 8, indexed: 1, removed: 1 });
    // Still found by its path (gong), but the function is gone from it.
    expect(index.search('summarizeGongInteractions')[0]).toMatchObject({ path: 'src/gong.ts', symbols: [] });
    expect(index.search('rankCustomers')[0]?.path).toBe('src/gong.ts');
    expect(index.search('parseCsvLine').map((hit) => hit.path)).not.toContain('lib/util.js');

    await writeFile(path.join(root, 'etl/new.py'), 'def reconcile_ledger():\n    pass\n');
    await index.updateFile('etl/new.py');
    expect(index.search('reconcile ledger')[0]?.path).toBe('etl/new.py');
    await index.updateFile('debug.log');
    expect(index.search('ignoredLogLine').map((hit) => hit.path)).not.toContain('debug.log');
  });
});
