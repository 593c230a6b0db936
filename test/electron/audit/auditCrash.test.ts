/**
 * Kills a process with SIGKILL in the middle of a burst of appends: every entry it had
 * acknowledged is still there, and the chain and its signed head still verify.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../../electron/audit/auditLog';

const root = path.resolve(import.meta.dirname, '../../..');

describe('the audit log under SIGKILL', () => {
  it('loses no acknowledged entry', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'sophia-audit-crash-')), 'audit.db');
    const key = randomBytes(32);
    const child = spawn(process.execPath, ['--import', './test/support/tsResolveHook.mjs', 'test/electron/audit/support/appendBurst.ts', file, key.toString('hex')], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SOPHIA_LOG_LEVEL: 'error' },
    });
    let acked = 0;
    let buffer = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const seq = Number(line.slice(4));
        if (line.startsWith('ack ') && seq > acked) acked = seq;
      }
      // In the middle of the burst, not at its end.
      if (acked >= 3000 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    const signal = await exited;
    expect(signal, stderr).toBe('SIGKILL');
    expect(acked).toBeGreaterThanOrEqual(3000);

    const log = AuditLog.open(file, { headKey: key });
    // Entries past the last ack may or may not have landed; none before it may be missing.
    expect(log.length).toBeGreaterThanOrEqual(acked);
    expect(log.verify()).toMatchObject({ ok: true, headSigned: true });
    expect(log.query({ kind: 'audit' })).toEqual([]);
    log.close();
  });
});
