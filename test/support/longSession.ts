/**
 * A long conversation written through the real store (and so the real migrations), the way
 * the agent writes one: chat messages as `chat.message` events, the model's plan as `agent.plan`, and each tool call as its
 * `tool.call` and `tool.result` events, a long output cut for the chat (toolOutputPreview)
 * and kept whole in `tool_outputs`. For the long-session benchmark and its tests.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { ConversationStore } from '../../electron/agent/conversationStore';
import { openAppDatabase } from '../../electron/db/appDatabase';
import { toolOutputPreview } from '../../shared/toolOutput';

export interface LongConversation {
  readonly conversationId: string;
  readonly title: string;
  readonly firstText: string;
  readonly lastText: string;
  /** The call ids of the long outputs, in order. */
  readonly bigCallIds: readonly string[];
  /** The whole text of the nth long output (made again on demand, not kept). */
  bigOutput(index: number): string;
}

const words = 'the payroll service reads employees from the staging warehouse and writes one row per person with salary manager and department'.split(' ');

/** A line a reader can place: "output 3 line 01234". */
export function bigOutputText(index: number, chars: number): string {
  const lines: string[] = [];
  let length = 0;
  for (let line = 0; length < chars; line += 1) {
    const text = `output ${index} line ${String(line).padStart(5, '0')}: ${words[line % words.length]} ${'x'.repeat(40)}`;
    lines.push(text);
    length += text.length + 1;
  }
  return lines.join('\n').slice(0, chars);
}

function messageText(n: number): string {
  const count = 20 + (n % 7) * 25;
  const body = Array.from({ length: count }, (_, i) => words[(n + i) % words.length]).join(' ');
  return n % 10 === 3 ? `Message ${n}: ${body}\n\n\`\`\`sql\nSELECT id, salary FROM employees WHERE id = ${n};\n\`\`\`` : `Message ${n}: ${body}.`;
}

/**
 * Writes `messages` chat messages (user and Sophia taking turns), with `bigOutputs` tool
 * calls of `outputChars` characters each spread evenly among them, into the app database
 * of `dataDir`. The first message says `firstText`, the last `lastText`.
 */
export function seedLongConversation(dataDir: string, options: { messages: number; bigOutputs: number; outputChars: number; title?: string }): LongConversation {
  const db = openAppDatabase(path.join(dataDir, 'sophia.db'));
  try {
    const store = new ConversationStore(db);
    const conversationId = randomUUID();
    const title = options.title ?? 'Long session';
    const start = Date.now() - options.messages * 1000;
    store.create(conversationId, title, start);
    const every = Math.max(1, Math.floor(options.messages / Math.max(1, options.bigOutputs)));
    const bigCallIds: string[] = [];
    let firstText = '';
    let lastText = '';
    db.transaction(() => {
      for (let n = 0; n < options.messages; n += 1) {
        const text = n === options.messages - 1 ? `The last message of the long session (${n}).` : messageText(n);
        if (n === 0) firstText = text;
        lastText = text;
        const role = n % 2 === 0 ? 'user' : 'assistant';
        store.appendEvent(conversationId, { type: 'chat.message', message: { id: `m${n}`, conversationId, role, text, createdAt: start + n * 1000 } }, start + n * 1000);
        // The model's plan, posted early and kept as one checklist.
        if (n === 1) store.appendEvent(conversationId, { type: 'agent.plan', conversationId, steps: [{ text: 'Read the build logs', status: 'done' }, { text: 'Fix the payroll job', status: 'pending' }] });
        if (role === 'assistant' && bigCallIds.length < options.bigOutputs && n % every === 1) {
          const callId = `call_big_${bigCallIds.length}`;
          const output = bigOutputText(bigCallIds.length, options.outputChars);
          store.appendEvent(conversationId, { type: 'tool.call', conversationId, callId, tool: 'run_command', args: { command: `cat build-${bigCallIds.length}.log` }, risk: 'low' });
          store.saveToolOutput(conversationId, callId, 'run_command', output);
          store.appendEvent(conversationId, { type: 'tool.result', conversationId, callId, ok: true, ...toolOutputPreview(output) });
          bigCallIds.push(callId);
        }
      }
    })();
    // The store writes events behind (at the end of this turn of the event loop): write them before the database closes.
    store.flush();
    return { conversationId, title, firstText, lastText, bigCallIds, bigOutput: (index) => bigOutputText(index, options.outputChars) };
  } finally {
    db.close();
  }
}
