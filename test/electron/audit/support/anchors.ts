/** An anchor store in memory that counts its writes (the real one is the keychain). */
import type { AuditAnchor, AuditAnchorStore } from '../../../../electron/audit/auditLog';

export function memoryAnchors(initial: AuditAnchor | null = null): { store: AuditAnchorStore; writes: AuditAnchor[]; current: () => AuditAnchor | null } {
  let stored = initial;
  const writes: AuditAnchor[] = [];
  return {
    store: {
      read: () => stored,
      write: (anchor) => {
        stored = anchor;
        writes.push(anchor);
      },
    },
    writes,
    current: () => stored,
  };
}
