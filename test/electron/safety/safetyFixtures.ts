/** Tools, a recording audit sink and a scripted approver for the safety tests. */
import { z } from 'zod';
import type { ToolDefinition } from '../../../electron/agent/tools';
import type { AuditInput, AuditSink } from '../../../electron/audit/auditLog';
import type { ApprovalEnding, ApprovalQuestion, Approver } from '../../../electron/safety/approvals';

/** Stand-ins for the tools other parts of Sophia register: git, infrastructure, a shell, files, SQL. */
export const tools = {
  readFile: { name: 'read_file', description: 'Read a file', input: z.object({ path: z.string() }), risk: 'read-only' },
  writeFile: {
    name: 'write_file',
    description: 'Write a file',
    input: z.object({ path: z.string(), content: z.string() }),
    risk: 'low',
    describe: (input: { path: string }) => `write ${input.path}`,
    preview: (input: { path: string; content: string }) => `--- a/${input.path}\n+++ b/${input.path}\n+${input.content.split('\n').join('\n+')}`,
  },
  gitCommit: { name: 'git_commit', description: 'Commit', input: z.object({ message: z.string() }), risk: 'low' },
  gitPush: {
    name: 'git_push',
    description: 'Push a branch',
    input: z.object({ remote: z.string().default('origin'), branch: z.string(), force: z.boolean().default(false) }),
    risk: 'medium',
  },
  runCommand: { name: 'run_command', description: 'Run a shell command in the sandbox', input: z.object({ command: z.string() }), risk: 'medium' },
  pulumiUp: { name: 'pulumi_up', description: 'Deploy a stack', input: z.object({ stack: z.string() }), risk: 'high' },
  runSql: { name: 'run_sql', description: 'Run SQL on Snowflake', input: z.object({ sql: z.string() }), risk: 'medium' },
} as const satisfies Record<string, ToolDefinition>;

export class RecordingAudit implements AuditSink {
  readonly entries: AuditInput[] = [];
  record(entry: AuditInput): void {
    this.entries.push(entry);
  }
}

/** Answers each question with the next scripted ending (or never, for 'hang'). */
export class ScriptedApprover implements Approver {
  readonly questions: ApprovalQuestion[] = [];
  constructor(private readonly answers: (ApprovalEnding | 'hang' | 'throw')[]) {}

  async ask(question: ApprovalQuestion, options: { timeoutMs: number; signal: AbortSignal }): Promise<ApprovalEnding> {
    this.questions.push(question);
    const answer = this.answers.shift() ?? 'hang';
    if (answer === 'throw') throw new Error('the approval window crashed');
    if (answer !== 'hang') return answer;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ decision: 'timeout' }), options.timeoutMs);
      options.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve({ decision: 'stopped' });
      });
    });
  }
}

export const context = (callId = 'call-1', signal = new AbortController().signal) => ({ conversationId: 'conv-1', callId, signal });
