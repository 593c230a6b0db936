/** Risk levels in order, and the few rules over them that every layer shares. */
import { riskLevels, type RiskLevel } from './contract';

export function riskRank(risk: RiskLevel): number {
  return riskLevels.indexOf(risk);
}

/** The stricter of the given risks; `read-only` for none. */
export function maxRisk(...risks: readonly RiskLevel[]): RiskLevel {
  let worst: RiskLevel = 'read-only';
  for (const risk of risks) if (riskRank(risk) > riskRank(worst)) worst = risk;
  return worst;
}

export function atLeast(risk: RiskLevel, floor: RiskLevel): boolean {
  return riskRank(risk) >= riskRank(floor);
}

/** "Approve for this session" exists for low risk only: anything more is asked each time. */
export function sessionApprovalAllowed(risk: RiskLevel): boolean {
  return risk === 'low';
}
