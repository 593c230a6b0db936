/** The infrastructure state store on a real sophia.db: unreadable plans are dropped, Time Travel expiry, the view. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAppDatabase } from '../../../electron/db/appDatabase';
import { InfraStateStore, timeTravelExpiry } from '../../../electron/infra/infraState';
import { tempDataDir } from '../../support/hostFixture';

const day = 24 * 60 * 60 * 1000;

describe('InfraStateStore', () => {
  it('returns the plans a parser accepts and drops (and deletes) the ones it does not', () => {
    const db = openAppDatabase(path.join(tempDataDir(), 'sophia.db'));
    const state = new InfraStateStore(db);
    state.savePlan('pulumi', 'plan-aaaaaaaaaaaa', 'staging', { plan: { deploymentId: 'plan-aaaaaaaaaaaa', summary: '+3 to create' } }, 1);
    state.savePlan('pulumi', 'plan-bbbbbbbbbbbb', 'staging', { nonsense: true }, 2);
    db.prepare("INSERT INTO infra_plans (id, system, target, record, created_at) VALUES ('plan-cccccccccccc', 'pulumi', 'dev', '{not json', 3)").run();
    const parse = (value: unknown) => ((value as { plan?: unknown }).plan ? (value as { plan: { deploymentId: string } }) : undefined);
    expect(state.plans('pulumi', parse).map((record) => record.plan.deploymentId)).toEqual(['plan-aaaaaaaaaaaa']);
    expect(state.view().plans).toEqual([{ id: 'plan-aaaaaaaaaaaa', system: 'pulumi', target: 'staging', summary: '+3 to create', createdAt: 1 }]);
    expect(state.plans('snowflake', parse)).toEqual([]);
    db.close();
  });

  it('a recovery point expires its retention after Snowflake\'s timestamp, and is marked when restored', () => {
    const db = openAppDatabase(path.join(tempDataDir(), 'sophia.db'));
    const state = new InfraStateStore(db);
    const at = '2026-12-01T10:00:00.000Z';
    state.saveRecoveryPoint({ id: 'rp-1', environment: 'staging', table: 'T', clone: 'T_SOPHIA_1_L1', at, line: 1, sql: 'DROP TABLE T', retentionDays: 3, retentionKnown: true, createdAt: Date.parse(at) + 50, restoredAt: null });
    const [point] = state.view().recoveryPoints;
    expect(point).toMatchObject({ id: 'rp-1', retentionDays: 3, expiresAt: Date.parse(at) + 3 * day, restoredAt: null });
    // A timestamp Snowflake wrote in another format falls back to when the point was recorded.
    expect(timeTravelExpiry({ at: 'not a date', createdAt: 1000, retentionDays: 1 })).toBe(1000 + day);
    state.markRestored('rp-1', 5000);
    expect(state.recoveryPoint('rp-1')?.restoredAt).toBe(5000);
    db.close();
  });
});
