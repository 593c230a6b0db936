/** The pieces every log source shares: moments, line timestamps, the filter, the tail kept in bounded memory. */
import { describe, expect, it } from 'vitest';
import { compileFilter, cutLine, ForwardScan, lineTimestamp, LogQueryError, logReadLimits, parseMoment, parseWindow, TailKeeper, type LogQuery } from '../../../electron/logs/logQuery';

const now = Date.parse('2026-12-02T16:00:00Z');

describe('since and until', () => {
  it('takes durations back from now and ISO times', () => {
    expect(parseMoment('15m', now, 'since')).toBe(now - 15 * 60_000);
    expect(parseMoment('2h', now, 'since')).toBe(now - 2 * 3_600_000);
    expect(parseMoment('1d', now, 'since')).toBe(now - 86_400_000);
    expect(parseMoment('30s', now, 'since')).toBe(now - 30_000);
    expect(parseMoment('2026-12-02T15:04:05Z', now, 'since')).toBe(Date.parse('2026-12-02T15:04:05Z'));
    expect(parseMoment('2026-12-02T15:04:05.250+01:00', now, 'until')).toBe(Date.parse('2026-12-02T14:04:05.250Z'));
  });

  it('refuses anything else, an absurd duration and an empty window, in words', () => {
    expect(() => parseMoment('yesterday', now, 'since')).toThrow(LogQueryError);
    expect(() => parseMoment('1y', now, 'since')).toThrow(/neither an ISO time/);
    expect(() => parseMoment('9999999d', now, 'since')).toThrow(/too far back/);
    expect(() => parseWindow({ since: '1h', until: '2h' }, now)).toThrow(/until is before since/);
    expect(parseWindow({}, now)).toEqual({});
  });
});

describe('line timestamps', () => {
  it('reads ISO 8601 stamps, with or without brackets, offset or fraction', () => {
    expect(lineTimestamp('2026-12-02T15:04:05Z ERROR x', now)).toBe(Date.parse('2026-12-02T15:04:05Z'));
    expect(lineTimestamp('[2026-12-02T15:04:05.123+0100] x', now)).toBe(Date.parse('2026-12-02T14:04:05.123Z'));
    expect(lineTimestamp('2026-12-02 15:04:05,500 WARN python logging', now)).toBe(new Date(2026, 11, 2, 15, 4, 5, 500).getTime());
    expect(lineTimestamp('2026-12-02T15:04:05.123456789Z docker', now)).toBe(Date.parse('2026-12-02T15:04:05.123Z'));
  });

  it("reads syslog's stamps as this year's, or last year's when that would be in the future", () => {
    expect(lineTimestamp('Dec  2 15:04:05 host app[12]: hello', now)).toBe(new Date(2026, 11, 2, 15, 4, 5).getTime());
    const january = Date.parse('2027-01-01T00:10:00Z');
    expect(lineTimestamp('Dec 31 23:59:00 host app: late', january)).toBe(new Date(2026, 11, 31, 23, 59, 0).getTime());
  });

  it('finds none in a line that does not start with one', () => {
    expect(lineTimestamp('  File "sync.py", line 12', now)).toBeUndefined();
    expect(lineTimestamp('user logged in at 2026-12-02T15:04:05Z', now)).toBeUndefined();
  });
});

describe('the filter', () => {
  it('is RE2: linear in the line whatever the pattern; refuses what RE2 cannot run', () => {
    const filter = compileFilter('(?i)timeout|429', false);
    expect(filter?.test('HTTP 429')).toBe(true);
    expect(filter?.test('TIMEOUT')).toBe(true);
    expect(filter?.test('ok')).toBe(false);
    // Exponential backtracking in JavaScript's RegExp; RE2 answers at once.
    expect(compileFilter('^(a+)+$', false)?.test(`${'a'.repeat(50_000)}!`)).toBe(false);
    expect(() => compileFilter('(?=lookahead)', false)).toThrow(/not a regular expression Sophia can run/);
    expect(() => compileFilter('x'.repeat(logReadLimits.grep + 1), false)).toThrow(/longer than/);
  });

  it('matches fixed strings as they are', () => {
    const filter = compileFilter('a.b (c', true);
    expect(filter?.test('xx a.b (c yy')).toBe(true);
    expect(filter?.test('axb (c')).toBe(false);
  });
});

describe('the tail', () => {
  it('keeps the last lines in bounded memory and counts them all', () => {
    const keeper = new TailKeeper(3);
    for (let i = 0; i < 10_000; i += 1) keeper.push(`line ${i}`);
    expect(keeper.lines()).toEqual(['line 9997', 'line 9998', 'line 9999']);
    expect(keeper.matched).toBe(10_000);
  });

  it('cuts a long line and says by how much', () => {
    expect(cutLine(`${'x'.repeat(logReadLimits.lineChars + 5)}\r`)).toBe(`${'x'.repeat(logReadLimits.lineChars)} … [5 more characters]`);
  });

  it('gives unstamped lines the time of the stamped line above them', () => {
    const query: LogQuery = { window: { since: now - 60_000 }, filter: undefined, tail: 10, redact: (text) => text, signal: new AbortController().signal, now };
    const scan = new ForwardScan(query);
    scan.push('2026-12-02T15:00:00Z old');
    scan.push('  old trace');
    scan.push('2026-12-02T15:59:30Z new');
    scan.push('  new trace');
    expect(scan.keeper.lines()).toEqual(['2026-12-02T15:59:30Z new', '  new trace']);
  });
});
