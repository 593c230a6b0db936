/**
 * What the emergency stop ended, in plain words for the banner: the items grouped by what
 * they are and counted ("2 warm sandboxes, 1 task container, 1 model reply"), those that had
 * already ended, those that would not stop and the sandbox engines that could not be reached
 * said apart.
 */
import type { StoppedItem } from './contract';

/** A noun, singular and plural. */
type Noun = readonly [string, string];

/** What an item is, in words a person knows; items with the same noun are counted together. */
function nounOf(item: StoppedItem): Noun {
  const label = item.label.replace(/ \(failed to stop\)$/, '');
  switch (item.kind) {
    case 'model-stream':
      return ['model reply', 'model replies'];
    case 'approval':
      return ['approval request', 'approval requests'];
    case 'container':
      if (label === 'warm sandbox') return ['warm sandbox', 'warm sandboxes'];
      if (label === 'sandbox being prepared') return ['sandbox being prepared', 'sandboxes being prepared'];
      if (label.startsWith('sandbox of task')) return ['task container', 'task containers'];
      return ['container', 'containers'];
    case 'deployment':
      return ['Pulumi operation', 'Pulumi operations'];
    case 'ddl':
      return ['Snowflake query', 'Snowflake queries'];
    case 'task':
      if (label.startsWith('outside MCP server')) return ['outside MCP server', 'outside MCP servers'];
      if (label === 'code index build') return ['code index build', 'code index builds'];
      if (label === 'sandbox image build') return ['sandbox image build', 'sandbox image builds'];
      if (label === 'sandbox image transfer') return ['sandbox image transfer', 'sandbox image transfers'];
      return [label, label];
    case 'engine':
      return [label, label];
  }
}

/** "2 warm sandboxes, 1 task container", in the order each noun first appears. */
export function countedList(items: readonly StoppedItem[]): string {
  const counts = new Map<string, { noun: Noun; count: number }>();
  for (const item of items) {
    const noun = nounOf(item);
    const entry = counts.get(noun[0]);
    if (entry) entry.count += 1;
    else counts.set(noun[0], { noun, count: 1 });
  }
  return [...counts.values()].map(({ noun, count }) => `${count} ${count === 1 ? noun[0] : noun[1]}`).join(', ');
}

/** The banner's sentences: what was stopped, what had already ended, what would not stop. */
export function stopSummary(items: readonly StoppedItem[]): string {
  const stopped = items.filter((item) => item.outcome === 'stopped');
  const ended = items.filter((item) => item.outcome === 'already-ended');
  const stuck = items.filter((item) => item.outcome === 'stuck');
  const unreachable = items.filter((item) => item.outcome === 'unreachable');
  if (items.length === 0) return 'Nothing was running.';
  const parts: string[] = [];
  if (stopped.length > 0) parts.push(`Stopped: ${countedList(stopped)}.`);
  if (ended.length > 0) parts.push(`Already ended: ${countedList(ended)}.`);
  // A stuck stopper is left to finish on its own; the person should know it may still be running.
  if (stuck.length > 0) parts.push(`Did not stop in time (may still be running): ${countedList(stuck)}.`);
  // A sandbox engine the stop could not reach: its containers end when their connection to this app closes.
  for (const engine of unreachable) parts.push(`${engine.label}: not reachable; its containers may still run, they end when their connection closes.`);
  return parts.join(' ');
}
