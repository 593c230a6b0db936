/**
 * The default sandbox image carries the common toolchains, and a project's own failing tests
 * run in it through run_command's real executor (exit 1 and the test's name, not 127).
 * Real Docker, the real image, the product's sandbox service.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSandboxImage, recipeHash, sandboxRecipe } from '../../../electron/sandbox/sandboxImage';
import { runCommandExecutor } from '../../../electron/tools/commandTools';
import { newService } from './support';

const { service } = newService();
const made: string[] = [];

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sophia-toolchain-'));
  made.push(dir);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  // The command user is not this process's user: the project is readable by all.
  await chmod(dir, 0o755);
  return dir;
}

async function runCommand(workspace: string, command: string): Promise<{ ok: boolean; output: string }> {
  const run = runCommandExecutor(service, () => workspace);
  return run({ command, timeoutSeconds: 120 }, { conversationId: 'c-toolchain', callId: `call-${Math.random().toString(36).slice(2)}`, signal: new AbortController().signal });
}

beforeAll(async () => {
  expect((await service.start()).state).toBe('ready');
});

afterAll(async () => {
  await service.close();
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('the default sandbox image', () => {
  it('is the recipe with the toolchains, under a new format', () => {
    expect(sandboxRecipe.format).toBeGreaterThanOrEqual(2);
    for (const name of ['nodejs', 'npm', 'python3', 'python3-pip', 'python3-venv', 'make', 'gcc', 'libc6-dev', 'git', 'ripgrep', 'curl', 'socat']) {
      expect(sandboxRecipe.toolchain).toContain(name);
    }
    expect(service.image).toBe(defaultSandboxImage());
  });

  it('runs npm, pip, venv, a C compiler, rg, make, git, curl and socat as the sandbox user, with the network off', async () => {
    const box = await service.acquire('toolchain-tools');
    try {
      const script = [
        'set -e',
        'id -u',
        'npm --version',
        'pip --version',
        'python3 -m venv /tmp/v && /tmp/v/bin/python -c "import sys; print(sys.prefix)"',
        "printf '#include <stdio.h>\\nint main(void){puts(\"compiled-ok\");return 0;}\\n' > /tmp/hello.c",
        'cc -o /tmp/hello /tmp/hello.c && /tmp/hello',
        'printf "needle in /tmp\\n" > /tmp/hay.txt && rg -n needle /tmp/hay.txt',
        "printf 'all:\\n\\t@echo made-ok\\n' > /tmp/Makefile && make -s -C /tmp",
        'git --version',
        'curl --version | head -1',
        'socat -V | grep -m1 "socat version"',
        'cat /etc/sophia-sandbox-recipe',
        'find / -xdev -type f -perm /6000 2>/dev/null | wc -l',
      ].join('\n');
      const result = await box.exec(['/bin/sh', '-c', script], { timeoutMs: 120_000 });
      expect(result.stderr).not.toMatch(/not found/);
      expect(result.exitCode).toBe(0);
      const lines = result.stdout.split('\n');
      expect(Number(lines[0])).not.toBe(0);
      expect(result.stdout).toMatch(/^\d+\.\d+\.\d+$/m);
      expect(result.stdout).toMatch(/^pip \d+/m);
      expect(result.stdout).toContain('/tmp/v');
      expect(result.stdout).toContain('compiled-ok');
      expect(result.stdout).toContain('1:needle in /tmp');
      expect(result.stdout).toContain('made-ok');
      expect(result.stdout).toMatch(/^git version /m);
      expect(result.stdout).toMatch(/^curl \d/m);
      expect(result.stdout).toMatch(/socat version/);
      expect(result.stdout).toContain(recipeHash());
      // No setuid/setgid program is left in the image.
      expect(lines.filter((line) => line.trim() !== '').at(-1)?.trim()).toBe('0');
    } finally {
      await box.destroy();
    }
  });
});

describe("a project's failing tests, through run_command", () => {
  it('a JS project: npm test runs node --test and reports the failing test, exit code 1', async () => {
    const dir = await project({
      'package.json': JSON.stringify({ name: 'sum', version: '1.0.0', private: true, scripts: { test: 'node --test' } }, null, 2),
      'sum.js': 'exports.sum = (a, b) => a - b;\n',
      'test/sum.test.js': [
        "const test = require('node:test');",
        "const assert = require('node:assert');",
        "const { sum } = require('../sum.js');",
        "test('adds two numbers', () => assert.strictEqual(sum(2, 3), 5));",
        "test('adds zero', () => assert.strictEqual(sum(2, 0), 2));",
        '',
      ].join('\n'),
    });
    const result = await runCommand(dir, 'npm test');
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/^The command failed with exit code 1/);
    expect(result.output).not.toMatch(/exit code 127|not found/);
    expect(result.output).toContain('adds two numbers');
    expect(result.output).toMatch(/# fail 1/);
  });

  it('a Python project: python3 -m unittest reports the failing test, exit code 1', async () => {
    const dir = await project({
      'shop.py': 'def total(prices):\n    return sum(prices[1:])\n',
      'test_shop.py': [
        'import unittest',
        'from shop import total',
        '',
        'class TotalTest(unittest.TestCase):',
        '    def test_sums_every_price(self):',
        '        self.assertEqual(total([1, 2, 3]), 6)',
        '',
        '    def test_empty(self):',
        '        self.assertEqual(total([]), 0)',
        '',
      ].join('\n'),
    });
    const result = await runCommand(dir, 'PYTHONDONTWRITEBYTECODE=1 python3 -m unittest -v');
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/^The command failed with exit code 1/);
    expect(result.output).toContain('FAIL: test_sums_every_price');
    expect(result.output).toContain('AssertionError: 5 != 6');
  });
});
