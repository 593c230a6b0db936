/**
 * What every kind of log source shares: the time window (an ISO time or a duration back from
 * now), the filter (a regular expression run by RE2, which matches in linear time whatever
 * the pattern, so no pattern can hang the app; or a fixed string), the timestamps at the
 * start of log lines (ISO 8601 and syslog's), the tail kept in bounded memory, and the
 * result's header. Every line is redacted before the filter sees it, so a filter cannot be
 * used to probe for a secret value.
 */
import type * as Re2 from 're2js';
import { requireOnFirstUse } from '../core/lazyRequire';

// RE2's JavaScript port, required with the first filter (not at start).
const re2js = requireOnFirstUse<typeof Re2>('re2js');

export const logReadLimits = {
  defaultTail: 200,
  maxTail: 2000,
  grep: 500,
  /** Characters of one line returned; the rest is cut and counted. */
  lineChars: 1000,
  /** Bytes read from files in one call, newest first. */
  scanBytes: 64 * 1024 * 1024,
  /** Lines a container's log is scanned back when a filter or an end time means Docker's own tail cannot be used. */
  dockerScanLines: 50_000,
  /** Files of a folder looked at (newest first), and entries listed. */
  folderFiles: 50,
  folderEntries: 5000,
  /** A saved command's wall-clock limit. */
  commandTimeoutMs: 60_000,
  /** Longest duration accepted for since/until. */
  maxDurationDays: 3660,
} as const;

export class LogQueryError extends Error {
  override readonly name = 'LogQueryError';
}

/** A moment given as an ISO time or as a duration back from now ("15m", "2h", "1d"). */
export function parseMoment(raw: string, now: number, field: 'since' | 'until'): number {
  const text = raw.trim();
  const duration = /^(\d{1,7})\s*(s|m|h|d|w)$/i.exec(text);
  if (duration) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[(duration[2] ?? 's').toLowerCase() as 's' | 'm' | 'h' | 'd' | 'w'];
    const ms = Number(duration[1]) * unit;
    if (ms > logReadLimits.maxDurationDays * 86_400_000) throw new LogQueryError(`${field}: ${text} is too far back (at most ${logReadLimits.maxDurationDays} days).`);
    return now - ms;
  }
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text)) {
    const ms = Date.parse(text.replace(' ', 'T'));
    if (Number.isFinite(ms)) return ms;
  }
  throw new LogQueryError(`${field}: "${text.slice(0, 80)}" is neither an ISO time (2026-12-02T15:04:05Z) nor a duration back from now (30s, 15m, 2h, 1d, 1w).`);
}

export interface TimeWindow {
  readonly since?: number;
  readonly until?: number;
}

export function parseWindow(input: { since?: string | undefined; until?: string | undefined }, now: number): TimeWindow {
  const since = input.since === undefined ? undefined : parseMoment(input.since, now, 'since');
  const until = input.until === undefined ? undefined : parseMoment(input.until, now, 'until');
  if (since !== undefined && until !== undefined && until < since) throw new LogQueryError('until is before since: the window is empty.');
  return { ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) };
}

export function inWindow(window: TimeWindow, at: number): boolean {
  return (window.since === undefined || at >= window.since) && (window.until === undefined || at <= window.until);
}

export function windowSet(window: TimeWindow): boolean {
  return window.since !== undefined || window.until !== undefined;
}

export function describeWindow(window: TimeWindow): string {
  if (!windowSet(window)) return 'all (no since/until)';
  const since = window.since === undefined ? 'the start' : new Date(window.since).toISOString();
  const until = window.until === undefined ? 'now' : new Date(window.until).toISOString();
  return `${since} to ${until}`;
}

export interface LineFilter {
  /** As the header shows it. */
  readonly shown: string;
  test(line: string): boolean;
}

/** A regular expression (RE2 syntax: no backreferences or lookaround) or, with `fixed`, plain text. */
export function compileFilter(grep: string | undefined, fixed: boolean): LineFilter | undefined {
  if (grep === undefined || grep === '') return undefined;
  if (grep.length > logReadLimits.grep) throw new LogQueryError(`grep is longer than ${logReadLimits.grep} characters.`);
  if (fixed) return { shown: `"${grep}" (fixed string)`, test: (line) => line.includes(grep) };
  const { RE2JS } = re2js();
  let pattern: Re2.RE2JS;
  try {
    pattern = RE2JS.compile(grep);
  } catch (error) {
    const detail = error instanceof Error ? error.message.slice(0, 200) : 'not a valid pattern';
    throw new LogQueryError(
      `grep is not a regular expression Sophia can run (${detail}). Use RE2 syntax (no backreferences or lookaround; (?i) for any case), or set fixed: true to match the text as it is.`,
    );
  }
  return { shown: `/${grep}/ (regular expression, RE2)`, test: (line) => pattern.test(line) };
}

const months: Readonly<Record<string, number>> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };
const isoStamp = /^\s{0,4}\[?(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2})?/i;
const syslogStamp = /^\s{0,4}\[?(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s{1,2}(\d{1,2})\s(\d{2}):(\d{2}):(\d{2})/i;

/**
 * The time a log line starts with: ISO 8601 (`2026-12-02T15:04:05.123Z`, `2026-12-02 15:04:05,123`,
 * in brackets or not; without an offset it is local time, as the writer's clock had it) or
 * syslog's `Dec  2 15:04:05` (this year, or last year when that would be in the future).
 */
export function lineTimestamp(line: string, now: number): number | undefined {
  const iso = isoStamp.exec(line);
  if (iso) {
    const [, y, mo, d, h, mi, s, fraction, zone] = iso;
    const ms = fraction ? Number(fraction.slice(0, 3).padEnd(3, '0')) : 0;
    if (zone) {
      const offset = zone.toUpperCase() === 'Z' ? 'Z' : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
      const at = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${String(ms).padStart(3, '0')}${offset}`);
      return Number.isFinite(at) ? at : undefined;
    }
    const at = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms).getTime();
    return Number.isFinite(at) ? at : undefined;
  }
  const syslog = syslogStamp.exec(line);
  if (syslog) {
    const [, mon, d, h, mi, s] = syslog;
    const month = months[(mon ?? '').toLowerCase()] ?? 0;
    const year = new Date(now).getFullYear();
    let at = new Date(year, month, Number(d), Number(h), Number(mi), Number(s)).getTime();
    if (at > now + 86_400_000) at = new Date(year - 1, month, Number(d), Number(h), Number(mi), Number(s)).getTime();
    return at;
  }
  return undefined;
}

/** A line as returned: at most `lineChars` characters, the rest counted. */
export function cutLine(line: string): string {
  const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (trimmed.length <= logReadLimits.lineChars) return trimmed;
  return `${trimmed.slice(0, logReadLimits.lineChars)} … [${trimmed.length - logReadLimits.lineChars} more characters]`;
}

/** What a query asks of every source: the window, the filter, the tail, and how to redact. */
export interface LogQuery {
  readonly window: TimeWindow;
  readonly filter: LineFilter | undefined;
  readonly tail: number;
  readonly redact: (text: string) => string;
  readonly signal: AbortSignal;
  readonly now: number;
}

/** A line redacted, then filtered: the matched line as returned, or undefined. */
export function matchLine(query: LogQuery, line: string): string | undefined {
  const redacted = query.redact(line);
  if (query.filter && !query.filter.test(redacted)) return undefined;
  return cutLine(redacted);
}

/** The last `tail` matching lines of a stream read oldest first, in bounded memory, and how many matched. */
export class TailKeeper {
  #lines: string[] = [];
  #matched = 0;

  constructor(private readonly tail: number) {}

  push(line: string): void {
    this.#matched += 1;
    this.#lines.push(line);
    // Trimmed in batches, so a long stream costs one copy per `tail` lines.
    if (this.#lines.length >= this.tail * 2) this.#lines = this.#lines.slice(-this.tail);
  }

  get matched(): number {
    return this.#matched;
  }

  lines(): string[] {
    return this.#lines.slice(-this.tail);
  }
}

/**
 * Lines read oldest first whose timestamps, when they have one, decide the window: a line
 * without one (a stack trace's) belongs to the stamped line before it; lines before the
 * first stamp are undated and count only when no window is set.
 */
export class ForwardScan {
  readonly keeper: TailKeeper;
  #current: number | undefined;
  #stamped = 0;

  /** `applyWindow` false: the source applied the window itself (Docker). */
  constructor(
    private readonly query: LogQuery,
    private readonly applyWindow = true,
  ) {
    this.keeper = new TailKeeper(query.tail);
  }

  push(line: string, stamp: number | undefined = lineTimestamp(line, this.query.now)): void {
    if (stamp !== undefined) {
      this.#current = stamp;
      this.#stamped += 1;
    }
    const at = this.#current;
    if (this.applyWindow && windowSet(this.query.window) && (at === undefined || !inWindow(this.query.window, at))) return;
    const matched = matchLine(this.query, line);
    if (matched !== undefined) this.keeper.push(matched);
  }

  /** Whether any line had a timestamp (else the window could not be applied). */
  get stamped(): boolean {
    return this.#stamped > 0;
  }
}

/** What a source gives back, before the header is written. */
export interface LogReadResult {
  /** Oldest first, redacted and cut. */
  readonly lines: readonly string[];
  /** Lines that passed the window and the filter; a lower bound when `matchedAll` is false. */
  readonly matched: number;
  readonly matchedAll: boolean;
  /** How the window was applied ("line timestamps", "file modification times", ...). */
  readonly windowBasis: string;
  /** Where it read ("folder /var/log/app: 3 files read"). */
  readonly detail: string;
  /** Files skipped and why, bounds reached, a command's exit code. */
  readonly notes: readonly string[];
}

export function formatLogOutput(source: { name: string; kind: string }, query: LogQuery, result: LogReadResult): string {
  const matched = result.matchedAll ? String(result.matched) : `at least ${result.matched}`;
  const header = [
    `Log source: ${source.name} (${source.kind}; ${result.detail})`,
    `Window: ${describeWindow(query.window)}${windowSet(query.window) ? `; applied by ${result.windowBasis}` : ''}`,
    `Filter: ${query.filter ? query.filter.shown : 'none'}`,
    `Lines: ${matched} matched, ${result.lines.length} returned (tail ${query.tail})`,
    ...result.notes.map((note) => `Note: ${note}`),
  ];
  const body = result.lines.length > 0 ? result.lines.join('\n') : '(no lines match)';
  return `${header.join('\n')}\n---\n${body}`;
}
