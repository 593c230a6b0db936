/**
 * A local Docker container's logs, through dockerode (Docker's logs endpoint with since, until,
 * tail and timestamps, read as a stream; see `logStream`). The window is Docker's own (each line's log time); the filter and
 * the tail are applied here, on the stream, keeping only the last `tail` matches. Docker
 * applies its `tail` before `since`/`until`, so it is used alone only without a filter and
 * an end time; otherwise the log is scanned back at most `dockerScanLines` lines.
 */
import type Docker from 'dockerode';
import { SophiaError } from '../../shared/errors';
import { describeDockerError, statusCodeOf, withTimeout } from '../sandbox/dockerClient';
import { DockerFrameParser } from '../sandbox/dockerStream';
import { ForwardScan, LogQueryError, logReadLimits, type LogQuery, type LogReadResult } from './logQuery';

const dockerTimeoutMs = 30_000;

/** What Settings checks on save: the container exists (by name or id). A refusal names the field. */
export async function checkContainer(docker: Docker, container: string): Promise<void> {
  try {
    await withTimeout(docker.getContainer(container).inspect(), 10_000, 'Asking Docker about the container');
  } catch (error) {
    if (statusCodeOf(error) === 404) {
      throw new SophiaError('bad_request', `Docker has no container named ${container}. Check the name with \`docker ps -a\`.`, { field: 'container' });
    }
    throw new SophiaError('unavailable', describeDockerError(error), { field: 'container' });
  }
}

/**
 * `GET /containers/{id}/logs` as a stream without following: dockerode's `logs` streams only
 * when it follows (and a followed running container never ends), and buffers the whole answer
 * otherwise. The same request through its modem, read as it arrives, in bounded memory.
 */
function logStream(container: Docker.Container, options: Record<string, unknown>, signal: AbortSignal): Promise<NodeJS.ReadableStream> {
  const { modem } = container as unknown as { modem: { dial(request: object, done: (error: unknown, data: unknown) => void): void } };
  return new Promise((resolve, reject) => {
    modem.dial(
      {
        path: `/containers/${container.id}/logs?`,
        method: 'GET',
        abortSignal: signal,
        isStream: true,
        statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        options,
      },
      (error, data) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(data as NodeJS.ReadableStream)),
    );
  });
}

/** Docker's form of a moment: seconds since the epoch, with a fraction. */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

export async function readDockerSource(docker: Docker, container: string, query: LogQuery): Promise<LogReadResult> {
  const handle = docker.getContainer(container);
  let tty: boolean;
  try {
    const info = await withTimeout(handle.inspect(), 10_000, 'Asking Docker about the container');
    tty = info.Config.Tty;
  } catch (error) {
    if (statusCodeOf(error) === 404) throw new LogQueryError(`Docker has no container named ${container} any more (removed?). Check \`docker ps -a\`, or change the source in Settings.`);
    throw new LogQueryError(describeDockerError(error));
  }
  const scanBack = query.filter !== undefined || query.window.until !== undefined;
  const tail = scanBack ? logReadLimits.dockerScanLines : query.tail;
  const abort = new AbortController();
  const onAbort = (): void => abort.abort();
  query.signal.addEventListener('abort', onAbort, { once: true });
  const scan = new ForwardScan(query, false);
  let lines = 0;
  const carry = { stdout: '', stderr: '' };
  const take = (stream: 'stdout' | 'stderr', text: string): void => {
    const parts = (carry[stream] + text).split('\n');
    carry[stream] = parts.pop() ?? '';
    for (const part of parts) {
      lines += 1;
      // Docker's own time starts each line (timestamps: true); the window was applied by Docker.
      scan.push(stream === 'stderr' ? `[stderr] ${part}` : part);
    }
  };
  try {
    const stream = await withTimeout(
      logStream(handle, {
        follow: false,
        stdout: true,
        stderr: true,
        timestamps: true,
        tail,
        ...(query.window.until === undefined ? {} : { until: seconds(query.window.until) }),
        ...(query.window.since === undefined ? {} : { since: seconds(query.window.since) }),
      }, abort.signal),
      dockerTimeoutMs,
      'Asking Docker for the logs',
    );
    const parser = new DockerFrameParser((kind, payload) => take(kind, payload.toString('utf8')));
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        stream.on('data', (chunk: Buffer) => (tty ? take('stdout', chunk.toString('utf8')) : parser.push(chunk)));
        stream.on('end', () => resolve());
        stream.on('close', () => resolve());
        stream.on('error', (error: Error) => reject(error));
      }),
      dockerTimeoutMs,
      'Reading the logs from Docker',
    );
    for (const stream of ['stdout', 'stderr'] as const) if (carry[stream] !== '') take(stream, '\n');
  } catch (error) {
    if (query.signal.aborted) throw new LogQueryError('Stopped.');
    throw new LogQueryError(`Docker could not give the logs of ${container}: ${describeDockerError(error)}`);
  } finally {
    query.signal.removeEventListener('abort', onAbort);
    abort.abort();
  }
  const notes: string[] = [];
  const scannedAll = !scanBack || lines < logReadLimits.dockerScanLines;
  if (!scannedAll) notes.push(`scanned the last ${logReadLimits.dockerScanLines.toLocaleString('en')} lines the container logged; older lines were not read`);
  return {
    lines: scan.keeper.lines(),
    matched: scan.keeper.matched,
    // Without a filter and an end time, Docker's tail gave at most `tail` lines: more may be in the window.
    matchedAll: scanBack ? scannedAll : scan.keeper.matched < query.tail,
    windowBasis: "Docker's log times",
    detail: `container ${container}`,
    notes,
  };
}
