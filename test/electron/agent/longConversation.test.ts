/**
 * Long conversations, through the real core, SQLite and the OpenAI-compatible provider
 * against its stand-in: a long tool output reaches the model in part with a reference and
 * is kept whole; near the window's limit the older turns are summarised by a model call,
 * the summary stands in for them, the chat says so, and nothing else is dropped.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { summaryOpening, summarySystem, type ContextBudget } from '../../../electron/agent/contextWindow';
import { ConversationStore } from '../../../electron/agent/conversationStore';
import { openAppDatabase } from '../../../electron/db/appDatabase';
import { dispatch } from '../../../electron/ipc/dispatch';
import type { RequestOutput } from '../../../shared/contract';
import { toolOutputLimits } from '../../../shared/toolOutput';
import { harness, makeWorkspace, ofType, type AgentHarness } from '../../support/agentFixture';
import { tempDataDir } from '../../support/hostFixture';
import { startOpenAiStandIn, type OpenAiRequestBody, type OpenAiStandIn } from '../../support/standIns/openaiStandIn';

let model: OpenAiStandIn;
let workspace: string;
const open: AgentHarness[] = [];
// Lines a reader can place: "line 0042 of the build log".
const bigLog = Array.from({ length: 400 }, (_, i) => `line ${String(i).padStart(4, '0')} of the build log`).join('\n');
// 200 KB: what a test run or a build prints.
const hugeLog = Array.from({ length: 6000 }, (_, i) => `huge ${String(i).padStart(5, '0')} ${'y'.repeat(28)}`).join('\n').slice(0, 200 * 1024);

beforeAll(async () => {
  model = await startOpenAiStandIn({ models: ['local-coder'] });
  workspace = await makeWorkspace();
  await writeFile(path.join(workspace, 'build.log'), bigLog);
  await writeFile(path.join(workspace, 'huge.log'), hugeLog);
});
afterAll(async () => {
  await model.close();
});
afterEach(async () => {
  for (const h of open.splice(0)) await h.core.close();
});

function setUp(context: Partial<ContextBudget>): AgentHarness {
  const h = harness({ context, budget: { maxTokensPerCall: 256 } });
  h.core.settings.update({ provider: 'openai', openaiBaseUrl: model.baseURL, openaiModel: 'local-coder', workspace });
  open.push(h);
  return h;
}

/** The conversation as SQLite holds it, read through a connection of its own. */
function storeOf(h: AgentHarness): ConversationStore {
  const db = openAppDatabase(path.join(h.dataDir, 'sophia.db'));
  dbs.push(db);
  return new ConversationStore(db);
}
const dbs: { close(): unknown }[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

const toolMessages = (body: OpenAiRequestBody | undefined) => (body?.messages ?? []).filter((m) => m.role === 'tool').map((m) => String(m.content));

describe('long conversations', () => {
  it('a long tool output reaches the model in part, with a reference; read_tool_output reads on in this conversation only', async () => {
    const h = setUp({ toolOutputChars: 2000 });
    let reference: { callId: string; offset: number } | undefined;
    model.script(
      { kind: 'turn', tools: [{ name: 'read_file', input: { path: 'build.log' } }] },
      {
        kind: 'reply',
        respond: (body) => {
          const shortened = toolMessages(body).at(-1) ?? '';
          const match = /call read_tool_output with \{"callId": "([^"]+)", "offset": (\d+)\}/.exec(shortened);
          reference = match ? { callId: match[1] ?? '', offset: Number(match[2]) } : undefined;
          return { tools: [{ name: 'read_tool_output', input: { ...reference, length: 200 } }] };
        },
      },
      { kind: 'turn', text: ['Line 60 is where it starts.'] },
    );
    const { conversationId, events } = await h.turn('what is in build.log? read it please');
    expect(model.refusals).toEqual([]);

    // The model got the head, the tail and the reference; not the middle, and not more than the budget.
    const second = model.requests.at(-2)?.body;
    const shortened = toolMessages(second).at(-1) ?? '';
    expect(shortened.length).toBeLessThan(2400);
    expect(shortened).toContain('line 0000 of the build log');
    expect(shortened).toContain('line 0399 of the build log');
    expect(shortened).not.toContain('line 0200 of the build log');
    expect(reference?.offset).toBeGreaterThan(0);

    // The whole output is kept, and read_tool_output reads on from where the model was cut off.
    const kept = storeOf(h).toolOutput(conversationId, reference?.callId ?? '');
    expect(kept?.content).toContain(bigLog);
    const readOn = ofType(events, 'tool.result').at(-1);
    expect(readOn).toMatchObject({ ok: true });
    expect(readOn?.output).toContain(kept?.content.slice(reference?.offset ?? 0, (reference?.offset ?? 0) + 200));
    expect(readOn?.output).toMatch(/more after this; read on with offset/);

    // Another conversation cannot read it.
    const elsewhere = await h.core.registry.invoke('read_tool_output', { callId: reference?.callId }, { conversationId: 'another-conversation', callId: 'x1', signal: new AbortController().signal });
    expect(elsewhere).toMatchObject({ kind: 'executed', result: { ok: false, output: expect.stringContaining('No kept output') } });
  });

  it('near the limit the older turns are summarised by a model call; the summary stands in for them, the chat says so, the store keeps all', async () => {
    const h = setUp({ contextTokens: 40_000 });
    const words = (tag: string): string => `${tag} `.repeat(6500); // ~10k tokens each
    model.script({ kind: 'turn', text: ['Noted ALPHA.'] }, { kind: 'turn', text: ['Noted BRAVO.'] });
    const first = await h.turn(`Please remember this list: ${words('alpha')}`);
    await h.turn(`And this one too: ${words('bravo')}`, first.conversationId);
    expect(model.requests.at(-1)?.body.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);

    model.script(
      {
        kind: 'reply',
        respond: (body) => {
          expect(body.tools).toBeUndefined();
          expect(body.messages[0]?.content).toBe(summarySystem);
          return { text: ['The person asked Sophia to remember two lists, ALPHA and BRAVO words; both were noted.'], promptTokens: 20_000, completionTokens: 30 };
        },
      },
      { kind: 'turn', text: ['Here is CHARLIE.'] },
    );
    const third = await h.turn(`A third list: ${words('charlie')}`, first.conversationId);
    expect(model.refusals).toEqual([]);

    // The summarising call saw the older turns as a transcript.
    const summarising = model.requests.at(-2)?.body;
    const transcriptText = String(summarising?.messages[1]?.content);
    expect(transcriptText).toContain('Person: Please remember this list: alpha');
    expect(transcriptText).toContain('Sophia: Noted BRAVO.');
    expect(transcriptText).not.toContain('charlie');

    // The next request: the summary in place of the older turns, then the current turn word for word.
    const answered = model.requests.at(-1)?.body;
    expect(answered?.messages.map((m) => m.role)).toEqual(['system', 'user']);
    const opening = String(answered?.messages[1]?.content);
    expect(opening).toContain(summaryOpening);
    expect(opening).toContain('remember two lists, ALPHA and BRAVO');
    expect(opening).toContain('A third list: charlie');
    expect(opening).not.toContain('alpha alpha');

    // The chat says it happened, and the notice is kept with the conversation.
    const notice = ofType(third.events, 'chat.message').find((e) => e.message.role === 'system');
    expect(notice?.message.text).toMatch(/earlier messages were summarised.*full history is kept/s);
    expect(storeOf(h).events(first.conversationId).some((e) => e.type === 'chat.message' && e.message.role === 'system' && /summarised/.test(e.message.text))).toBe(true);
    // Nothing else is dropped: every model message is still in the store.
    const stored = storeOf(h).messages(first.conversationId);
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    expect(JSON.stringify(stored)).toContain('alpha alpha');

    // The summary keeps standing in on the next turn.
    model.script({ kind: 'turn', text: ['Still here.'] });
    await h.turn('and now?', first.conversationId);
    const fourth = model.requests.at(-1)?.body;
    expect(fourth?.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(String(fourth?.messages[1]?.content)).toContain(summaryOpening);
  });

  it('a 200 KB output reaches the chat as head, tail and length, in the event and in conversation.open; the whole text is read page by page', async () => {
    const h = setUp({});
    model.script({ kind: 'turn', tools: [{ name: 'read_file', input: { path: 'huge.log' } }] }, { kind: 'turn', text: ['It is long.'] });
    const { conversationId, events } = await h.turn('show me huge.log please');
    expect(hugeLog.length).toBe(200 * 1024);

    // The event carries the head, the tail and the length, and stays small.
    const result = ofType(events, 'tool.result')[0];
    expect(result).toMatchObject({ ok: true, fullChars: hugeLog.length });
    expect(JSON.stringify(result).length).toBeLessThan(toolOutputLimits.shownChars + 1000);
    expect(hugeLog.startsWith(result?.output ?? 'x')).toBe(true);
    expect(hugeLog.endsWith(result?.tail ?? 'x')).toBe(true);
    expect(JSON.stringify(result)).not.toContain('huge 03000');
    // No event of the turn carries the whole output.
    for (const event of events) expect(JSON.stringify(event).length).toBeLessThan(toolOutputLimits.shownChars + 1000);

    // Reopening replays the same cut event: the reply stays small too.
    const reopened = (await h.core.handlers['conversation.open']({ conversationId }, { transport: 'test' })) as RequestOutput<'conversation.open'>;
    expect(JSON.stringify(reopened).length).toBeLessThan(toolOutputLimits.shownChars + 6000);
    expect(reopened.events.find((e) => e.type === 'tool.result')).toEqual(result);

    // The whole text, page by page, through the channel the chat's viewer uses.
    const read = (offset: number) => h.core.handlers['conversation.toolOutput']({ conversationId, callId: result?.callId ?? '', offset }, { transport: 'test' }) as Promise<RequestOutput<'conversation.toolOutput'>> | RequestOutput<'conversation.toolOutput'>;
    let whole = '';
    for (let offset = 0, pages = 0; pages < 20; pages += 1) {
      const page = await read(offset);
      expect(page).toMatchObject({ tool: 'read_file', offset, totalChars: hugeLog.length });
      expect(page.text.length).toBeLessThanOrEqual(toolOutputLimits.pageChars);
      whole += page.text;
      offset += page.text.length;
      if (offset >= page.totalChars) break;
    }
    expect(whole).toBe(hugeLog);

    // Only within its own conversation, through dispatch's schema.
    const elsewhere = await dispatch(h.core.handlers, 'conversation.toolOutput', { conversationId: 'another-conversation', callId: result?.callId }, { transport: 'test' });
    expect(elsewhere).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('not kept') } });
  });

  it('a conversation stored before outputs were cut for the chat reopens cut, and its viewer reads what the event kept', () => {
    const db = openAppDatabase(path.join(tempDataDir(), 'sophia.db'));
    dbs.push(db);
    const store = new ConversationStore(db);
    store.create('old', 'Old');
    const kept = 'z'.repeat(64 * 1024);
    store.appendEvent('old', { type: 'tool.call', conversationId: 'old', callId: 'c1', tool: 'run_command', args: {}, risk: 'low' });
    // As the agent wrote it then: up to 64 KB in the event, with no length.
    db.prepare("INSERT INTO conversation_events (conversation_id, seq, type, payload, created_at) VALUES ('old', 2, 'tool.result', ?, 0)").run(
      JSON.stringify({ type: 'tool.result', conversationId: 'old', callId: 'c1', ok: true, output: kept }),
    );
    const shown = store.events('old').find((e) => e.type === 'tool.result');
    expect(shown).toMatchObject({ output: kept.slice(0, toolOutputLimits.headChars), tail: kept.slice(-toolOutputLimits.tailChars), fullChars: kept.length });
    expect(store.toolOutputPage('old', 'c1', 0)).toMatchObject({ tool: 'run_command', offset: 0, text: kept.slice(0, toolOutputLimits.pageChars), totalChars: kept.length });
    expect(store.toolOutputPage('old', 'nope', 0)).toBeUndefined();
  });

  it('a request that does not fit even after summarising is not sent, and the chat says why', async () => {
    const h = setUp({ contextTokens: 8_000 });
    const before = model.requests.length;
    const { events } = await h.turn(`Read all of this: ${'delta '.repeat(8000)}`);
    expect(model.requests.length).toBe(before);
    const notice = ofType(events, 'chat.message').find((e) => e.message.role === 'system');
    expect(notice?.message.text).toMatch(/Nothing was sent/);
  });
});
