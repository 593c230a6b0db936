/**
 * A loopback OTLP/HTTP receiver: accepts `POST /v1/traces` and `/v1/metrics` as protobuf
 * (what @opentelemetry/exporter-*-otlp-proto send), keeps every byte it received, and
 * decodes each request with protobufjs against the OTLP messages' field numbers (the subset
 * of opentelemetry-proto's trace, metrics, common and resource messages these tests read).
 * Answers 200 with an empty ExportTrace/MetricsServiceResponse, or a status a test sets.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

const otlpSchema = `
syntax = "proto3";
package otlp;
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message Status { string message = 2; int32 code = 3; }
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  repeated Event events = 11;
  uint32 dropped_events_count = 12;
  uint32 dropped_links_count = 14;
  Status status = 15;
  fixed32 flags = 16;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message NumberDataPoint {
  repeated KeyValue attributes = 7;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  oneof value { double as_double = 4; sfixed64 as_int = 6; }
  uint32 flags = 8;
}
message HistogramDataPoint {
  repeated KeyValue attributes = 9;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
  optional double sum = 5;
  repeated fixed64 bucket_counts = 6;
  repeated double explicit_bounds = 7;
  uint32 flags = 10;
  optional double min = 11;
  optional double max = 12;
}
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message Metric {
  string name = 1;
  string description = 2;
  string unit = 3;
  oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; }
}
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
`;

const root = protobuf.parse(otlpSchema, { keepCase: true }).root;
const traceRequest = root.lookupType('otlp.ExportTraceServiceRequest');
const metricsRequest = root.lookupType('otlp.ExportMetricsServiceRequest');

export type AttributeValue = string | number | boolean | AttributeValue[] | undefined;

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly resource: Readonly<Record<string, AttributeValue>>;
}

export interface ReceivedPoint {
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** A sum's or gauge's value; a histogram's sum. */
  readonly value: number;
  /** A histogram's count. */
  readonly count?: number;
}

export interface ReceivedMetric {
  readonly name: string;
  readonly unit: string;
  readonly kind: 'sum' | 'gauge' | 'histogram';
  readonly points: readonly ReceivedPoint[];
}

export interface ReceivedRequest {
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

interface Decoded {
  [key: string]: unknown;
}

function hex(bytes: unknown): string {
  return bytes instanceof Uint8Array ? Buffer.from(bytes).toString('hex') : '';
}

function valueOf(any: Decoded | undefined): AttributeValue {
  if (!any) return undefined;
  if ('string_value' in any) return any['string_value'] as string;
  if ('bool_value' in any) return any['bool_value'] as boolean;
  if ('int_value' in any) return Number(any['int_value']);
  if ('double_value' in any) return any['double_value'] as number;
  if ('array_value' in any) return ((any['array_value'] as Decoded)['values'] as Decoded[] | undefined ?? []).map(valueOf);
  return undefined;
}

function attributesOf(list: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const pair of (list as Decoded[] | undefined) ?? []) out[pair['key'] as string] = valueOf(pair['value'] as Decoded | undefined);
  return out;
}

const toObject = { longs: String, bytes: Buffer, defaults: false, oneofs: false } as const;

export class OtlpReceiver {
  readonly requests: ReceivedRequest[] = [];
  readonly spans: ReceivedSpan[] = [];
  readonly metrics: ReceivedMetric[] = [];
  /** The status the next requests are answered with (a test makes the endpoint fail). */
  status = 200;
  #server: Server | undefined;
  #url = '';
  readonly #waiters = new Set<() => void>();

  get url(): string {
    return this.#url;
  }

  /** Every byte received, all requests together: what a test greps for content that must not leave. */
  allBytes(): Buffer {
    return Buffer.concat(this.requests.flatMap((request) => [Buffer.from(JSON.stringify(request.headers)), request.body]));
  }

  async start(): Promise<string> {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks);
        const path = request.url ?? '';
        this.requests.push({ path, headers: request.headers, body });
        try {
          if (request.method !== 'POST') throw new Error(`${request.method ?? '?'} ${path}`);
          if (path === '/v1/traces') this.#traces(body);
          else if (path === '/v1/metrics') this.#metrics(body);
          else throw new Error(`unknown path ${path}`);
        } catch (error) {
          response.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
          return;
        }
        response.writeHead(this.status, { 'content-type': 'application/x-protobuf' }).end(this.status === 200 ? Buffer.alloc(0) : undefined);
        for (const wake of [...this.#waiters]) wake();
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.#url;
  }

  /** Resolves once `ready()` holds (checked after each request), or rejects after `timeoutMs`. */
  async until(ready: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    if (ready()) return;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!ready()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`the OTLP receiver did not get ${what} in ${timeoutMs} ms (${this.spans.length} spans, ${this.metrics.length} metrics so far)`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #traces(body: Buffer): void {
    const decoded = traceRequest.toObject(traceRequest.decode(body), toObject) as Decoded;
    for (const resourceSpans of (decoded['resource_spans'] as Decoded[] | undefined) ?? []) {
      const resource = attributesOf((resourceSpans['resource'] as Decoded | undefined)?.['attributes']);
      for (const scopeSpans of (resourceSpans['scope_spans'] as Decoded[] | undefined) ?? []) {
        for (const span of (scopeSpans['spans'] as Decoded[] | undefined) ?? []) {
          this.spans.push({
            traceId: hex(span['trace_id']),
            spanId: hex(span['span_id']),
            parentSpanId: hex(span['parent_span_id']),
            name: span['name'] as string,
            kind: (span['kind'] as number | undefined) ?? 0,
            attributes: attributesOf(span['attributes']),
            statusCode: ((span['status'] as Decoded | undefined)?.['code'] as number | undefined) ?? 0,
            startNs: BigInt((span['start_time_unix_nano'] as string | undefined) ?? '0'),
            endNs: BigInt((span['end_time_unix_nano'] as string | undefined) ?? '0'),
            resource,
          });
        }
      }
    }
  }

  #metrics(body: Buffer): void {
    const decoded = metricsRequest.toObject(metricsRequest.decode(body), toObject) as Decoded;
    for (const resourceMetrics of (decoded['resource_metrics'] as Decoded[] | undefined) ?? []) {
      for (const scopeMetrics of (resourceMetrics['scope_metrics'] as Decoded[] | undefined) ?? []) {
        for (const metric of (scopeMetrics['metrics'] as Decoded[] | undefined) ?? []) {
          const kind = 'histogram' in metric ? 'histogram' : 'sum' in metric ? 'sum' : 'gauge';
          const data = metric[kind] as Decoded;
          const points = ((data['data_points'] as Decoded[] | undefined) ?? []).map((point): ReceivedPoint =>
            kind === 'histogram'
              ? { attributes: attributesOf(point['attributes']), value: Number(point['sum'] ?? 0), count: Number(point['count'] ?? 0) }
              : { attributes: attributesOf(point['attributes']), value: Number(point['as_double'] ?? point['as_int'] ?? 0) },
          );
          this.metrics.push({ name: metric['name'] as string, unit: (metric['unit'] as string | undefined) ?? '', kind, points });
        }
      }
    }
  }
}
