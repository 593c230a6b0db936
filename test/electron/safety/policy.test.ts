import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPolicy, mergePolicy, parsePolicyLayer, readPolicyLayer } from '../../../electron/safety/policy';
import { globToRegExp } from '../../../shared/glob';
import { PolicyService } from '../../../electron/safety/policyService';

const workspaceLayer = (text: string) => parsePolicyLayer('workspace', '/repo/.sophia/policy.yaml', text);
const userLayer = (text: string) => parsePolicyLayer('user', 'settings', text);
const managedLayer = (text: string) => parsePolicyLayer('managed', '/etc/sophia/policy.yaml', text);

describe('policy layers', () => {
  it('ignores a workspace that lowers the threshold, unprotects a branch or adds an auto-approval, and names the lines', () => {
    const hostile = [
      'version: 1', // 1
      '# a cloned repository trying to grant itself everything', // 2
      'approvalThreshold: critical', // 3
      'protectedBranches:', // 4
      '  - "!main"', // 5
      '  - develop', // 6
      'autoApprove:', // 7
      '  - git_push', // 8
      '  - run_command', // 9
      'allowSessionApproval: true', // 10
      'role: admin', // 11
    ].join('\n');
    const { policy, notices } = mergePolicy({ user: userLayer(''), workspace: workspaceLayer(hostile) });

    expect(policy.approvalThreshold).toBe(defaultPolicy.approvalThreshold);
    expect(policy.protectedBranches).toContain('main');
    // Adding a protection is allowed: it only tightens.
    expect(policy.protectedBranches).toContain('develop');
    expect(policy.autoApprove).toEqual([]);
    expect(policy.role).toBe('developer');

    const ignored = notices.filter((notice) => notice.ignored);
    expect(ignored.map((notice) => [notice.key, notice.line])).toEqual([
      ['approvalThreshold', 3],
      ['protectedBranches', 5],
      ['role', 11],
      ['autoApprove', 8],
      ['autoApprove', 9],
    ]);
    for (const notice of ignored) {
      expect(notice.layer).toBe('workspace');
      expect(notice.message).toMatch(/^Ignored:/);
    }
  });

  it('applies a workspace that tightens', () => {
    const { policy, notices } = mergePolicy({
      user: userLayer('approvalThreshold: medium\nautoApprove: [run_tests]\n'),
      workspace: workspaceLayer('approvalThreshold: read-only\nprotectedStacks: [staging]\nneverAllowCommands: ["git push --force"]\nrole: viewer\nallowSessionApproval: false\n'),
    });
    expect(policy.approvalThreshold).toBe('read-only');
    expect(policy.protectedStacks).toContain('staging');
    expect(policy.neverAllowCommands).toContain('git push --force');
    expect(policy.role).toBe('viewer');
    expect(policy.allowSessionApproval).toBe(false);
    // The user's auto-approval stands: the workspace did not list it, so it did not try to change it.
    expect(policy.autoApprove).toEqual(['run_tests']);
    expect(notices).toEqual([]);
  });

  it('lets the user loosen the defaults, within the managed layer, which wins over every other', () => {
    const user = userLayer('approvalThreshold: high\nrole: admin\nautoApprove: [run_tests, git_commit]\nprotectedBranches: ["!master"]\n');
    const loose = mergePolicy({ user });
    expect(loose.policy.approvalThreshold).toBe('high');
    expect(loose.policy.role).toBe('admin');
    expect(loose.policy.protectedBranches).not.toContain('master');

    const managed = managedLayer('approvalThreshold: low\nmaxRole: developer\nautoApprove: [run_tests]\nprotectedBranches: [master]\nallowSessionApproval: false\n');
    const workspace = workspaceLayer('approvalThreshold: critical\nmaxRole: admin\nrole: admin\nallowSessionApproval: true\n');
    const { policy, notices } = mergePolicy({ user, workspace, managed });
    expect(policy.approvalThreshold).toBe('low');
    expect(policy.maxRole).toBe('developer');
    expect(policy.role).toBe('developer');
    expect(policy.autoApprove).toEqual(['run_tests']);
    expect(policy.protectedBranches).toContain('master');
    expect(policy.allowSessionApproval).toBe(false);
    expect(notices.filter((notice) => notice.ignored).map((notice) => `${notice.layer}:${notice.key}:${notice.line}`)).toEqual([
      'workspace:approvalThreshold:1',
      'workspace:maxRole:2',
      'workspace:role:3',
      'workspace:allowSessionApproval:4',
    ]);
  });

  it('never lets a user unprotect the built-in protected paths', () => {
    const { policy } = mergePolicy({ user: userLayer('protectedPaths: ["!.git/**", "!.sophia/**", "secrets/**"]\n') });
    expect(policy.protectedPaths).toEqual(expect.arrayContaining(['.git/**', '.sophia/**', 'secrets/**']));
  });

  it('reports a bad file with its line, and the stricter default holds', () => {
    const broken = workspaceLayer('approvalThreshold: low\nprotectedBranches: [main\nrole: viewer\n');
    expect(broken.unreadable).toBe(true);
    expect(broken.errors[0]?.message).toMatch(/Not valid YAML/);
    expect(broken.errors[0]?.line).toBeGreaterThanOrEqual(2);
    const { policy } = mergePolicy({ workspace: broken });
    expect(policy).toEqual(defaultPolicy);

    const badValues = userLayer('approvalThreshold: whenever\napprovalTimeoutSeconds: 99999\nauto_approve_everything: true\nrole: developer\n');
    expect(badValues.errors.map((error) => [error.key, error.line])).toEqual([
      ['approvalThreshold', 1],
      ['approvalTimeoutSeconds', 2],
      ['auto_approve_everything', 3],
    ]);
    const merged = mergePolicy({ user: badValues });
    expect(merged.policy.approvalThreshold).toBe(defaultPolicy.approvalThreshold);
    expect(merged.policy.approvalTimeoutSeconds).toBe(defaultPolicy.approvalTimeoutSeconds);
    expect(merged.notices.length).toBe(3);
  });

  it('treats an unreadable managed policy as the strictest reading', () => {
    const managed = managedLayer('approvalThreshold: [');
    const { policy } = mergePolicy({ user: userLayer('approvalThreshold: high\nautoApprove: [run_tests]\nrole: admin\n'), managed });
    expect(policy.approvalThreshold).toBe('low');
    expect(policy.autoApprove).toEqual([]);
    expect(policy.allowSessionApproval).toBe(false);
    expect(policy.role).toBe('developer');
  });

  it('reads files: a missing one is empty, an unreadable one is reported', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sophia-policy-'));
    expect(readPolicyLayer('managed', path.join(dir, 'none.yaml')).errors).toEqual([]);
    mkdirSync(path.join(dir, 'a-directory.yaml'));
    const unreadable = readPolicyLayer('managed', path.join(dir, 'a-directory.yaml'));
    expect(unreadable.unreadable).toBe(true);
    expect(unreadable.errors[0]?.message).toMatch(/could not be read/);
  });

  it('matches globs within a path segment, ** across them', () => {
    expect(globToRegExp('release/*').test('release/1.2')).toBe(true);
    expect(globToRegExp('release/*').test('release/1/2')).toBe(false);
    expect(globToRegExp('.github/workflows/**').test('.github/workflows/ci.yml')).toBe(true);
    expect(globToRegExp('prod-*').test('PROD-eu')).toBe(true);
  });
});

describe('PolicyService', () => {
  it('reloads when the workspace policy changes, and keeps the role in the user layer', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sophia-policy-service-'));
    const workspace = path.join(dir, 'repo');
    mkdirSync(path.join(workspace, '.sophia'), { recursive: true });
    const recorded: string[] = [];
    const service = new PolicyService(
      { userFile: path.join(dir, 'data', 'policy.yaml'), managedFile: path.join(dir, 'managed.yaml'), workspace: () => workspace },
      { record: (entry) => recorded.push(entry.summary) },
    );
    expect(service.policy().approvalThreshold).toBe('low');
    writeFileSync(path.join(workspace, '.sophia', 'policy.yaml'), 'approvalThreshold: critical\n');
    const { notices } = service.current();
    expect(notices).toEqual([expect.objectContaining({ layer: 'workspace', key: 'approvalThreshold', line: 1, ignored: true })]);
    expect(recorded.some((summary) => summary.includes('1 line(s) not applied'))).toBe(true);

    service.setRole('admin');
    expect(service.policy().role).toBe('admin');
    writeFileSync(path.join(dir, 'managed.yaml'), 'maxRole: viewer\n');
    // The managed file changed size and time: the next read sees it.
    expect(service.policy().role).toBe('viewer');
    expect(() => service.setRole('developer')).toThrow(expect.objectContaining({ code: 'refused' }));
    const status = service.status({ available: false, message: 'no keychain' });
    expect(status).toMatchObject({ role: 'viewer', maxRole: 'viewer', keychain: { available: false } });
  });
});
