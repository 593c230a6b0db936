/** Memory entries in the real sophia.db: per workspace, edited and deleted, secrets refused on save. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAppDatabase } from '../../../electron/db/appDatabase';
import { SecretRedactor } from '../../../electron/keychain/redactor';
import { MemoryStore } from '../../../electron/memory/memoryStore';
import { tempDataDir } from '../../support/hostFixture';

function store() {
  const redactor = new SecretRedactor();
  redactor.add('snowflake-password', 'correct horse battery staple');
  const db = openAppDatabase(path.join(tempDataDir(), 'sophia.db'));
  return { memory: new MemoryStore(db, { redact: (text) => redactor.redact(text) }), db };
}

describe('MemoryStore', () => {
  it('keeps entries per workspace, edits and deletes them', () => {
    const { memory, db } = store();
    const a = memory.add('/ws/a', 'preference', '  Use pnpm, not npm.  ');
    memory.add('/ws/b', 'decision', 'Other workspace.');
    expect(a).toMatchObject({ kind: 'preference', text: 'Use pnpm, not npm.' });
    expect(memory.list('/ws/a').map((item) => item.id)).toEqual([a.id]);
    const edited = memory.update('/ws/a', a.id, 'Use pnpm 9, not npm.', 'decision');
    expect(edited).toMatchObject({ id: a.id, kind: 'decision', text: 'Use pnpm 9, not npm.' });
    expect(edited.updatedAt).toBeGreaterThan(a.updatedAt);
    expect(() => memory.update('/ws/b', a.id, 'x')).toThrow(/not in the open workspace/);
    expect(memory.remove('/ws/b', a.id)).toBe(false);
    expect(memory.remove('/ws/a', a.id)).toBe(true);
    expect(memory.list('/ws/a')).toEqual([]);
    expect(() => memory.add('', 'pattern', 'x')).toThrow(/No workspace is open/);
    db.close();
  });

  it.each([
    ['a value the keychain holds', 'The Snowflake password is correct horse battery staple'],
    ['an Anthropic key', 'Key: sk-ant-api03-abcdefghijklmnopqrstuvwxyz'],
    ['an AWS access key', 'Deploy with AKIAIOSFODNN7EXAMPLE'],
    ['a password assignment', 'db password=hunter22hunter'],
    ['a credential in a URL', 'Push to https://bot:s3cretvalue@git.example.com/repo.git'],
    ['a private key', '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----'],
  ])('refuses %s on save and on edit, without echoing it', (_what, text) => {
    const { memory, db } = store();
    expect(() => memory.add('/ws', 'decision', text)).toThrow(/Not kept: the text holds/);
    const ok = memory.add('/ws', 'decision', 'The password lives in the keychain under snowflake-password.');
    let message = '';
    try {
      memory.update('/ws', ok.id, text);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Not kept: the text holds/);
    expect(message).not.toContain(text.slice(-10));
    expect(memory.list('/ws').map((item) => item.text)).toEqual(['The password lives in the keychain under snowflake-password.']);
    db.close();
  });
});
