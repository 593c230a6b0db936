import { describe, expect, it } from 'vitest';
import { checkEvidence, diagnosisResult, differentApproachReason, parseDiagnosisResult } from '../../shared/troubleshoot';

describe('troubleshooting evidence', () => {
  it('a line spanning two read lines is not found; whitespace is squashed', () => {
    const checked = checkEvidence([{ source: 's', lines: ['a   b', 'b c'] }], [{ source: 's', output: 'x a b y\nc' }]);
    expect(checked.map((line) => line.found)).toEqual([true, false]);
  });

  it("read_logs's header does not count; source names compare regardless of case", () => {
    const output = 'Log source: notion-sync (file; /var/log/x)\nFilter: ERROR\n---\n10:00 ERROR boom';
    const checked = checkEvidence([{ source: 'Notion-Sync', lines: ['ERROR boom', 'Filter: ERROR', 'Log source: notion-sync'] }], [{ source: 'notion-sync', output }]);
    expect(checked.map((line) => line.found)).toEqual([true, false, false]);
  });

  it('the verdict round-trips, and text ending otherwise carries none', () => {
    const text = diagnosisResult([
      { source: 's', line: 'l1', found: true },
      { source: 's', line: 'l2', found: false },
    ]);
    expect(parseDiagnosisResult(text)).toEqual([true, false]);
    expect(parseDiagnosisResult('Not approved: something')).toBeUndefined();
    expect(parseDiagnosisResult('[evidence checked: found,maybe]')).toBeUndefined();
  });

  it('tells the model the diagnosis was rejected, with the reason', () => {
    expect(differentApproachReason('  the token is fine ')).toContain('rejected your diagnosis and this fix (Try a different approach). Their reason: "the token is fine"');
    expect(differentApproachReason('')).toContain('without giving a reason');
  });
});
