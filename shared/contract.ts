/**
 * The one contract between the main process and the renderer. Every request channel
 * with its input and output schema, and every event the main process pushes. The main
 * process validates every input against it; the preload and the browser host derive
 * their facades from it. A channel name is written here and nowhere else.
 */
import { z } from 'zod';
import type { Result } from './errors';

/** Bounds that keep a hostile payload from costing memory or time. */
export const limits = {
  id: 64,
  messageText: 100_000,
  label: 200,
  outputChunk: 64 * 1024,
} as const;

const id = z.string().min(1).max(limits.id).regex(/^[A-Za-z0-9_-]+$/, 'ids are letters, digits, _ and -');
const label = z.string().max(limits.label);
const timestamp = z.number().int().nonnegative();
const empty = z.object({}).strict();

export const riskLevels = ['read-only', 'low', 'medium', 'high', 'critical'] as const;
export const riskLevel = z.enum(riskLevels);
export type RiskLevel = z.infer<typeof riskLevel>;

export const chatRole = z.enum(['user', 'assistant', 'system']);

export const chatMessage = z.object({
  id,
  conversationId: id,
  role: chatRole,
  text: z.string().max(limits.messageText),
  createdAt: timestamp,
});
export type ChatMessage = z.infer<typeof chatMessage>;

export const stoppedItem = z.object({
  kind: z.enum(['model-stream', 'approval', 'container', 'deployment', 'ddl', 'task']),
  id: label,
  label,
  outcome: z.enum(['stopped', 'already-ended', 'stuck']),
});
export type StoppedItem = z.infer<typeof stoppedItem>;

export const stopReport = z.object({
  at: timestamp,
  stopped: z.array(stoppedItem),
});
export type StopReport = z.infer<typeof stopReport>;

export const appStatus = z.object({
  version: label,
  host: z.enum(['electron', 'browser']),
  platform: label,
  locked: z.boolean(),
  model: z.object({ provider: z.enum(['none', 'anthropic', 'ollama']), name: label, offline: z.boolean() }),
});
export type AppStatus = z.infer<typeof appStatus>;

/** Request channels: `name -> { input, output }`. */
export const requests = {
  'app.status': { input: empty, output: appStatus },
  'chat.send': {
    input: z.object({ conversationId: id.optional(), text: z.string().trim().min(1).max(limits.messageText) }).strict(),
    output: z.object({ conversationId: id, messageId: id }),
  },
  'chat.history': {
    input: z.object({ conversationId: id }).strict(),
    output: z.object({ messages: z.array(chatMessage) }),
  },
  'stop.all': { input: empty, output: stopReport },
  'stop.resume': { input: empty, output: z.object({ locked: z.literal(false) }) },
} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

export type Channel = keyof typeof requests;
export type RequestInput<C extends Channel> = z.input<(typeof requests)[C]['input']>;
export type RequestOutput<C extends Channel> = z.output<(typeof requests)[C]['output']>;
export const channels = Object.keys(requests) as Channel[];

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && Object.hasOwn(requests, value);
}

/** Events the main process pushes. A discriminated union on `type`. */
export const sophiaEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('chat.message'), message: chatMessage }),
  z.object({
    type: z.literal('model.token'),
    conversationId: id,
    messageId: id,
    delta: z.string().max(limits.outputChunk),
  }),
  z.object({
    type: z.literal('tool.call'),
    conversationId: id,
    callId: id,
    tool: label,
    args: z.unknown(),
    risk: riskLevel,
  }),
  z.object({
    type: z.literal('tool.result'),
    conversationId: id,
    callId: id,
    ok: z.boolean(),
    output: z.string().max(limits.outputChunk),
  }),
  z.object({
    type: z.literal('approval.request'),
    approvalId: id,
    conversationId: id,
    operation: label,
    risk: riskLevel,
    reasons: z.array(label),
    preview: z.string().max(limits.messageText),
  }),
  z.object({
    type: z.literal('container.output'),
    taskId: id,
    stream: z.enum(['stdout', 'stderr']),
    chunk: z.string().max(limits.outputChunk),
  }),
  z.object({
    type: z.literal('deployment.event'),
    deploymentId: id,
    phase: z.enum(['preview', 'update', 'destroy', 'rollback']),
    status: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
    message: z.string().max(limits.outputChunk),
  }),
  z.object({ type: z.literal('stop'), report: stopReport }),
  z.object({ type: z.literal('status'), status: appStatus }),
]);
export type SophiaEvent = z.infer<typeof sophiaEvent>;
export type SophiaEventType = SophiaEvent['type'];

/**
 * What the renderer sees, whichever transport carries it: the Electron preload or the
 * browser host's WebSocket.
 */
export interface SophiaApi {
  request<C extends Channel>(channel: C, input: RequestInput<C>): Promise<Result<RequestOutput<C>>>;
  onEvent(listener: (event: SophiaEvent) => void): () => void;
}

/** The two Electron IPC channels that carry the contract. */
export const ipcChannels = { request: 'sophia:request', event: 'sophia:event' } as const;
