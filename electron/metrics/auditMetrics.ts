/**
 * The metrics, computed from the audit log alone, one entry at a time in the log's order
 * (so a log of any length is read in pages and never held whole). Each figure counts
 * entries of one kind only, so nothing is counted twice:
 *
 * - proposals: `approval`/`refusal` entries whose `card` (written by the approval gate when
 *   it put the call to the person) showed a diff, by the person's answer;
 * - test runs: `tool.call` entries of `run_command` that ran (`ok` true: exit 0);
 * - deployments: the outcome entry of each deployment that an approved plan started
 *   (`infrastructure` entries with `planId` and `deploymentId`), and succeeded rollbacks;
 * - troubleshooting: `request` entries of the agent with intent `troubleshoot`, each until
 *   an edit approved on a card ran and then a `run_command` in that conversation passed;
 * - approval waits: the `card.waitedMs` of every card answered;
 * - usage: `model.call` entries (tokens, and the cost priced when the call ended).
 *
 * Which model and workspace an entry belongs to: its own fields where it has them (a model
 * call's model, the workspace recorded on model calls, requests and deployment events), else
 * those of its conversation as the log last recorded them before it.
 */
import type { AuditKind } from '../../shared/contract';
import type { AuditPageRow } from '../audit/auditLog';
import { unknownGroup, type DurationStats, type MetricsFigures, type MetricsGrouping, type MetricsReport } from '../../shared/metrics';

/** What an entry needs to be counted: a page row of the audit log, `data` still as its JSON text. */
export type MetricsEntry = AuditPageRow;

export interface MetricsOptions {
  readonly groupBy: MetricsGrouping;
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  /** IANA zone the days are cut in; UTC when absent. */
  readonly timeZone?: string | undefined;
}

/** Only these kinds carry a figure: the others are skipped without parsing their data. */
const countedKinds: ReadonlySet<AuditKind> = new Set<AuditKind>(['request', 'model.call', 'tool.call', 'approval', 'refusal', 'infrastructure']);
const answered = new Set(['approve', 'approve-for-session', 'modify', 'cancel']);
const ended = new Set(['succeeded', 'failed', 'cancelled']);

interface Conversation {
  workspace: string | null;
  model: string | null;
  /** Calls whose diff card the person approved (or approved with changes), not yet seen to run. */
  readonly approvedEdits: Set<string>;
  /** The open troubleshooting request, if any. */
  trouble: { readonly at: number; readonly inRange: boolean; readonly day: string; editRan: boolean } | undefined;
}

class Figures {
  approved = 0;
  modified = 0;
  rejected = 0;
  passed = 0;
  failed = 0;
  deploySucceeded = 0;
  deployFailed = 0;
  deployCancelled = 0;
  rolledBack = 0;
  troubleRequests = 0;
  readonly timeToFix: number[] = [];
  readonly waits: number[] = [];
  unanswered = 0;
  calls = 0;
  inputTokens = 0;
  outputTokens = 0;
  cacheReadTokens = 0;
  cacheWriteTokens = 0;
  costUsd = 0;
  unpricedCalls = 0;

  view(): MetricsFigures {
    return {
      proposals: { approved: this.approved, modified: this.modified, rejected: this.rejected },
      testRuns: { passed: this.passed, failed: this.failed },
      deployments: { succeeded: this.deploySucceeded, failed: this.deployFailed, cancelled: this.deployCancelled, rolledBack: this.rolledBack },
      troubleshooting: { requests: this.troubleRequests, fixed: this.timeToFix.length, timeToFix: stats(this.timeToFix) },
      approvalWait: { ...stats(this.waits), unanswered: this.unanswered },
      usage: {
        calls: this.calls,
        inputTokens: this.inputTokens,
        outputTokens: this.outputTokens,
        cacheReadTokens: this.cacheReadTokens,
        cacheWriteTokens: this.cacheWriteTokens,
        // Summed in floating point; rounded to a millionth of a dollar so the sum does not show its noise.
        costUsd: Math.round(this.costUsd * 1e6) / 1e6,
        unpricedCalls: this.unpricedCalls,
      },
    };
  }
}

export function stats(values: readonly number[]): DurationStats {
  if (values.length === 0) return { count: 0, meanMs: null, medianMs: null, p95Ms: null, maxMs: null };
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const middle = Math.floor(n / 2);
  const median = n % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return {
    count: n,
    meanMs: sorted.reduce((sum, value) => sum + value, 0) / n,
    medianMs: median,
    // Nearest rank: the smallest value at or above 95 % of them.
    p95Ms: sorted[Math.ceil(0.95 * n) - 1]!,
    maxMs: sorted[n - 1]!,
  };
}

/** Cuts epoch ms into calendar days of one time zone; cached per quarter hour (every zone's offset is a multiple of it). */
export function dayCutter(timeZone: string): (at: number) => string {
  const format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const cache = new Map<number, string>();
  return (at) => {
    const bucket = Math.floor(at / 900_000);
    let day = cache.get(bucket);
    if (day === undefined) {
      const parts = format.formatToParts(at);
      const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '00';
      day = `${part('year')}-${part('month')}-${part('day')}`;
      if (cache.size > 50_000) cache.clear();
      cache.set(bucket, day);
    }
    return day;
  };
}

/** A time zone Intl knows, or an error that says which one it did not. */
export function checkedTimeZone(timeZone: string | undefined): string {
  const zone = timeZone ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
  } catch {
    throw new RangeError(`Unknown time zone "${zone.slice(0, 64)}": use an IANA name such as Europe/Paris, or leave it out for UTC.`);
  }
  return zone;
}

function parse(data: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(data);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    // A clipped or hand-edited entry counts for nothing rather than for a guess.
    return {};
  }
}

/**
 * The leading fields of a gate decision whose data was clipped (an edit larger than an entry
 * holds): the gate writes the card, tool, call and verdict first, so they are read as written.
 */
const clippedDecision = /^\{"card":(\{"answer":"[a-z-]{1,40}","waitedMs":\d{1,15}(?:\.\d+)?,"diff":(?:true|false)\}),"tool":("(?:[^"\\]|\\.){0,200}"),"callId":("(?:[^"\\]|\\.){0,200}"),"allowed":(true|false),/;

function decisionData(data: string): Record<string, unknown> {
  const parsed = parse(data);
  if (Object.keys(parsed).length > 0) return parsed;
  const lead = clippedDecision.exec(data);
  if (!lead) return {};
  try {
    return { card: JSON.parse(lead[1]!) as unknown, tool: JSON.parse(lead[2]!) as unknown, callId: JSON.parse(lead[3]!) as unknown, allowed: lead[4] === 'true' };
  } catch {
    return {};
  }
}

const text = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);
const amount = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0);

/** Adds entries in the log's order (`add`), then gives the report (`report`). */
export class MetricsAccumulator {
  readonly #options: MetricsOptions;
  readonly #timeZone: string;
  readonly #day: (at: number) => string;
  readonly #conversations = new Map<string, Conversation>();
  readonly #groups = new Map<string, Figures>();
  readonly #totals = new Figures();
  /** Deployments an approved plan started whose outcome is not yet seen. */
  readonly #started = new Set<string>();
  readonly #rolledBack = new Set<string>();
  #read = 0;
  #lastSeq = 0;
  #report: MetricsReport | undefined;

  constructor(options: MetricsOptions) {
    this.#options = options;
    this.#timeZone = checkedTimeZone(options.timeZone);
    this.#day = dayCutter(this.#timeZone);
  }

  #inRange(at: number): boolean {
    return (this.#options.from === undefined || at >= this.#options.from) && (this.#options.to === undefined || at < this.#options.to);
  }

  #conversation(id: string | null): Conversation | undefined {
    if (id === null) return undefined;
    let found = this.#conversations.get(id);
    if (!found) {
      found = { workspace: null, model: null, approvedEdits: new Set(), trouble: undefined };
      this.#conversations.set(id, found);
    }
    return found;
  }

  /** Adds to the group of the entry and to the totals. */
  #count(key: string, add: (figures: Figures) => void): void {
    let group = this.#groups.get(key);
    if (!group) {
      group = new Figures();
      this.#groups.set(key, group);
    }
    add(group);
    add(this.#totals);
  }

  #key(at: number, model: string | null, workspace: string | null): string {
    switch (this.#options.groupBy) {
      case 'day':
        return this.#day(at);
      case 'model':
        return model ?? unknownGroup;
      case 'workspace':
        return workspace ?? unknownGroup;
    }
  }

  add(entry: MetricsEntry): void {
    this.#read += 1;
    this.#lastSeq = entry.seq;
    if (!countedKinds.has(entry.kind)) return;
    if (entry.kind === 'request' && entry.actor !== 'agent') return;
    const data = entry.kind === 'approval' || entry.kind === 'refusal' ? decisionData(entry.data) : parse(entry.data);
    const conversation = this.#conversation(entry.conversationId);
    const workspace = text(data['workspace']) ?? conversation?.workspace ?? null;
    const inRange = this.#inRange(entry.at);
    switch (entry.kind) {
      case 'request': {
        const intent = text(data['intent']);
        if (intent === null || !conversation) return;
        conversation.workspace = text(data['workspace']);
        if (intent === 'troubleshoot' && conversation.trouble === undefined) {
          conversation.trouble = { at: entry.at, inRange, day: this.#day(entry.at), editRan: false };
        }
        return;
      }
      case 'model.call': {
        const model = text(data['model']);
        if (conversation && model !== null) conversation.model = model;
        if (!inRange) return;
        const cost = data['costUsd'];
        this.#count(this.#key(entry.at, model, workspace), (f) => {
          f.calls += 1;
          f.inputTokens += amount(data['inputTokens']);
          f.outputTokens += amount(data['outputTokens']);
          f.cacheReadTokens += amount(data['cacheReadTokens']);
          f.cacheWriteTokens += amount(data['cacheWriteTokens']);
          if (typeof cost === 'number' && Number.isFinite(cost) && cost >= 0) f.costUsd += cost;
          else f.unpricedCalls += 1;
        });
        return;
      }
      case 'approval':
      case 'refusal': {
        const card = data['card'];
        if (card === null || typeof card !== 'object') return;
        const { answer, waitedMs, diff } = card as { answer?: unknown; waitedMs?: unknown; diff?: unknown };
        if (typeof answer !== 'string') return;
        const isAnswer = answered.has(answer);
        if (diff === true && (answer === 'approve' || answer === 'approve-for-session' || answer === 'modify') && data['allowed'] === true && conversation) {
          const callId = text(data['callId']);
          if (callId !== null) conversation.approvedEdits.add(callId);
        }
        if (!inRange) return;
        this.#count(this.#key(entry.at, conversation?.model ?? null, workspace), (f) => {
          if (isAnswer && typeof waitedMs === 'number' && Number.isFinite(waitedMs) && waitedMs >= 0) f.waits.push(waitedMs);
          else if (!isAnswer) f.unanswered += 1;
          if (diff !== true || !isAnswer) return;
          if (answer === 'modify') f.modified += 1;
          else if (answer === 'cancel') f.rejected += 1;
          else f.approved += 1;
        });
        return;
      }
      case 'tool.call': {
        const ok = data['ok'];
        // Only calls that ran carry `ok`: refused and invalid ones never reached the sandbox.
        if (typeof ok !== 'boolean') return;
        const tool = text(data['tool']);
        const callId = text(data['callId']);
        if (conversation && callId !== null && conversation.approvedEdits.delete(callId) && ok && conversation.trouble) conversation.trouble.editRan = true;
        if (tool !== 'run_command') return;
        if (inRange) {
          this.#count(this.#key(entry.at, conversation?.model ?? null, workspace), (f) => {
            if (ok) f.passed += 1;
            else f.failed += 1;
          });
        }
        const trouble = conversation?.trouble;
        if (ok && conversation && trouble?.editRan) {
          conversation.trouble = undefined;
          if (trouble.inRange) this.#countTrouble(trouble, conversation, entry.at - trouble.at);
        }
        return;
      }
      case 'infrastructure': {
        const deploymentId = text(data['deploymentId']);
        if (deploymentId === null) return;
        if (text(data['planId']) !== null) {
          this.#started.add(deploymentId);
          return;
        }
        const status = text(data['status']);
        if (status === null || !ended.has(status)) return;
        const key = () => this.#key(entry.at, conversation?.model ?? null, workspace);
        if (data['phase'] === 'rollback') {
          if (status !== 'succeeded' || this.#rolledBack.has(deploymentId)) return;
          this.#rolledBack.add(deploymentId);
          if (inRange) this.#count(key(), (f) => (f.rolledBack += 1));
          return;
        }
        if (!this.#started.delete(deploymentId) || !inRange) return;
        this.#count(key(), (f) => {
          if (status === 'succeeded') f.deploySucceeded += 1;
          else if (status === 'failed') f.deployFailed += 1;
          else f.deployCancelled += 1;
        });
        return;
      }
      default:
        return;
    }
  }

  /** A troubleshooting request counts in the group of its day, or of the model and workspace its conversation had when it was fixed or the log ended. */
  #countTrouble(trouble: NonNullable<Conversation['trouble']>, conversation: Conversation, fixedAfterMs?: number): void {
    const key = this.#options.groupBy === 'day' ? trouble.day : this.#key(trouble.at, conversation.model, conversation.workspace);
    this.#count(key, (f) => {
      f.troubleRequests += 1;
      if (fixedAfterMs !== undefined) f.timeToFix.push(Math.max(0, fixedAfterMs));
    });
  }

  /** The figures once every entry is added; asked again, the same report. */
  report(): MetricsReport {
    if (this.#report) return this.#report;
    // Requests not (yet) fixed still count as requests.
    for (const conversation of this.#conversations.values()) {
      if (conversation.trouble?.inRange) this.#countTrouble(conversation.trouble, conversation);
      conversation.trouble = undefined;
    }
    const groups = [...this.#groups.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, 10_000)
      .map(([key, figures]) => ({ key: key.slice(0, 4096), figures: figures.view() }));
    this.#report = {
      groupBy: this.#options.groupBy,
      timeZone: this.#timeZone,
      from: this.#options.from ?? null,
      to: this.#options.to ?? null,
      entriesRead: this.#read,
      lastSeq: this.#lastSeq,
      groups,
      totals: this.#totals.view(),
    };
    return this.#report;
  }
}
