/** The key that signs the audit log's head, kept in the OS keychain and nowhere else. */
import { randomBytes } from 'node:crypto';
import type { Keychain } from '../keychain/keychain';
import { createLogger } from '../log';

const log = createLogger('auditKey');

export const auditHeadKeyAccount = 'audit.head-key';

/**
 * The stored key, or a new one stored now when `create` is set. Undefined without a
 * keychain: the head then stays unsigned, and verify says so.
 */
export function loadAuditHeadKey(keychain: Keychain, options: { create: boolean }): { key?: Buffer; problem?: string } {
  try {
    const status = keychain.status();
    if (!status.available) return { problem: status.message };
    const stored = keychain.get(auditHeadKeyAccount);
    if (stored && /^[0-9a-f]{64}$/.test(stored)) return { key: Buffer.from(stored, 'hex') };
    if (!options.create) return { problem: 'the keychain holds no audit head key' };
    const key = randomBytes(32);
    keychain.set(auditHeadKeyAccount, key.toString('hex'));
    return { key };
  } catch (error) {
    log.warn('no audit head key: the audit head will not be signed', { error });
    return { problem: error instanceof Error ? error.message.slice(0, 300) : String(error) };
  }
}
