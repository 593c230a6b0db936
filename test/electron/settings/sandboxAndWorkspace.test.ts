/** Settings → Sandbox with the environment over it, and the workspace folder as Settings saves it. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sandboxConfig } from '../../../electron/sandbox/sandboxHandlers';
import { defaultSettings } from '../../../electron/settings/settingsStore';
import { checkedWorkspaceFolder } from '../../../electron/settings/workspaceFolder';

describe('sandboxConfig', () => {
  it('uses the saved settings when no variable is set', () => {
    expect(sandboxConfig(defaultSettings.sandbox, {})).toEqual({ inUse: defaultSettings.sandbox, overrides: [] });
  });

  it('lets each variable override its field, and names it', () => {
    const config = sandboxConfig(defaultSettings.sandbox, { SOPHIA_SANDBOX_MEMORY_MB: '2048', SOPHIA_SANDBOX_IMAGE: 'team/sandbox:1', SOPHIA_DEBIAN_MIRROR: 'http://127.0.0.1:3142/debian' });
    expect(config.inUse).toMatchObject({ memoryMb: 2048, image: 'team/sandbox:1', debianMirror: 'http://127.0.0.1:3142/debian', cpus: 1 });
    expect(config.overrides.map((override) => override.variable)).toEqual(['SOPHIA_SANDBOX_IMAGE', 'SOPHIA_SANDBOX_MEMORY_MB', 'SOPHIA_DEBIAN_MIRROR']);
  });

  it('ignores a variable that does not fit its field, so it cannot pass the bounds', () => {
    const config = sandboxConfig(defaultSettings.sandbox, { SOPHIA_SANDBOX_MEMORY_MB: '999999', SOPHIA_SANDBOX_CPUS: 'lots', SOPHIA_SANDBOX_POOL_SIZE: '-1' });
    expect(config).toEqual({ inUse: defaultSettings.sandbox, overrides: [] });
  });
});

describe('checkedWorkspaceFolder', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'sophia-ws-home-'));
  mkdirSync(path.join(home, 'project'));
  writeFileSync(path.join(home, 'file.txt'), 'x');

  it('expands ~ and normalises the path', () => {
    expect(checkedWorkspaceFolder('~/project/', home)).toBe(path.join(home, 'project'));
    expect(checkedWorkspaceFolder(`${home}/project/../project`, home)).toBe(path.join(home, 'project'));
    expect(checkedWorkspaceFolder('', home)).toBe('');
  });

  it('refuses a relative path, a missing folder and a file, naming the field', () => {
    for (const [input, message] of [
      ['project', 'absolute'],
      ['~/missing', 'does not exist'],
      ['~/file.txt', 'is a file, not a folder'],
    ] as const) {
      expect(() => checkedWorkspaceFolder(input, home)).toThrow(message);
      try {
        checkedWorkspaceFolder(input, home);
      } catch (error) {
        expect(error).toMatchObject({ code: 'bad_request', data: { field: 'workspace' } });
      }
    }
  });
});
