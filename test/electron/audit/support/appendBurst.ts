/**
 * A child process for the crash test: appends audit entries as fast as it can and prints
 * "ack <seq>" for each one after `record` returned. Bounded in count and time; the parent
 * kills it with SIGKILL in the middle. Run with `node --import test/support/tsResolveHook.mjs`.
 */
import { AuditLog } from '../../../../electron/audit/auditLog';

const [file, keyHex] = process.argv.slice(2);
if (!file || !keyHex) throw new Error('usage: appendBurst.ts FILE KEYHEX');
const log = AuditLog.open(file, { headKey: Buffer.from(keyHex, 'hex') });
const deadline = Date.now() + 20_000;
for (let i = 0; i < 500_000 && Date.now() < deadline; i += 1) {
  const { seq } = log.record({ kind: 'tool.call', conversationId: 'burst', risk: 'low', actor: 'agent', summary: `burst ${i}`, data: { i } });
  // A pipe on stdout is written synchronously: the parent sees the ack only after the commit.
  process.stdout.write(`ack ${seq}\n`);
}
log.close();
