/**
 * Review findings as a SARIF 2.1.0 log (the OASIS standard that code-scanning tools read),
 * typed against `@types/sarif`: one run, the rules the findings name, each result located
 * relative to the workspace root (`%SRCROOT%`). A suggested fix is prose, not an artifact
 * change, so it goes in the message and the result's property bag rather than `fixes`
 * (whose schema requires concrete replacements).
 */
import type { Log, Result } from 'sarif';
import type { Finding } from '../../shared/code';

const levels: Readonly<Record<Finding['severity'], Result.level>> = { error: 'error', warning: 'warning', note: 'note' };

export function toSarif(findings: readonly Finding[], tool: { readonly name: string; readonly version: string }): Log {
  const ruleIds = [...new Set(findings.map((item) => item.rule))];
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: tool.name, version: tool.version, rules: ruleIds.map((id) => ({ id, shortDescription: { text: id } })) } },
        originalUriBaseIds: { '%SRCROOT%': { description: { text: 'The workspace folder.' } } },
        results: findings.map(
          (item): Result => ({
            ruleId: item.rule,
            ruleIndex: ruleIds.indexOf(item.rule),
            level: levels[item.severity],
            message: { text: item.suggestedFix ? `${item.explanation}\n\nSuggested fix: ${item.suggestedFix}` : item.explanation },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: item.file.split('/').map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' },
                  region: { startLine: item.startLine, endLine: Math.max(item.startLine, item.endLine) },
                },
              },
            ],
            ...(item.suggestedFix ? { properties: { suggestedFix: item.suggestedFix } } : {}),
          }),
        ),
      },
    ],
  };
}
