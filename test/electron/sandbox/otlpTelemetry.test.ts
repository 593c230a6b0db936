/**
 * OpenTelemetry export, end to end: the real core with the real OpenTelemetry JS SDK and
 * OTLP/HTTP protobuf exporters, sending to a loopback receiver that decodes what arrives
 * (protobufjs). One tool-using turn (the real Anthropic SDK against the stand-in): read_file,
 * allowed by policy, and run_command, approved by the person and run in a real sandbox
 * container. The span tree, its attributes and the metrics are checked; with content
 * capture off no prompt, argument, file content, answer or keychain value is in any byte
 * received; with it on the content is there and the keychain value is still cut. Off (the
 * default), nothing is sent and the SDK is never loaded.
 *
 * Needs Docker and a Secret Service (the keychain holds the OTLP headers and a canary).
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { registerHooks } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SophiaEvent } from '../../../shared/contract';
import { createSophiaCore, type SophiaCore } from '../../../electron/app/sophiaCore';
import { loadStarted } from '../../../electron/core/onDemand';
import { anthropicTurn, startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { tempDataDir } from '../../support/hostFixture';
import { OtlpReceiver, type ReceivedSpan } from '../../support/otlpReceiver';
import { testKeychain } from '../keychain/keychainSupport';
import { newService } from './support';

// Every module this process loads from here on (both loaders), to prove the SDK stays unloaded while telemetry is off.
const loaded: string[] = [];
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url);
    return nextLoad(url, context);
  },
});
const sdkModules = (): string[] => loaded.filter((url) => /@opentelemetry\/(sdk-|exporter-|otlp-|resources)/.test(url));

const keychainCanary = 'canary-gh-51d0e2f7a9c4';
const headerValue = 'otlp-key-8c2e61b0';

let model: AnthropicStandIn;
let receiver: OtlpReceiver;
let core: SophiaCore;
let workspace: string;
const events: SophiaEvent[] = [];
const { service } = newService();
// A turn creates and removes a container; on a loaded 2-core machine that alone can take a minute.
const turnTimeoutMs = 300_000;

/** Content a run puts everywhere it can: the prompt, a tool's arguments, a file, the answer. */
function markers(tag: string) {
  return {
    prompt: `PROMPT-${tag}-check notes for ${keychainCanary}`,
    file: `FILE-CONTENT-${tag}`,
    argument: `ARGUMENT-${tag}`,
    answer: `ANSWER-${tag}`,
  };
}

async function toolTurn(tag: string): Promise<{ conversationId: string; callIds: string[] }> {
  const m = markers(tag);
  await writeFile(path.join(workspace, 'notes.txt'), `${m.file}\n`);
  model.script(
    {
      kind: 'stream',
      events: anthropicTurn({
        text: ['Reading the notes, then counting them.'],
        tools: [
          { name: 'read_file', input: { path: 'notes.txt' } },
          { name: 'run_command', input: { command: `wc -l notes.txt && echo ${m.argument}`, timeoutSeconds: 60 } },
        ],
        inputTokens: 1200,
        outputTokens: 80,
      }),
    },
    { kind: 'stream', events: anthropicTurn({ text: [`${m.answer}: one line.`], inputTokens: 1500, outputTokens: 20 }) },
  );
  const start = events.length;
  const sent = core.agent.send(m.prompt);
  await core.agent.whenIdle(sent.conversationId);
  const calls = events.slice(start).filter((event): event is Extract<SophiaEvent, { type: 'tool.call' }> => event.type === 'tool.call');
  const results = events.slice(start).filter((event): event is Extract<SophiaEvent, { type: 'tool.result' }> => event.type === 'tool.result');
  expect(calls.map((call) => call.tool)).toEqual(['read_file', 'run_command']);
  expect(results.map((result) => result.ok)).toEqual([true, true]);
  return { conversationId: sent.conversationId, callIds: calls.map((call) => call.callId) };
}

function one(spans: readonly ReceivedSpan[], name: string, where: (span: ReceivedSpan) => boolean = () => true): ReceivedSpan {
  const found = spans.filter((span) => span.name === name && where(span));
  expect(found, `${name}: ${spans.map((span) => span.name).join(', ')}`).toHaveLength(1);
  return found[0] as ReceivedSpan;
}

/** The spans of one turn: its root and every span in its trace. */
async function turnSpans(conversationId: string): Promise<{ root: ReceivedSpan; spans: ReceivedSpan[] }> {
  await core.telemetry.flush();
  const isRoot = (span: ReceivedSpan): boolean => span.name === 'invoke_agent Sophia' && span.attributes['gen_ai.conversation.id'] === conversationId;
  await receiver.until(() => receiver.spans.some(isRoot), `the turn span of ${conversationId}`);
  const root = one(receiver.spans, 'invoke_agent Sophia', isRoot);
  return { root, spans: receiver.spans.filter((span) => span.traceId === root.traceId) };
}

beforeAll(async () => {
  model = await startAnthropicStandIn();
  receiver = new OtlpReceiver();
  await receiver.start();
  workspace = await mkdtemp(path.join(tmpdir(), 'sophia-otel-'));
  // The sandbox's command user is not this process's user: the workspace is readable by all.
  await chmod(workspace, 0o755);
  core = createSophiaCore({
    host: 'browser',
    dataDir: tempDataDir(),
    keychain: testKeychain(),
    endpoints: { anthropicBaseURL: model.baseURL },
    sandbox: service,
    approvalTimeoutMs: 120_000,
  });
  core.safety.secrets.set('anthropic-api-key', 'sk-ant-otel-test-key');
  core.safety.secrets.set('github-token', keychainCanary);
  core.safety.secrets.set('otlp-headers', `x-otlp-key=${headerValue}`);
  core.settings.update({ workspace });
  // The person approves each card (run_command asks; read_file is allowed by policy).
  core.events.subscribe((event) => {
    events.push(event);
    if (event.type === 'approval.request') queueMicrotask(() => core.safety.approvals.answer({ approvalId: event.approvalId, decision: 'approve' }));
  });
  expect((await service.start()).state).toBe('ready');
});

afterAll(async () => {
  for (const name of ['anthropic-api-key', 'github-token', 'otlp-headers'] as const) core?.safety.secrets.remove(name);
  await core?.close();
  await receiver?.close();
  await model?.close();
  await rm(workspace, { recursive: true, force: true });
});

describe('OpenTelemetry over OTLP', () => {
  it('is off by default: a whole tool-using turn sends nothing and loads no OpenTelemetry SDK', async () => {
    expect(core.settings.get().telemetry).toEqual({ enabled: false, endpoint: '', captureContent: false });
    await toolTurn('off');
    await core.telemetry.flush();
    expect(receiver.requests).toHaveLength(0);
    expect(loadStarted('@opentelemetry/sdk')).toBe(false);
    expect(sdkModules()).toEqual([]);
    expect(core.telemetry.status()).toMatchObject({ enabled: false, loaded: false, exportedSpans: 0 });
  }, turnTimeoutMs);

  it('sends the span tree of a tool-using turn and its metrics, with no content when capture is off', async () => {
    core.settings.update({ telemetry: { enabled: true, endpoint: receiver.url, captureContent: false } });
    const { conversationId, callIds } = await toolTurn('capture-off');
    const { root, spans } = await turnSpans(conversationId);
    expect(loadStarted('@opentelemetry/sdk')).toBe(true);
    expect(sdkModules().length).toBeGreaterThan(0);

    // The turn: the root, an internal span with the agent's attributes and the turn's token totals.
    expect(root.parentSpanId).toBe('');
    expect(root.kind).toBe(1);
    expect(root.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'Sophia',
      'gen_ai.conversation.id': conversationId,
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-5-5',
      'gen_ai.usage.input_tokens': 2700,
      'gen_ai.usage.output_tokens': 100,
    });
    expect(root.resource).toMatchObject({ 'service.name': 'sophia' });

    // Two model calls under the turn: client spans named by the model, with usage and finish reasons.
    const chats = spans.filter((span) => span.name === 'chat claude-sonnet-5-5').sort((a, b) => Number(a.startNs - b.startNs));
    expect(chats).toHaveLength(2);
    for (const chat of chats) {
      expect(chat.parentSpanId).toBe(root.spanId);
      expect(chat.kind).toBe(3);
      expect(chat.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.request.model': 'claude-sonnet-5-5',
        'gen_ai.response.model': 'claude-sonnet-5-5',
        'gen_ai.conversation.id': conversationId,
        'gen_ai.request.max_tokens': 8192,
      });
      expect(String(chat.attributes['gen_ai.response.id'])).toMatch(/^msg_/);
    }
    expect(chats[0]?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 1200, 'gen_ai.usage.output_tokens': 80, 'gen_ai.response.finish_reasons': ['tool_call'] });
    expect(chats[1]?.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 1500, 'gen_ai.usage.output_tokens': 20, 'gen_ai.response.finish_reasons': ['stop'] });
    expect(chats[0]?.endNs).toBeLessThanOrEqual(chats[1]?.startNs ?? 0n);

    // Two tool calls under the turn, each with its approval; the command's sandbox run under its tool call.
    const read = one(spans, 'execute_tool read_file');
    const run = one(spans, 'execute_tool run_command');
    for (const [span, tool, callId] of [[read, 'read_file', callIds[0]], [run, 'run_command', callIds[1]]] as const) {
      expect(span.parentSpanId).toBe(root.spanId);
      expect(span.attributes).toMatchObject({
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': tool,
        'gen_ai.tool.call.id': callId,
        'gen_ai.tool.type': 'function',
        'gen_ai.conversation.id': conversationId,
        'sophia.tool.outcome': 'executed',
      });
      expect(span.statusCode).not.toBe(2);
    }
    const readApproval = one(spans, 'sophia.approval', (span) => span.parentSpanId === read.spanId);
    expect(readApproval.attributes).toMatchObject({ 'sophia.approval.decision': 'approved', 'sophia.approval.decided_by': 'policy', 'sophia.approval.risk': 'read-only' });
    const runApproval = one(spans, 'sophia.approval', (span) => span.parentSpanId === run.spanId);
    expect(runApproval.attributes).toMatchObject({ 'sophia.approval.decision': 'approved', 'sophia.approval.decided_by': 'user', 'sophia.approval.risk': 'medium' });
    expect(typeof runApproval.attributes['sophia.approval.wait_ms']).toBe('number');
    const sandboxRun = one(spans, 'sophia.sandbox.run', (span) => span.parentSpanId === run.spanId);
    expect(sandboxRun.attributes).toMatchObject({ 'sophia.sandbox.exit_code': 0, 'sophia.sandbox.timed_out': false, 'sophia.sandbox.stopped': false, 'sophia.sandbox.access': 'read-only' });
    expect(Number(sandboxRun.attributes['sophia.sandbox.duration_ms'])).toBeGreaterThan(0);
    // The sandbox run lies inside its tool call, after its approval.
    expect(sandboxRun.startNs).toBeGreaterThanOrEqual(runApproval.endNs);
    expect(sandboxRun.endNs).toBeLessThanOrEqual(run.endNs);
    // Nothing else in the trace: the turn, 2 model calls, 2 tool calls, 2 approvals, 1 sandbox run.
    expect(spans).toHaveLength(8);

    // Metrics: the latest export of each (cumulative), checked against the spans.
    await receiver.until(() => receiver.metrics.some((metric) => metric.name === 'sophia.approvals'), 'the approval metric');
    const latest = (name: string) => receiver.metrics.filter((metric) => metric.name === name).at(-1);
    const tokens = latest('gen_ai.client.token.usage');
    expect(tokens).toMatchObject({ kind: 'histogram', unit: '{token}' });
    const tokenSum = (type: string): number => (tokens?.points ?? []).filter((point) => point.attributes['gen_ai.token.type'] === type).reduce((sum, point) => sum + point.value, 0);
    expect(tokenSum('input')).toBe(2700);
    expect(tokenSum('output')).toBe(100);
    expect(tokens?.points.every((point) => point.attributes['gen_ai.provider.name'] === 'anthropic' && point.attributes['gen_ai.request.model'] === 'claude-sonnet-5-5')).toBe(true);
    const durations = latest('gen_ai.client.operation.duration');
    expect(durations).toMatchObject({ kind: 'histogram', unit: 's' });
    expect(durations?.points.reduce((sum, point) => sum + (point.count ?? 0), 0)).toBe(2);
    // 2,700 input and 100 output tokens at $2 and $10 per million.
    expect(latest('sophia.cost')?.points.reduce((sum, point) => sum + point.value, 0)).toBeCloseTo((2700 * 2 + 100 * 10) / 1_000_000, 9);
    const approvals = latest('sophia.approvals');
    expect(approvals?.kind).toBe('sum');
    const approvedBy = (by: string): number =>
      (approvals?.points ?? []).filter((point) => point.attributes['sophia.approval.decision'] === 'approved' && point.attributes['sophia.approval.decided_by'] === by).reduce((sum, point) => sum + point.value, 0);
    expect(approvedBy('policy')).toBe(1);
    expect(approvedBy('user')).toBe(1);

    // The headers from the keychain went with every request.
    expect(receiver.requests.every((request) => request.headers['x-otlp-key'] === headerValue)).toBe(true);
    expect(receiver.requests.every((request) => request.headers['content-type'] === 'application/x-protobuf')).toBe(true);

    // No content left: not the prompt, the arguments, the file, the answer, nor a keychain value, in any byte.
    const received = Buffer.concat(receiver.requests.map((request) => request.body));
    const m = markers('capture-off');
    for (const text of [m.prompt, 'PROMPT-capture-off', m.argument, m.file, m.answer, keychainCanary, headerValue, 'notes.txt', 'wc -l']) {
      expect(received.includes(Buffer.from(text)), text).toBe(false);
    }
    for (const span of spans) {
      for (const key of ['gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.system_instructions', 'gen_ai.tool.call.arguments', 'gen_ai.tool.call.result', 'sophia.sandbox.command']) {
        expect(span.attributes[key], `${span.name} ${key}`).toBeUndefined();
      }
    }
  }, turnTimeoutMs);

  it('with content capture on, sends the content with keychain values still cut', async () => {
    core.settings.update({ telemetry: { enabled: true, endpoint: receiver.url, captureContent: true } });
    const { conversationId } = await toolTurn('capture-on');
    const { root, spans } = await turnSpans(conversationId);
    const m = markers('capture-on');
    const chats = spans.filter((span) => span.name.startsWith('chat ')).sort((a, b) => Number(a.startNs - b.startNs));
    expect(String(root.attributes['gen_ai.input.messages'])).toContain('PROMPT-capture-on');
    expect(String(chats[0]?.attributes['gen_ai.input.messages'])).toContain('PROMPT-capture-on');
    expect(String(chats[0]?.attributes['gen_ai.system_instructions'])).toContain('"type":"text"');
    expect(JSON.parse(String(chats[0]?.attributes['gen_ai.output.messages']))).toMatchObject([
      { role: 'assistant', finish_reason: 'tool_call', parts: [{ type: 'text' }, { type: 'tool_call', name: 'read_file' }, { type: 'tool_call', name: 'run_command' }] },
    ]);
    expect(String(chats[1]?.attributes['gen_ai.input.messages'])).toContain(m.file);
    expect(String(chats[1]?.attributes['gen_ai.output.messages'])).toContain(m.answer);
    const run = one(spans, 'execute_tool run_command');
    expect(String(run.attributes['gen_ai.tool.call.arguments'])).toContain(m.argument);
    expect(String(run.attributes['gen_ai.tool.call.result'])).toContain(m.argument);
    expect(String(one(spans, 'execute_tool read_file').attributes['gen_ai.tool.call.result'])).toContain(m.file);
    expect(String(one(spans, 'sophia.sandbox.run').attributes['sophia.sandbox.command'])).toContain(m.argument);

    // The keychain value in the prompt went out cut, wherever the prompt went.
    const received = Buffer.concat(receiver.requests.map((request) => request.body));
    expect(received.includes(Buffer.from(keychainCanary))).toBe(false);
    expect(received.includes(Buffer.from(headerValue))).toBe(false);
    expect(String(root.attributes['gen_ai.input.messages'])).toContain('[redacted:github-token]');
  }, turnTimeoutMs);

  it('an endpoint that fails is counted and logged, and never breaks a turn', async () => {
    receiver.status = 400;
    const before = receiver.requests.length;
    await toolTurn('failing');
    await core.telemetry.flush().catch(() => undefined);
    await receiver.until(() => receiver.requests.length > before, 'a request to the failing endpoint');
    await expect.poll(() => core.telemetry.status().failures).toBeGreaterThan(0);
    expect(core.telemetry.status().lastFailure).toBeTruthy();
    receiver.status = 200;
  }, turnTimeoutMs);
});
