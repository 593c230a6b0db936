/**
 * The safety side of the renderer's state: pending approvals and the safety status (role,
 * policy notices, keychain). Kept apart from the chat's reducer; fed by the same events.
 */
import { useEffect, useState } from 'react';
import type { ApprovalRequest, SafetyStatus } from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';

export interface SafetyState {
  readonly approvals: readonly ApprovalRequest[];
  readonly status: SafetyStatus | undefined;
}

export function useSafety(client: SophiaClient, connected: boolean): SafetyState {
  const [approvals, setApprovals] = useState<readonly ApprovalRequest[]>([]);
  const [status, setStatus] = useState<SafetyStatus | undefined>(undefined);

  useEffect(
    () =>
      client.onEvent((event) => {
        switch (event.type) {
          case 'approval.request':
            setApprovals((current) => [...current.filter((approval) => approval.approvalId !== event.approvalId), event]);
            break;
          case 'approval.resolved':
            setApprovals((current) => current.filter((approval) => approval.approvalId !== event.approvalId));
            break;
          case 'stop':
            // The stop rejected every pending approval.
            setApprovals([]);
            break;
          case 'safety.status':
            setStatus(event.status);
            break;
          case 'status':
            // Settings changed (a workspace opened, say): its policy may change the role.
            void client.request('safety.status', {}).then((result) => {
              if (result.ok) setStatus(result.value);
            });
            break;
          default:
            break;
        }
      }),
    [client],
  );

  useEffect(() => {
    if (!connected) return;
    void client.request('approval.pending', {}).then((result) => {
      if (result.ok) setApprovals(result.value.approvals);
    });
    void client.request('safety.status', {}).then((result) => {
      if (result.ok) setStatus(result.value);
    });
  }, [client, connected]);

  return { approvals, status };
}
