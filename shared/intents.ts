/**
 * Intent recognition for the six intents of the seed plus a plain question. Deterministic
 * rules, not a model: the same words always give the same intent, and the intent only picks
 * the system prompt, the tools offered and the plan shown. It grants nothing: every tool
 * call still goes through the approval gate whatever the intent.
 */
import { z } from 'zod';

export const intents = [
  'code-review',
  'code-edit',
  'code-generate',
  'github-commit',
  'infra-deploy',
  'troubleshoot',
  'question',
] as const;
export const intent = z.enum(intents);
export type Intent = z.infer<typeof intent>;

export const intentLabels: Readonly<Record<Intent, string>> = {
  'code-review': 'Code review',
  'code-edit': 'Code edit',
  'code-generate': 'Code generation',
  'github-commit': 'Commit / pull request',
  'infra-deploy': 'Infrastructure deploy',
  troubleshoot: 'Troubleshooting',
  question: 'Question',
};

/** Each rule adds its weight when its pattern matches the message. */
const rules: ReadonlyArray<readonly [Intent, RegExp, number]> = [
  ['code-review', /\b(review|audit|critique|look over|check (?:the|this|my)|inspect|assess)\b/i, 3],
  ['code-review', /\b(code smell|best practice|is (?:this|it) (?:correct|ok|good))\b/i, 2],
  ['code-edit', /\b(edit|change|modify|refactor|rename|update|fix (?:the|this|a) (?:typo|bug|function|code)|replace|add (?:an? )?(?:[\w.]+ )?(?:column|field|parameter|argument))\b/i, 3],
  ['code-generate', /\b(write|generate|create|scaffold|implement|build|new (?:file|module|function|class|script|component))\b/i, 2],
  ['code-generate', /\b(from scratch|boilerplate|stub out)\b/i, 2],
  ['github-commit', /\b(commit|push|pull request|\bPR\b|open a pr|merge|branch|cherry-pick|rebase)\b/i, 4],
  ['infra-deploy', /\b(deploy|provision|roll ?back|tear down|apply the (?:plan|ddl))\b/i, 4],
  ['infra-deploy', /\b(pulumi|terraform|stack|infrastructure|snowflake|ddl|warehouse)\b/i, 2],
  ['infra-deploy', /\b(preview (?:the )?(?:deploy|changes|stack)|up to (?:prod|production|staging))\b/i, 2],
  ['infra-deploy', /\b(?:staging|production|prod|dev(?:elopment)?|qa|test) (?:environment|stack)\b/i, 3],
  ['question', /^\s*(what|which|who|explain|tell me about|how (?:does|do|is|are))\b/i, 3],
  ['troubleshoot', /\b(error|fail(?:s|ed|ing|ure)?|crash(?:es|ed)?|broken|bug|exception|stack ?trace|not working|debug|troubleshoot|why (?:does|is|did))\b/i, 3],
];

/** Where scores tie, the intent that changes the most state wins, so its plan is shown. */
const tieOrder: readonly Intent[] = ['infra-deploy', 'github-commit', 'code-edit', 'code-generate', 'troubleshoot', 'code-review', 'question'];

export interface RecognizedIntent {
  readonly intent: Intent;
  readonly scores: Readonly<Partial<Record<Intent, number>>>;
}

export function recognizeIntent(text: string): RecognizedIntent {
  const scores: Partial<Record<Intent, number>> = {};
  for (const [name, pattern, weight] of rules) {
    if (pattern.test(text)) scores[name] = (scores[name] ?? 0) + weight;
  }
  let best: Intent = 'question';
  let bestScore = 0;
  for (const name of tieOrder) {
    const score = scores[name] ?? 0;
    if (score > bestScore) {
      best = name;
      bestScore = score;
    }
  }
  return { intent: best, scores };
}

/** Whether the intent may lead to changes of state (files, git, infrastructure). */
export function changesState(value: Intent): boolean {
  return value === 'code-edit' || value === 'code-generate' || value === 'github-commit' || value === 'infra-deploy';
}

