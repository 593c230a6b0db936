/**
 * Checkpoints never hold secret files: `.env`, keys and files in a folder named like a
 * secret stay out of the shadow repository even when `.gitignore` does not ignore them, and
 * a rollback leaves them as they are.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../../electron/git/checkpoints';

describe('checkpoints and secret files', () => {
  it('records every other file but no secret file, and a rollback leaves them alone', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sophia-cp-secret-'));
    const root = mkdtempSync(path.join(os.tmpdir(), 'sophia-cp-root-'));
    writeFileSync(path.join(dir, 'app.py'), 'print("v1")\n');
    writeFileSync(path.join(dir, '.env'), 'DB_PASSWORD=CANARY-cp-env\n');
    writeFileSync(path.join(dir, '.env.example'), 'DB_PASSWORD=change-me\n');
    mkdirSync(path.join(dir, 'deploy'));
    writeFileSync(path.join(dir, 'deploy', 'server.key'), 'CANARY-cp-key\n');
    mkdirSync(path.join(dir, 'credentials'));
    writeFileSync(path.join(dir, 'credentials', 'prod.txt'), 'CANARY-cp-folder\n');
    const store = CheckpointStore.forWorkspace(root, dir);
    const first = await store.record('c1', 'before step 1');
    writeFileSync(path.join(dir, 'app.py'), 'print("v2")\n');
    writeFileSync(path.join(dir, '.env'), 'DB_PASSWORD=changed\n');
    await store.record('c1', 'before step 2');

    const [gitDir] = readdirSync(root).map((name) => path.join(root, name));
    const objects = execFileSync('git', ['cat-file', '--batch-all-objects', '--batch'], { env: { ...process.env, GIT_DIR: gitDir! } }).toString();
    expect(objects).toContain('print("v1")');
    expect(objects).toContain('change-me');
    expect(objects).not.toMatch(/CANARY-cp|DB_PASSWORD=changed/);

    await store.rollback('c1', first.id);
    expect(readFileSync(path.join(dir, 'app.py'), 'utf8')).toBe('print("v1")\n');
    // Not recorded, so not restored and not removed: the person's current secret stays.
    expect(readFileSync(path.join(dir, '.env'), 'utf8')).toBe('DB_PASSWORD=changed\n');
    expect(readFileSync(path.join(dir, 'credentials', 'prod.txt'), 'utf8')).toBe('CANARY-cp-folder\n');
  });
});
