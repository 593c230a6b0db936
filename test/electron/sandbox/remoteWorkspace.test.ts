/**
 * The remote-engine path (see `remoteWorkspaceSuite.ts`) on the local Docker engine, presented
 * as an engine that cannot see this machine's disk. The engines suite runs the same checks on
 * the real TLS, SSH and Podman engines.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SandboxEngine } from '../../../electron/sandbox/engines/engine';
import { describeRemoteWorkspace } from './remoteWorkspaceSuite';
import { docker, makeWorkspace, newService } from './support';

const remoteLocal: SandboxEngine = { id: 'remote-test', name: 'Remote (test)', kind: 'tls', remote: true, docker: () => docker, close: async () => undefined };

describeRemoteWorkspace('the local engine as a remote one', () => remoteLocal);

describe('syncBack on the local engine', () => {
  it('reports nothing for read-write (the bind mount already wrote through) and refuses read-only', async () => {
    const { service } = newService();
    const workspace = await makeWorkspace(true);
    try {
      expect((await service.start()).state).toBe('ready');
      const readWrite = await service.acquire('local-rw', { workspace: workspace.dir, access: 'read-write' });
      expect((await readWrite.exec('echo from-sandbox > /workspace/out.txt')).exitCode).toBe(0);
      expect(await readFile(path.join(workspace.dir, 'out.txt'), 'utf8')).toBe('from-sandbox\n');
      expect(await readWrite.syncBack()).toEqual({ written: [], removed: [], created: [], refused: [], unchanged: 0, ignored: 0 });
      const readOnly = await service.acquire('local-ro', { workspace: workspace.dir });
      await expect(readOnly.syncBack()).rejects.toMatchObject({ code: 'refused' });
    } finally {
      await service.close();
      await workspace.remove();
    }
  });
});
