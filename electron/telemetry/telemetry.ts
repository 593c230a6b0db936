/**
 * OpenTelemetry for Sophia, off by default. When Settings → Telemetry has it on, each agent
 * turn is an `invoke_agent Sophia` span, with its model calls (`chat {model}`), tool calls
 * (`execute_tool {tool}`), approvals and sandbox runs below it, and metrics for tokens,
 * durations, cost and approvals; all go over OTLP/HTTP (protobuf) to the endpoint set there,
 * with the headers kept in the keychain (`otlp-headers`, `Name=value,Name2=value2` as in
 * OTEL_EXPORTER_OTLP_HEADERS). No prompt, completion, tool argument or result, file content
 * or secret is recorded unless content capture is on, and then keychain values are cut.
 *
 * The SDK is imported the first time a turn starts with telemetry on (never when it is
 * off), and rebuilt when the endpoint or headers change. An export that fails is logged (at
 * most once a minute) and never fails a turn; the last batch is flushed on close.
 */
import type { TelemetrySettings, TelemetryStatus } from '../../shared/contract';
import { onDemand } from '../core/onDemand';
import { inSpan } from '../core/spans';
import type { SecretReader } from '../keychain/secretReader';
import type { SecretRedactor } from '../keychain/redactor';
import { createLogger } from '../log';
import type { ModelProvider } from '../models/modelProvider';
import { agentName, genAi, providerName, tracedProvider } from './genAi';
import type { Pipeline } from './otelPipeline';

const log = createLogger('telemetry');

/** The OpenTelemetry SDK and exporters, loaded on the first turn with telemetry on. */
const otelPipeline = onDemand('@opentelemetry/sdk', () => import('./otelPipeline'));

export interface TelemetryOptions {
  readonly settings: () => TelemetrySettings;
  readonly secrets: SecretReader;
  /** Known secrets are cut from captured content; the headers' values are added to it. */
  readonly redactor: SecretRedactor;
  readonly version: string;
  /** What the turn span says about the model before the first call resolves it. */
  readonly model: () => { readonly provider: Parameters<typeof providerName>[0]; readonly name: string };
  /** How often metrics are pushed (tests make it short). */
  readonly metricIntervalMs?: number;
}

/** What a turn's span starts with. */
export interface TurnInfo {
  readonly conversationId: string;
  /** The person's message: recorded only with content capture on. */
  readonly userText: string;
}

/** `Name=value,Name2=value2` (OTEL_EXPORTER_OTLP_HEADERS' form, values percent-decoded). */
export function parseHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const name = pair.slice(0, at).trim();
    let value = pair.slice(at + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // Not percent-encoded: used as it is.
    }
    if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) && value) headers[name] = value;
  }
  return headers;
}

const failureLogEveryMs = 60_000;

export class Telemetry {
  #pipeline: { key: string; pipeline: Pipeline } | undefined;
  #building: Promise<Pipeline | undefined> | undefined;
  #lastFailureLog = 0;
  #suppressed = 0;
  #status: { exportedSpans: number; exportedMetricBatches: number; failures: number; lastFailure?: string; lastFailureAt?: number } = {
    exportedSpans: 0,
    exportedMetricBatches: 0,
    failures: 0,
  };
  #closed = false;

  constructor(private readonly options: TelemetryOptions) {}

  /** Wraps the model provider: each call is a `chat` span inside the turn (nothing outside one). */
  wrapProvider(provider: ModelProvider): ModelProvider {
    return tracedProvider(provider);
  }

  /**
   * Runs one agent turn inside its `invoke_agent` span. With telemetry off (or its pipeline
   * failing to start) the turn just runs: telemetry never holds a turn back or fails it.
   */
  async turn<T>(info: TurnInfo, work: () => Promise<T>): Promise<T> {
    let pipeline: Pipeline | undefined;
    try {
      pipeline = await this.#current();
    } catch (error) {
      log.warn('telemetry could not start; this turn is not traced', { error });
    }
    if (!pipeline) return work();
    const model = this.options.model();
    return inSpan(
      {
        name: `invoke_agent ${agentName}`,
        kind: 'internal',
        attributes: {
          [genAi.operation]: 'invoke_agent',
          [genAi.agentName]: agentName,
          [genAi.conversation]: info.conversationId,
          [genAi.provider]: providerName(model.provider),
          [genAi.requestModel]: model.name,
        },
      },
      async (span) => {
        span.content(() => ({ [genAi.inputMessages]: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: info.userText }] }]) }));
        return work();
      },
      pipeline.recorder,
    );
  }

  status(): TelemetryStatus {
    const settings = this.options.settings();
    return {
      enabled: settings.enabled && settings.endpoint !== '',
      loaded: this.#pipeline !== undefined,
      ...this.#status,
    };
  }

  /** Sends what is buffered now (tests; Settings' "send now"). */
  async flush(): Promise<void> {
    await this.#pipeline?.pipeline.flush();
  }

  /** Flushes and stops the exporters (the app is closing). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#building?.catch(() => undefined);
    const running = this.#pipeline;
    this.#pipeline = undefined;
    await running?.pipeline.shutdown();
  }

  /** The pipeline the settings ask for now: built, rebuilt or shut down to match them. */
  async #current(): Promise<Pipeline | undefined> {
    if (this.#building) await this.#building.catch(() => undefined);
    const settings = this.options.settings();
    const on = settings.enabled && settings.endpoint !== '' && !this.#closed;
    if (!on) {
      if (this.#pipeline) await this.#replace(undefined);
      return undefined;
    }
    const headersText = await this.options.secrets.get('otlp-headers');
    const headers = parseHeaders(headersText);
    // Header values (an API key) are secrets as well: cut wherever they might appear.
    for (const value of Object.values(headers)) this.options.redactor.add('otlp-headers', value);
    const key = JSON.stringify([settings.endpoint, headers]);
    if (this.#pipeline?.key === key) return this.#pipeline.pipeline;
    const building = (async () => {
      const { createPipeline } = await otelPipeline();
      const pipeline = createPipeline({
        endpoint: settings.endpoint,
        headers,
        version: this.options.version,
        captureContent: () => this.options.settings().captureContent,
        redact: (text) => this.options.redactor.redact(text),
        onExportFailure: (signal, error) => this.#failed(signal, error),
        onExported: (signal, count) => {
          if (signal === 'traces') this.#status.exportedSpans += count;
          else this.#status.exportedMetricBatches += 1;
        },
        ...(this.options.metricIntervalMs ? { metricIntervalMs: this.options.metricIntervalMs } : {}),
      });
      await this.#replace({ key, pipeline });
      log.info('telemetry on', { endpoint: settings.endpoint, headers: Object.keys(headers), captureContent: settings.captureContent });
      return pipeline;
    })();
    this.#building = building;
    try {
      return await building;
    } finally {
      if (this.#building === building) this.#building = undefined;
    }
  }

  async #replace(next: { key: string; pipeline: Pipeline } | undefined): Promise<void> {
    const previous = this.#pipeline;
    this.#pipeline = next;
    if (previous) {
      await previous.pipeline.shutdown().catch((error: unknown) => log.warn('the previous telemetry exporter did not shut down cleanly', { error }));
      if (!next) log.info('telemetry off');
    }
  }

  #failed(signal: 'traces' | 'metrics', error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.#status.failures += 1;
    this.#status.lastFailure = `${signal}: ${this.options.redactor.redact(message).slice(0, 300)}`;
    this.#status.lastFailureAt = Date.now();
    const now = Date.now();
    if (now - this.#lastFailureLog < failureLogEveryMs) {
      this.#suppressed += 1;
      return;
    }
    this.#lastFailureLog = now;
    log.warn('telemetry export failed', { signal, error: this.#status.lastFailure, suppressedSinceLast: this.#suppressed });
    this.#suppressed = 0;
  }
}
