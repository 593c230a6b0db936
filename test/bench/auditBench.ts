/**
 * `npm run bench:audit`: appends with the hash chain and the signed head, one committed
 * transaction per append (as the app does), then verifies a log of 1,000,000 entries.
 * Prints figures; the last line is the JSON the issue asks for. Bounded in count and time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AuditLog, type AuditInput } from '../../electron/audit/auditLog';

const appendCount = Number(process.env['BENCH_AUDIT_APPENDS'] ?? 50_000);
const verifyCount = Number(process.env['BENCH_AUDIT_VERIFY'] ?? 1_000_000);
const maxSeconds = 120;

function entry(i: number): AuditInput {
  return {
    kind: i % 3 === 0 ? 'approval' : 'tool.call',
    conversationId: `conv-${i % 17}`,
    risk: i % 5 === 0 ? 'high' : 'low',
    actor: 'bench',
    summary: `tool call ${i}: read_file src/module${i % 100}.ts`,
    data: { tool: 'read_file', callId: `call-${i}`, input: { path: `src/module${i % 100}.ts` } },
  };
}

const dir = mkdtempSync(path.join(tmpdir(), 'sophia-audit-bench-'));
try {
  const key = randomBytes(32);
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;

  // 1. Single appends, each its own committed transaction.
  const log = AuditLog.open(path.join(dir, 'appends.db'), { headKey: key });
  const t0 = performance.now();
  let appended = 0;
  while (appended < appendCount && performance.now() < deadline) {
    log.record(entry(appended));
    appended += 1;
  }
  const appendSeconds = (performance.now() - t0) / 1000;
  const appendsPerSecond = Math.round(appended / appendSeconds);
  log.close();
  process.stdout.write(`single appends: ${appended} in ${appendSeconds.toFixed(2)} s = ${appendsPerSecond}/s\n`);

  // 2. Fill a log to 1,000,000 entries in batches, then verify all of it.
  const big = AuditLog.open(path.join(dir, 'verify.db'), { headKey: key });
  const batch: AuditInput[] = [];
  const t1 = performance.now();
  for (let i = 0; i < verifyCount && performance.now() < deadline; i += 1) {
    batch.push(entry(i));
    if (batch.length === 5000) big.recordMany(batch.splice(0));
  }
  big.recordMany(batch.splice(0));
  process.stdout.write(`batched appends: ${big.length} in ${((performance.now() - t1) / 1000).toFixed(2)} s\n`);
  const t2 = performance.now();
  const result = big.verify();
  const verifySeconds = (performance.now() - t2) / 1000;
  big.close();
  process.stdout.write(`verify: ${result.entries} entries in ${verifySeconds.toFixed(2)} s, ok=${result.ok}\n`);
  if (!result.ok) throw new Error(result.message);
  const scaled = result.entries === 1_000_000 ? verifySeconds : (verifySeconds * 1_000_000) / Math.max(1, result.entries);
  process.stdout.write(`${JSON.stringify({ metric: 'audit', appends_per_s: appendsPerSecond, verify_1m_s: Number(scaled.toFixed(2)) })}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
