import { describe, expect, it } from 'vitest';
import type { DeploymentStep } from '../../../../shared/contract';
import { countsOf, EngineEventFolder, resourceName, summaryText } from '../../../../electron/infra/pulumi/engineEvents';

const urn = 'urn:pulumi:staging::mcp::sophia:mcp:Server::github-server';
const metadata = { op: 'create' as const, urn, type: 'sophia:mcp:Server', provider: '' };

describe('engine events', () => {
  it('summarises counts the way the CLI signs them', () => {
    expect(summaryText(countsOf({ create: 15, update: 3 }))).toBe('+15 to create, ~3 to update');
    expect(summaryText(countsOf({ delete: 1, replace: 2, same: 4 }))).toBe('-1 to delete, +-2 to replace, 4 unchanged');
    expect(summaryText(countsOf({ same: 2 }))).toBe('no changes (2 unchanged)');
    expect(summaryText(countsOf({ create: 1 }), 'done')).toBe('+1 created');
    expect(resourceName(urn)).toBe('github-server');
  });

  it('folds a resource from running to done with a duration, once per sequence number', () => {
    let now = 1000;
    const seen: DeploymentStep[] = [];
    const folder = new EngineEventFolder((step) => seen.push(step), () => now);
    expect(folder.fold({ sequence: 1, timestamp: 1, resourcePreEvent: { metadata } })).toBe(true);
    now = 1250;
    expect(folder.fold({ sequence: 2, timestamp: 1, resOutputsEvent: { metadata } })).toBe(true);
    // The same line read twice by the log tail.
    expect(folder.fold({ sequence: 2, timestamp: 1, resOutputsEvent: { metadata } })).toBe(false);
    folder.fold({ sequence: 3, timestamp: 1, diagnosticEvent: { urn, message: 'quota exceeded\n', color: 'never', severity: 'error' } });
    folder.fold({ sequence: 4, timestamp: 1, cancelEvent: {} });
    folder.fold({ sequence: 5, timestamp: 1, summaryEvent: { maybeCorrupt: false, durationSeconds: 1, resourceChanges: { create: 1 }, policyPacks: {} } });
    expect(seen.map((step) => [step.status, step.durationMs])).toEqual([
      ['running', undefined],
      ['done', 250],
      ['done', 250],
    ]);
    expect(seen.at(-1)?.message).toBe('error: quota exceeded');
    expect(folder.diagnostics).toEqual(['error: quota exceeded']);
    expect(folder.cancelled).toBe(true);
    expect(folder.counts).toEqual({ create: 1, update: 0, delete: 0, replace: 0, same: 0 });
  });
});
