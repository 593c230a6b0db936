/**
 * The OpenTelemetry SDK behind Sophia's span recorder: a tracer provider with a batch
 * processor and a meter provider with a periodic reader, both exporting OTLP over HTTP
 * (protobuf) through the official exporters. Imported only when telemetry is on
 * (telemetry.ts loads this module on demand), so the SDK costs nothing when it is off.
 *
 * Metrics are derived from the spans as they end: a model call's duration, tokens and cost,
 * an approval's decision. Content attributes are recorded only with capture on, and every
 * string of them passes the keychain redactor first.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Counter, type Histogram, type Span } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { sophiaSpans, type OpenSpan, type SpanAttributes, type SpanRecorder, type SpanSpec } from '../core/spans';
import { genAi } from './genAi';

export interface PipelineOptions {
  /** The OTLP/HTTP base address (`http://collector:4318`); `/v1/traces` and `/v1/metrics` are added. */
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly version: string;
  /** Read at each span's start: content capture may be switched while a pipeline runs. */
  readonly captureContent: () => boolean;
  /** Cuts known secrets out of content before it is recorded. */
  readonly redact: (text: string) => string;
  /** Told of each failed export (the caller rate-limits what it logs). */
  readonly onExportFailure: (signal: 'traces' | 'metrics', error: unknown) => void;
  /** Told of each successful export. */
  readonly onExported: (signal: 'traces' | 'metrics', count: number) => void;
  /** How often metrics are pushed; 60 s by default. */
  readonly metricIntervalMs?: number;
}

export interface Pipeline {
  readonly recorder: SpanRecorder;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

interface Exporter<T> {
  export(items: T, done: (result: { code: number; error?: Error }) => void): void;
}

/** Reports every export's outcome without changing it. */
function watched<T, E extends Exporter<T>>(exporter: E, signal: 'traces' | 'metrics', count: (items: T) => number, options: PipelineOptions): E {
  const original = exporter.export.bind(exporter);
  exporter.export = (items, done) =>
    original(items, (result) => {
      try {
        if (result.code === 0) options.onExported(signal, count(items));
        else options.onExportFailure(signal, result.error);
      } finally {
        done(result);
      }
    });
  return exporter;
}

function attributesOf(attributes: SpanAttributes): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    out[key] = Array.isArray(value) ? [...(value as readonly string[])] : (value as string | number | boolean);
  }
  return out;
}

/** `error.type`: the provider's failure, Sophia's error code, or the error's class. */
export function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { failure, code, name } = error as { failure?: unknown; code?: unknown; name?: unknown };
    if (typeof failure === 'string') return failure;
    if (typeof code === 'string') return code;
    if (typeof name === 'string' && name) return name;
  }
  return '_OTHER';
}

/** What the chat and approval metrics count, kept on each span until it ends. */
interface Recorded extends OpenSpan {
  readonly otel: Span;
  readonly spec: SpanSpec;
  readonly attributes: Record<string, SpanAttributes[string]>;
  /** The turn this span belongs to (itself for a turn): model usage adds up there. */
  readonly turn: Recorded | undefined;
  readonly totals: { input: number; output: number; cost: number };
}

export function createPipeline(options: PipelineOptions): Pipeline {
  const base = options.endpoint.replace(/\/+$/, '');
  const resource = resourceFromAttributes({ 'service.name': 'sophia', 'service.version': options.version });
  const traceExporter = watched(new OTLPTraceExporter({ url: `${base}/v1/traces`, headers: { ...options.headers }, timeoutMillis: 10_000 }), 'traces', (spans: ReadableSpan[]) => spans.length, options);
  const tracerProvider = new TracerProvider({ resource, spanProcessors: [new BatchSpanProcessor({ exporter: traceExporter, scheduledDelayMillis: 2000 })] });
  const metricExporter = watched(
    new OTLPMetricExporter({ url: `${base}/v1/metrics`, headers: { ...options.headers }, timeoutMillis: 10_000 }),
    'metrics',
    (batch: ResourceMetrics) => batch.scopeMetrics.reduce((sum, scope) => sum + scope.metrics.length, 0),
    options,
  );
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: options.metricIntervalMs ?? 60_000, exportTimeoutMillis: 10_000 });
  const meterProvider = new MeterProvider({ resource, readers: [reader] });
  const tracer = tracerProvider.getTracer('sophia', options.version);
  const meter = meterProvider.getMeter('sophia', options.version);
  const tokenUsage: Histogram = meter.createHistogram('gen_ai.client.token.usage', {
    description: 'Number of input and output tokens used.',
    unit: '{token}',
    advice: { explicitBucketBoundaries: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] },
  });
  const duration: Histogram = meter.createHistogram('gen_ai.client.operation.duration', {
    description: 'GenAI operation duration.',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] },
  });
  const cost: Counter = meter.createCounter('sophia.cost', { description: 'What the model calls cost, by the price table.', unit: 'USD' });
  const approvals: Counter = meter.createCounter('sophia.approvals', { description: 'Tool calls decided by the approval gate, by decision.', unit: '{decision}' });
  const approvalWait: Histogram = meter.createHistogram('sophia.approval.wait', { description: 'How long a decision took (a person answering, when one was asked).', unit: 's' });

  const metricsAt = (span: Recorded, seconds: number, error: unknown): void => {
    const a = span.attributes;
    if (a[genAi.operation] === 'chat') {
      const common: Attributes = {
        [genAi.operation]: 'chat',
        ...attributesOf({ [genAi.provider]: a[genAi.provider], [genAi.requestModel]: a[genAi.requestModel], [genAi.responseModel]: a[genAi.responseModel] }),
      };
      duration.record(seconds, error === undefined ? common : { ...common, [genAi.errorType]: errorType(error) });
      const input = Number(a[genAi.inputTokens] ?? 0);
      const output = Number(a[genAi.outputTokens] ?? 0);
      if (a[genAi.inputTokens] !== undefined) tokenUsage.record(input, { ...common, 'gen_ai.token.type': 'input' });
      if (a[genAi.outputTokens] !== undefined) tokenUsage.record(output, { ...common, 'gen_ai.token.type': 'output' });
      const usd = Number(a[genAi.costUsd] ?? 0);
      if (usd > 0) cost.add(usd, common);
      if (span.turn) {
        span.turn.totals.input += input;
        span.turn.totals.output += output;
        span.turn.totals.cost += usd;
      }
    } else if (span.spec.name === sophiaSpans.approval) {
      const labels = attributesOf({
        'sophia.approval.decision': a['sophia.approval.decision'],
        'sophia.approval.risk': a['sophia.approval.risk'],
        'sophia.approval.decided_by': a['sophia.approval.decided_by'],
      });
      approvals.add(1, labels);
      approvalWait.record(seconds, labels);
    }
  };

  const recorder: SpanRecorder = {
    start(spec, parent) {
      const parentRecorded = parent as Recorded | undefined;
      const isTurn = spec.attributes[genAi.operation] === 'invoke_agent';
      // A model call or tool call carries its turn's conversation id.
      const inherited = parentRecorded?.attributes[genAi.conversation];
      const attributes: Record<string, SpanAttributes[string]> = {
        ...(inherited !== undefined && spec.attributes[genAi.operation] !== undefined ? { [genAi.conversation]: inherited } : {}),
        ...spec.attributes,
      };
      const context = parentRecorded ? trace.setSpan(ROOT_CONTEXT, parentRecorded.otel) : ROOT_CONTEXT;
      const otel = tracer.startSpan(spec.name, { kind: spec.kind === 'client' ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes: attributesOf(attributes) }, context);
      const captureContent = options.captureContent();
      const started = performance.now();
      let ended = false;
      const span: Recorded = {
        otel,
        spec,
        attributes,
        turn: undefined,
        totals: { input: 0, output: 0, cost: 0 },
        captureContent,
        set(more) {
          Object.assign(attributes, more);
          otel.setAttributes(attributesOf(more));
        },
        content(build) {
          if (!captureContent) return;
          const built = build();
          const redacted: Record<string, SpanAttributes[string]> = {};
          for (const [key, value] of Object.entries(built)) {
            redacted[key] = typeof value === 'string' ? options.redact(value) : Array.isArray(value) ? (value as readonly string[]).map((item) => options.redact(item)) : value;
          }
          otel.setAttributes(attributesOf(redacted));
        },
        end(error) {
          if (ended) return;
          ended = true;
          if (isTurn) {
            otel.setAttributes({ [genAi.inputTokens]: span.totals.input, [genAi.outputTokens]: span.totals.output, [genAi.costUsd]: span.totals.cost });
          }
          if (error !== undefined) {
            const type = errorType(error);
            attributes[genAi.errorType] = type;
            otel.setAttribute(genAi.errorType, type);
            otel.setStatus({ code: SpanStatusCode.ERROR, message: type });
          } else if (attributes[genAi.errorType] !== undefined) {
            otel.setStatus({ code: SpanStatusCode.ERROR, message: String(attributes[genAi.errorType]) });
          }
          try {
            metricsAt(span, (performance.now() - started) / 1000, error);
          } finally {
            otel.end();
          }
        },
      };
      (span as { turn: Recorded | undefined }).turn = isTurn ? span : parentRecorded?.turn;
      return span;
    },
  };

  return {
    recorder,
    flush: async () => {
      await tracerProvider.forceFlush();
      await meterProvider.forceFlush();
    },
    shutdown: async () => {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
