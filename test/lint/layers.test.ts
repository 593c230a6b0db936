/**
 * The layers are enforced by lint, not prose: each case lints source text as if it were a
 * file in a given layer, through the project's own eslint.config.js.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

async function lintAs(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, filePath) });
  return (result?.messages ?? []).map((message) => `${message.ruleId ?? 'fatal'}: ${message.message}`);
}

describe('layer lint', () => {
  it('fails a renderer file that imports node:fs (the fixture)', async () => {
    const fixture = await readFile(path.join(root, 'test/fixtures/layers/renderer-imports-node.tsx'), 'utf8');
    const problems = await lintAs('renderer/src/components/Leak.tsx', fixture);
    const restricted = problems.filter((problem) => problem.startsWith('no-restricted-imports'));
    expect(restricted).toHaveLength(4);
    expect(restricted[0]).toContain("'node:fs'");
    expect(problems.some((problem) => problem.includes('renderer/ cannot use process'))).toBe(true);
  });

  it('allows the renderer its listed packages and shared/', async () => {
    const code = "import { useState } from 'react';\nimport { requests } from '../../../shared/contract';\nexport const x = [useState, requests];\n";
    expect(await lintAs('renderer/src/components/Fine.tsx', code)).toEqual([]);
  });

  it('keeps shared/ pure: no node:*, no electron, no DOM', async () => {
    expect(await lintAs('shared/x.ts', "import path from 'node:path';\nexport const p = path;\n")).toHaveLength(1);
    expect(await lintAs('shared/x.ts', "import { app } from 'electron';\nexport const a = app;\n")).toHaveLength(1);
    const dom = await lintAs('shared/x.ts', 'export const title = document.title;\n');
    expect(dom).toHaveLength(1);
    expect(dom[0]).toContain('shared/ cannot use document');
    expect(await lintAs('shared/x.ts', "import { z } from 'zod';\nexport const s = z.string();\n")).toEqual([]);
  });

  it('lets only electron/ import the external systems', async () => {
    const code = "import Database from 'better-sqlite3';\nexport const d = Database;\n";
    expect(await lintAs('electron/audit/auditLog.ts', code)).toEqual([]);
    expect(await lintAs('preload/x.ts', code)).toHaveLength(1);
    expect(await lintAs('renderer/src/x.ts', code)).toHaveLength(1);
    expect(await lintAs('shared/x.ts', code)).toHaveLength(1);
  });

  it('refuses a package no layer has chosen, even in electron/', async () => {
    expect(await lintAs('electron/x.ts', "import leftPad from 'left-pad';\nexport const l = leftPad;\n")).toHaveLength(1);
    expect(await lintAs('electron/x.ts', "import fs from 'fs';\nexport const f = fs;\n")).toHaveLength(1);
  });

  it('keeps the preload off the main process and the renderer', async () => {
    const code = "import { dispatch } from '../electron/ipc/dispatch';\nexport const d = dispatch;\n";
    expect(await lintAs('preload/index2.ts', code)).toHaveLength(1);
  });
});
