import { describe, expect, it } from 'vitest';
import type { StoppedItem } from '../../shared/contract';
import { stopSummary } from '../../shared/stopSummary';

const item = (kind: StoppedItem['kind'], label: string, outcome: StoppedItem['outcome'] = 'stopped'): StoppedItem => ({ kind, id: label.slice(0, 10), label, outcome });

describe('the Stop banner text', () => {
  it('groups and counts what was stopped, in plain words', () => {
    const text = stopSummary([
      item('container', 'warm sandbox'),
      item('container', 'warm sandbox'),
      item('container', 'sandbox of task run-1'),
      item('model-stream', 'model reply'),
      item('approval', 'change 1 file(s): sql/employees.sql'),
      item('task', 'outside MCP server notes'),
      item('ddl', 'DROP TABLE X'),
      item('ddl', 'ALTER TABLE Y'),
    ]);
    expect(text).toBe('Stopped: 2 warm sandboxes, 1 task container, 1 model reply, 1 approval request, 1 outside MCP server, 2 Snowflake queries.');
    expect(text).not.toContain('container warm sandbox');
  });

  it('says apart what had already ended and what did not stop in time', () => {
    expect(stopSummary([item('container', 'warm sandbox', 'already-ended'), item('container', 'sandbox of task run-2', 'stuck'), item('deployment', 'update of staging')])).toBe(
      'Stopped: 1 Pulumi operation. Already ended: 1 warm sandbox. Did not stop in time (may still be running): 1 task container.',
    );
    expect(stopSummary([])).toBe('Nothing was running.');
  });

  it('names each sandbox engine the stop could not reach, and what that means', () => {
    expect(
      stopSummary([item('container', 'warm sandbox'), item('engine', 'Build host', 'unreachable'), item('task', 'sandbox image transfer'), item('engine', 'Podman box', 'unreachable')]),
    ).toBe(
      'Stopped: 1 warm sandbox, 1 sandbox image transfer. Build host: not reachable; its containers may still run, they end when their connection closes. Podman box: not reachable; its containers may still run, they end when their connection closes.',
    );
  });
});
