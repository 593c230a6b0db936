/**
 * The conversation store writes events and messages behind, in one transaction per run of the
 * event loop: nothing appended is lost or reordered, every read sees what was appended before
 * it, and a write that can no longer land (its conversation removed) does not take the others
 * with it. Checked on a real file, through a second connection as another reader would.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SophiaEvent } from '../../../shared/contract';
import { ConversationStore } from '../../../electron/agent/conversationStore';
import { openAppDatabase } from '../../../electron/db/appDatabase';
import type { SqliteDatabase } from '../../../electron/db/sqlite';

const open: SqliteDatabase[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

async function twoConnections(): Promise<{ writer: ConversationStore; db: SqliteDatabase; reader: SqliteDatabase }> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'sophia-behind-')), 'sophia.db');
  const db = openAppDatabase(file);
  const reader = openAppDatabase(file);
  open.push(db, reader);
  return { writer: new ConversationStore(db), db, reader };
}

const thinking = (conversationId: string, text: string): SophiaEvent => ({ type: 'agent.thinking', conversationId, id: text, text });
const storedTexts = (reader: SqliteDatabase, conversationId: string) =>
  (reader.prepare('SELECT payload FROM conversation_events WHERE conversation_id = ? ORDER BY seq').all(conversationId) as { payload: string }[]).map(
    (row) => (JSON.parse(row.payload) as { text: string }).text,
  );

describe('conversation writes behind', () => {
  it('are on disk by the end of the run of the event loop, in order, in one go', async () => {
    const { writer, reader } = await twoConnections();
    writer.create('c1', 'first');
    for (const text of ['one', 'two', 'three']) writer.appendEvent('c1', thinking('c1', text));
    writer.appendMessage('c1', { role: 'assistant', content: [{ type: 'text', text: 'hello' }] });
    // Not yet: the writes wait for the end of this run of the loop.
    expect(storedTexts(reader, 'c1')).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(storedTexts(reader, 'c1')).toEqual(['one', 'two', 'three']);
    expect(reader.prepare('SELECT COUNT(*) AS n FROM model_messages WHERE conversation_id = ?').get('c1')).toEqual({ n: 1 });
  });

  it('every read of the store sees what was appended before it', async () => {
    const { writer } = await twoConnections();
    writer.create('c1', 'first');
    writer.appendEvent('c1', thinking('c1', 'one'));
    expect(writer.events('c1')).toEqual([thinking('c1', 'one')]);
    writer.appendMessage('c1', { role: 'user', content: [{ type: 'text', text: 'hi' }] });
    expect(writer.messages('c1')).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    writer.appendEvent('c1', thinking('c1', 'two'));
    writer.flush();
    expect(writer.events('c1').map((event) => (event as { text: string }).text)).toEqual(['one', 'two']);
  });

  it('a write whose conversation was removed meanwhile is dropped, the others land', async () => {
    const { writer, db, reader } = await twoConnections();
    writer.create('gone', 'removed before the flush');
    writer.create('kept', 'stays');
    writer.appendEvent('gone', thinking('gone', 'lost with its conversation'));
    writer.appendEvent('kept', thinking('kept', 'still here'));
    db.prepare('DELETE FROM conversations WHERE id = ?').run('gone');
    writer.flush();
    expect(storedTexts(reader, 'kept')).toEqual(['still here']);
    expect(storedTexts(reader, 'gone')).toEqual([]);
  });
});
