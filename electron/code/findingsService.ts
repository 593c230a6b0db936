/**
 * Review findings: the agent reports them as structured data (file, line range, severity,
 * rule, explanation, suggested fix) through the read-only `report_findings` tool; each is
 * checked against the workspace (the file exists inside it, the lines exist), shown as a
 * list that jumps to the code, and exported as SARIF 2.1.0.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Finding, FindingsReport } from '../../shared/code';
import type { SophiaEvent } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import type { ToolOutput } from '../agent/tools';
import { toSarif } from './sarif';
import { decodeText } from './textFile';
import { confinePath } from '../core/workspacePaths';

const maxReports = 500;

export class FindingsService {
  readonly #reports = new Map<string, FindingsReport>();

  constructor(
    private readonly options: {
      readonly publish: (event: SophiaEvent) => void;
      readonly workspace: () => string;
      readonly version: string;
      readonly now?: () => number;
    },
  ) {}

  async report(conversationId: string, findings: readonly Finding[]): Promise<ToolOutput> {
    const problems: string[] = [];
    const lineCounts = new Map<string, number>();
    for (const [index, item] of findings.entries()) {
      let lines = lineCounts.get(item.file);
      if (lines === undefined) {
        const confined = await confinePath(this.options.workspace(), item.file, 'read');
        if (!confined.ok) {
          problems.push(`finding ${index + 1}: ${confined.error}`);
          continue;
        }
        try {
          lines = decodeText(await readFile(confined.file), item.file).text.split('\n').length;
        } catch (error) {
          problems.push(`finding ${index + 1}: ${item.file} cannot be read as text (${error instanceof Error ? error.message : 'error'})`);
          continue;
        }
        lineCounts.set(item.file, lines);
      }
      if (item.endLine < item.startLine) problems.push(`finding ${index + 1}: endLine ${item.endLine} is before startLine ${item.startLine}`);
      else if (item.startLine > lines) problems.push(`finding ${index + 1}: ${item.file} has ${lines} lines, not ${item.startLine}`);
    }
    if (problems.length > 0) {
      return { ok: false, output: `The findings were not recorded; fix these and report them all again:\n${problems.slice(0, 20).join('\n')}` };
    }
    const report: FindingsReport = {
      reportId: randomUUID(),
      conversationId,
      findings: findings.map((item) => ({ ...item, endLine: Math.min(item.endLine, lineCounts.get(item.file) ?? item.endLine) })),
      createdAt: (this.options.now ?? Date.now)(),
    };
    this.#reports.set(report.reportId, report);
    if (this.#reports.size > maxReports) {
      const oldest = this.#reports.keys().next().value;
      if (oldest !== undefined) this.#reports.delete(oldest);
    }
    this.options.publish({ type: 'findings', report });
    const bySeverity = (['error', 'warning', 'note'] as const).map((level) => `${report.findings.filter((item) => item.severity === level).length} ${level}`).join(', ');
    return { ok: true, output: `Recorded ${report.findings.length} finding(s) (${bySeverity}); the person sees them as a list and can export them as SARIF.` };
  }

  sarif(reportId: string): string {
    const report = this.#reports.get(reportId);
    if (!report) throw new SophiaError('bad_request', 'There is no such findings report.');
    return JSON.stringify(toSarif(report.findings, { name: 'Sophia', version: this.options.version }), null, 2);
  }
}
