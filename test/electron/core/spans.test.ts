/** The span context telemetry rides on: parents found through AsyncLocalStorage, and a recorder that fails never failing the work. */
import { describe, expect, it } from 'vitest';
import { currentSpan, inSpan, startSpan, type OpenSpan, type SpanRecorder, type SpanSpec } from '../../../electron/core/spans';

interface Started {
  readonly spec: SpanSpec;
  readonly parent: OpenSpan | undefined;
  readonly span: OpenSpan;
  ended: unknown[];
}

function recording(fail?: 'start' | 'end'): { recorder: SpanRecorder; started: Started[] } {
  const started: Started[] = [];
  const recorder: SpanRecorder = {
    start(spec, parent) {
      if (fail === 'start') throw new Error('recorder broken');
      const entry: Started = {
        spec,
        parent,
        ended: [],
        span: {
          captureContent: false,
          set: () => undefined,
          content: () => undefined,
          end: (error) => {
            entry.ended.push(error);
            if (fail === 'end') throw new Error('exporter broken');
          },
        },
      };
      started.push(entry);
      return entry.span;
    },
  };
  return { recorder, started };
}

describe('spans', () => {
  it('outside a recorded turn records nothing and just runs the work', async () => {
    expect(currentSpan()).toBeUndefined();
    expect(await inSpan({ name: 'x', attributes: {} }, async () => 42)).toBe(42);
    const span = startSpan({ name: 'y', attributes: {} });
    expect(span.captureContent).toBe(false);
    span.end();
  });

  it('children find their parent across awaits, and each span ends once with how its work ended', async () => {
    const { recorder, started } = recording();
    const failure = new Error('tool failed');
    await inSpan(
      { name: 'turn', attributes: {} },
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        await inSpan({ name: 'tool', attributes: {} }, async () => {
          await Promise.resolve();
          startSpan({ name: 'chat', attributes: {} }).end();
        });
        await expect(inSpan({ name: 'failing', attributes: {} }, async () => Promise.reject(failure))).rejects.toBe(failure);
      },
      recorder,
    );
    const [turn, tool, chat, failing] = started;
    expect(started.map((entry) => entry.spec.name)).toEqual(['turn', 'tool', 'chat', 'failing']);
    expect(turn?.parent).toBeUndefined();
    expect(tool?.parent).toBe(turn?.span);
    expect(chat?.parent).toBe(tool?.span);
    expect(failing?.parent).toBe(turn?.span);
    expect(started.map((entry) => entry.ended)).toEqual([[undefined], [undefined], [undefined], [failure]]);
  });

  it('a recorder that throws never fails the work or changes its result', async () => {
    for (const fail of ['start', 'end'] as const) {
      const { recorder } = recording(fail);
      const result = await inSpan({ name: 'turn', attributes: {} }, async () => inSpan({ name: 'tool', attributes: {} }, async () => 'done'), recorder);
      expect(result).toBe('done');
    }
  });
});
