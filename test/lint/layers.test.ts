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

  describe('inside electron/: a folder imports only from its own layer or lower ones', () => {
    const upward = (problems: string[]) => problems.filter((problem) => problem.startsWith('no-restricted-imports') && problem.includes('may import only from its own layer or lower ones'));

    it.each([
      ['code/ importing tools/', 'electron/code/testWriter.ts', "import { addTestsTool } from '../tools/codeTools';\nexport const t = addTestsTool;\n", 'tools/ (tools)'],
      ['git/ importing safety/', 'electron/git/gitService.ts', "import { matchesAny } from '../safety/policy';\nexport const m = matchesAny;\n", 'safety/ (code and safety)'],
      ['a core/ building block importing the composition root', 'electron/core/eventHub.ts', "import type { SophiaCore } from '../app/sophiaCore';\nexport type C = SophiaCore;\n", 'app/ (app)'],
      ['log.ts importing the composition root', 'electron/log.ts', "import { createSophiaCore } from './app/sophiaCore';\nexport const c = createSophiaCore;\n", 'app/ (app)'],
      ['sandbox/ importing ipc/ (a type only, still upward)', 'electron/sandbox/sandboxHandlers.ts', "import type { CallContext } from '../ipc/dispatch';\nexport type C = CallContext;\n", 'ipc/ (ipc and hosts)'],
      ['safety/ importing code/ (beside it, not below)', 'electron/safety/safetyCore.ts', "import { isSecretPath } from '../code/secretFiles';\nexport const s = isSecretPath;\n", 'code/ (code and safety)'],
      ['code/ importing safety/', 'electron/code/proposalService.ts', "import type { ApprovalBroker } from '../safety/approvals';\nexport type A = ApprovalBroker;\n", 'safety/ (code and safety)'],
      ['keychain/ importing audit/', 'electron/keychain/keychain.ts', "import type { AuditSink } from '../audit/auditLog';\nexport type A = AuditSink;\n", 'audit/ (building blocks: audit)'],
      ['mcp/ importing the composition root', 'electron/mcp/mcpServer.ts', "import type { SophiaCore } from '../app/sophiaCore';\nexport type C = SophiaCore;\n", 'app/ (app)'],
      ['infra/snowflake/ (two folders down) importing agent/', 'electron/infra/snowflake/ddl.ts', "import type { ToolRegistry } from '../../agent/tools';\nexport type R = ToolRegistry;\n", 'agent/ (agent)'],
      ['models/ re-exporting from tools/', 'electron/models/providerFactory.ts', "export { registerCommandTools } from '../tools/commandTools';\n", 'tools/ (tools)'],
    ])('fails %s', async (_case, file, code, named) => {
      const problems = upward(await lintAs(file, code));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(named);
      expect(problems[0]).toContain('Move what both need down a layer');
    });

    it.each([
      ['tools/ importing code/, agent/ and git/', 'electron/tools/gitTools.ts', "import type { ToolRegistry } from '../agent/tools';\nimport type { ProposalService } from '../code/proposalService';\nimport type { GitService } from '../git/gitService';\nexport type T = [ToolRegistry, ProposalService, GitService];\n"],
      ['agent/ importing its own tools.ts (a file named like the tools/ folder)', 'electron/agent/agent.ts', "import { ToolRegistry } from './tools';\nexport const r = ToolRegistry;\n"],
      ['code/ importing agent/tools', 'electron/code/findingsService.ts', "import type { ToolOutput } from '../agent/tools';\nexport type O = ToolOutput;\n"],
      ['git/ importing github/ and models/ (peers among the outside systems)', 'electron/git/gitService.ts', "import { GithubClient } from '../github/githubClient';\nimport { OfflineGuard } from '../models/offlineGuard';\nexport const g = [GithubClient, OfflineGuard];\n"],
      ['infra/pulumi/ importing keychain/ and core/', 'electron/infra/pulumi/pulumiService.ts', "import type { SecretReader } from '../../keychain/secretReader';\nimport { onDemand } from '../../core/onDemand';\nexport const o = onDemand;\nexport type S = SecretReader;\n"],
      ['audit/ importing keychain/ and the log', 'electron/audit/auditKey.ts', "import type { Keychain } from '../keychain/keychain';\nimport { createLogger } from '../log';\nexport const l = createLogger;\nexport type K = Keychain;\n"],
      ['the composition root importing mcp/ and tools/', 'electron/app/sophiaCore.ts', "import { mcpHandlers } from '../mcp/mcpHandlers';\nimport { registerGitTools } from '../tools/gitTools';\nexport const x = [mcpHandlers, registerGitTools];\n"],
      ['host/ importing app/ and ipc/', 'electron/host/serve.ts', "import { createSophiaCore } from '../app/sophiaCore';\nimport { dispatch } from '../ipc/dispatch';\nexport const x = [createSophiaCore, dispatch];\n"],
      ['main.ts importing app/', 'electron/main.ts', "import { createSophiaCore } from './app/sophiaCore';\nexport const c = createSophiaCore;\n"],
    ])('passes %s', async (_case, file, code) => {
      expect(await lintAs(file, code)).toEqual([]);
    });

    it('fails a folder that no layer lists until it is placed', async () => {
      const problems = await lintAs('electron/newFeature/thing.ts', "import { createLogger } from '../log';\nexport const l = createLogger;\n");
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('add its folder to electronLayers in eslint.config.js');
    });

    it('still applies the package allowlist inside each folder', async () => {
      expect(await lintAs('electron/code/x.ts', "import leftPad from 'left-pad';\nexport const l = leftPad;\n")).toHaveLength(1);
      expect(await lintAs('electron/infra/snowflake/x.ts', "import { app } from '../../../renderer/src/App';\nexport const a = app;\n")).toHaveLength(1);
    });
  });
});
