import { describe, expect, it } from 'vitest';
import { describeOutcome, maxExecutions, maxOutputChars, reduceExecutions, type ContainerEvent, type Execution } from '../../../renderer/src/state/executionLog';

const started = (execId: string, taskId = 't1'): ContainerEvent => ({ type: 'container.started', taskId, execId, command: `echo ${execId}`, startedAt: 1000 });
const output = (execId: string | undefined, chunk: string, stream: 'stdout' | 'stderr' = 'stdout', taskId = 't1'): ContainerEvent =>
  execId === undefined ? { type: 'container.output', taskId, stream, chunk } : { type: 'container.output', taskId, execId, stream, chunk };
const ended = (execId: string, extra: Partial<Extract<ContainerEvent, { type: 'container.ended' }>> = {}): ContainerEvent => ({
  type: 'container.ended',
  taskId: 't1',
  execId,
  exitCode: 0,
  durationMs: 42,
  timedOut: false,
  stopped: false,
  truncated: false,
  ...extra,
});

const fold = (events: ContainerEvent[]): readonly Execution[] => events.reduce(reduceExecutions, [] as readonly Execution[]);

describe('the execution log state', () => {
  it('gathers a command, its output in order with the streams kept apart, and how it ended', () => {
    const [entry] = fold([started('a'), output('a', 'one\n'), output('a', 'two\n'), output('a', 'oops\n', 'stderr'), ended('a', { exitCode: 2, durationMs: 1500 })]);
    expect(entry?.output).toEqual([
      { stream: 'stdout', text: 'one\ntwo\n' },
      { stream: 'stderr', text: 'oops\n' },
    ]);
    expect(entry?.end).toMatchObject({ exitCode: 2 });
    expect(describeOutcome(entry!)).toBe('exit 2 · 1.5 s');
  });

  it('says when a command is running, timed out or was stopped', () => {
    const [running, timedOut, stopped] = fold([
      started('a'),
      started('b'),
      ended('b', { timedOut: true, exitCode: 137, durationMs: 1500 }),
      started('c'),
      ended('c', { stopped: true, exitCode: null, durationMs: 20 }),
    ]);
    expect(describeOutcome(running!)).toBe('running…');
    expect(describeOutcome(timedOut!)).toBe('timed out after 1.5 s (killed)');
    expect(describeOutcome(stopped!)).toBe('stopped after 20 ms');
  });

  it('puts output without a command id on the task’s running command, and keeps tasks apart', () => {
    const log = fold([started('a', 't1'), started('b', 't2'), output(undefined, 'for b\n', 'stdout', 't2'), output(undefined, 'for a\n')]);
    expect(log.map((entry) => entry.output.map((segment) => segment.text).join(''))).toEqual(['for a\n', 'for b\n']);
  });

  it('ignores a repeated start (a reopened conversation replays events) and output after the end', () => {
    const log = fold([started('a'), output('a', 'x'), ended('a'), started('a'), output('a', 'late')]);
    expect(log.length).toBe(1);
    expect(log[0]?.output).toEqual([{ stream: 'stdout', text: 'x' }]);
  });

  it('stays bounded: the last commands, and the tail of a long output', () => {
    const many = fold(Array.from({ length: maxExecutions + 10 }, (_, i) => started(`e${i}`)));
    expect(many.length).toBe(maxExecutions);
    expect(many[0]?.execId).toBe('e10');
    const chunk = 'y'.repeat(60_000);
    const [long] = fold([started('a'), ...Array.from({ length: 5 }, () => output('a', chunk)), output('a', 'END', 'stderr')]);
    expect(long?.outputChars).toBe(maxOutputChars);
    expect(long?.dropped).toBe(true);
    expect(long?.output.map((segment) => segment.text).join('').endsWith('yyyEND')).toBe(true);
    expect(long?.output.at(-1)).toEqual({ stream: 'stderr', text: 'END' });
  });
});
