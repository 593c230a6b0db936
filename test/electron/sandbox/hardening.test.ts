/**
 * The hardening, checked from inside real containers and in Docker's own record of them,
 * for a pooled handout and for a cold create alike.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandUser, keeperUser, labelKeys } from '../../../electron/sandbox/hardening';
import type { Sandbox } from '../../../electron/sandbox/sandbox';
import { docker, makeWorkspace, newService } from './support';

const MiB = 1024 * 1024;
const memoryBytes = 256 * MiB;
const pids = 128;
const { service } = newService({ poolSize: 1, limits: { memoryBytes, pids, cpus: 1 } });
let workspace: Awaited<ReturnType<typeof makeWorkspace>>;
let pooled: Sandbox;
let cold: Sandbox;

beforeAll(async () => {
  workspace = await makeWorkspace(true);
  expect((await service.start()).state).toBe('ready');
});

afterAll(async () => {
  await service.close();
  await workspace.remove();
});

describe('every sandbox container', () => {
  beforeAll(async () => {
    await service.poolSettled(60_000);
    expect(service.pool.warm).toBe(1);
    pooled = await service.acquire('hardening-pooled');
    cold = await service.acquire('hardening-cold', { workspace: workspace.dir });
  });

  it('is recorded by Docker with the hardening, for pooled and cold alike', async () => {
    for (const box of [pooled, cold]) {
      const info = await docker.getContainer(box.containerId).inspect();
      const host = info.HostConfig;
      expect(host.NetworkMode).toBe('none');
      expect(host.CapDrop).toEqual(['ALL']);
      expect(host.CapAdd ?? []).toEqual([]);
      expect(host.SecurityOpt).toContain('no-new-privileges:true');
      expect(host.Privileged).toBe(false);
      expect(host.ReadonlyRootfs).toBe(true);
      expect(host.IpcMode).toBe('none');
      expect(host.Memory).toBe(memoryBytes);
      expect(host.MemorySwap).toBe(memoryBytes);
      expect(host.NanoCpus).toBe(1e9);
      expect(host.PidsLimit).toBe(pids);
      expect(Object.keys(host.Tmpfs ?? {})).toEqual(['/tmp']);
      expect(info.Config.User).toBe(`${keeperUser.uid}:${keeperUser.gid}`);
      expect(info.Config.Labels[labelKeys.app]).toBe('1');
      expect(info.Config.Labels[labelKeys.owner]).toBe(service.ownerId);
      // Nothing from the host but the workspace: no Docker socket, no other bind.
      const binds = info.Mounts.filter((mount) => mount.Type === 'bind');
      expect(binds.every((mount) => mount.Destination === '/workspace')).toBe(true);
      expect(JSON.stringify(info.Mounts)).not.toContain('docker.sock');
    }
    // The task is named: by label when created for it, by name once a warm one is handed out.
    const coldInfo = await docker.getContainer(cold.containerId).inspect();
    expect(coldInfo.Config.Labels[labelKeys.task]).toBe('hardening-cold');
    const mount = coldInfo.Mounts.find((candidate) => candidate.Destination === '/workspace');
    expect(mount?.RW).toBe(false);
    await expect
      .poll(async () => (await docker.getContainer(pooled.containerId).inspect()).Name, { timeout: 5000 })
      .toMatch(/^\/sophia-task-hardening-pooled-/);
  });

  it('cannot open any network connection', async () => {
    const probe = [
      'import json, os, socket',
      'out = {"interfaces": sorted(os.listdir("/sys/class/net"))}',
      'for host, port in [("1.1.1.1", 443), ("8.8.8.8", 53), ("2606:4700:4700::1111", 443)]:',
      '    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)',
      '    s.settimeout(3)',
      '    try:',
      '        s.connect((host, port)); out[host] = "connected"',
      '    except OSError as e:',
      '        out[host] = e.errno',
      'u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      'try:',
      '    u.sendto(b"x", ("8.8.8.8", 53)); out["udp"] = "sent"',
      'except OSError as e:',
      '    out["udp"] = e.errno',
      'try:',
      '    socket.getaddrinfo("deb.debian.org", 80); out["dns"] = "resolved"',
      'except OSError as e:',
      '    out["dns"] = "failed"',
      'print(json.dumps(out))',
    ].join('\n');
    for (const box of [pooled, cold]) {
      const result = await box.exec(['python3', '-c', probe], { timeoutMs: 30_000 });
      expect(result.exitCode).toBe(0);
      const out = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(out['interfaces']).toEqual(['lo']);
      for (const key of ['1.1.1.1', '8.8.8.8', '2606:4700:4700::1111', 'udp']) expect(typeof out[key]).toBe('number');
      expect(out['dns']).toBe('failed');
    }
  });

  it('runs commands as a user that is not root', async () => {
    const result = await cold.exec('id -u; id -g');
    const [uid, gid] = result.stdout.trim().split('\n');
    expect(uid).not.toBe('0');
    expect(gid).not.toBe('0');
    expect(Number(uid)).toBe(commandUser().uid);
  });

  it('has no effective, permitted or bounding capabilities, no new privileges and a seccomp filter', async () => {
    const status = (await pooled.exec('cat /proc/self/status')).stdout;
    const field = (name: string): string | undefined => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(status)?.[1];
    expect(field('CapEff')).toBe('0000000000000000');
    expect(field('CapPrm')).toBe('0000000000000000');
    expect(field('CapBnd')).toBe('0000000000000000');
    expect(field('CapAmb')).toBe('0000000000000000');
    expect(field('NoNewPrivs')).toBe('1');
    expect(field('Seccomp')).toBe('2');
    // And no program in the image could raise them: setuid bits were stripped at build.
    expect((await pooled.exec('find / -xdev -type f -perm /6000 2>/dev/null | head -5')).stdout).toBe('');
  });

  it('cannot write to /', async () => {
    const result = await cold.exec('echo x > /probe');
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/Read-only file system/);
  });

  it('cannot write anywhere but /tmp (and a workspace approved for writing)', async () => {
    const places = ['/', '/etc', '/usr', '/usr/local/bin', '/var', '/var/tmp', '/root', '/home', '/opt', '/run', '/dev', '/dev/shm', '/dev/mqueue', '/sys/fs/cgroup', '/workspace'];
    const script = `for d in ${places.join(' ')}; do if (echo x > "$d/.probe") 2>/dev/null; then echo "WROTE $d"; fi; done; find / \\( -path /proc -o -path /sys \\) -prune -o -type d -writable -print 2>/dev/null`;
    const readOnly = await cold.exec(script);
    expect(readOnly.stdout.split('\n').filter(Boolean).sort()).toEqual(['/tmp']);
    const writable = await service.acquire('hardening-writer', { workspace: workspace.dir, access: 'read-write' });
    try {
      const result = await writable.exec(script);
      expect(result.stdout.split('\n').filter(Boolean).sort()).toEqual(['/tmp', '/workspace', 'WROTE /workspace']);
    } finally {
      await writable.destroy();
    }
    expect((await cold.exec('cat /workspace/README.txt')).stdout).toBe('hello from the host\n');
  });

  it('has no Docker socket inside', async () => {
    const result = await pooled.exec('ls -la /var/run/docker.sock /run/docker.sock 2>&1; find / -xdev -name "docker.sock" 2>/dev/null');
    expect(result.stdout).not.toMatch(/^s/m);
    expect(result.stdout).toMatch(/No such file/);
  });

  it('kills a command past its timeout, keeps its output so far and reports it timed out', async () => {
    const started = performance.now();
    const result = await cold.exec('echo before; sleep 300 & echo "child $!"; sleep 30; echo after', { timeoutMs: 1500 });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBe(137);
    expect(result.stdout).toMatch(/^before\nchild \d+\n$/);
    expect(performance.now() - started).toBeLessThan(10_000);
    // The background child went with it, and the sandbox still works.
    const left = await cold.exec('for p in /proc/[0-9]*; do cat "$p/comm" 2>/dev/null; done | grep -c "^sleep$" || true');
    expect(left.stdout.trim()).toBe('0');
    expect((await cold.exec('echo alive')).stdout).toBe('alive\n');
  });

  it('refuses processes past the pids limit', async () => {
    const probe = [
      'import os, time',
      'kids = []',
      'try:',
      '    for _ in range(4 * ' + String(pids) + '):',
      '        pid = os.fork()',
      '        if pid == 0:',
      '            time.sleep(30)',
      '            os._exit(0)',
      '        kids.append(pid)',
      '    print("not refused", len(kids))',
      'except OSError as e:',
      '    print("refused", len(kids), e.errno)',
      'for kid in kids:',
      '    os.kill(kid, 9)',
    ].join('\n');
    const result = await cold.exec(['python3', '-c', probe], { timeoutMs: 30_000 });
    const [word, count, errno] = result.stdout.trim().split(' ');
    expect(word).toBe('refused');
    // EAGAIN, once the container holds the limit (init, keeper and the probe itself count too).
    expect(Number(errno)).toBe(11);
    expect(Number(count)).toBeLessThan(pids);
    expect(Number(count)).toBeGreaterThan(pids - 10);
  });

  it('contains a fork bomb with the pids limit, and the host stays responsive', async () => {
    const bomb = cold.exec('(f() { f | f & }; f) & exec sleep 60', { timeoutMs: 6000 });
    const hostSpawnMs: number[] = [];
    let maxPids = 0;
    const deadline = Date.now() + 4000;
    while (Date.now() < deadline) {
      const started = performance.now();
      expect(spawnSync('true').status).toBe(0);
      hostSpawnMs.push(performance.now() - started);
      const stats = await docker.getContainer(cold.containerId).stats({ stream: false });
      maxPids = Math.max(maxPids, stats.pids_stats?.current ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const result = await bomb;
    expect(result.timedOut).toBe(true);
    // Forks were refused (the limit, not memory: 256 MiB is plenty for a few shells), and
    // however the bomb churned, the container never held more processes than the limit.
    expect(result.stderr).toMatch(/Cannot fork/);
    expect(maxPids).toBeGreaterThan(0);
    expect(maxPids).toBeLessThanOrEqual(pids);
    expect(Math.max(...hostSpawnMs)).toBeLessThan(2000);
    expect((await cold.exec('echo alive')).stdout).toBe('alive\n');
  });

  it('kills only the command that allocates past the memory limit', async () => {
    const result = await pooled.exec(['python3', '-c', `b = bytearray(${2 * memoryBytes}); print("allocated")`], { timeoutMs: 60_000 });
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(137);
    expect(result.stdout).toBe('');
    const info = await docker.getContainer(pooled.containerId).inspect();
    expect(info.State.Running).toBe(true);
    expect((await pooled.exec('echo alive')).stdout).toBe('alive\n');
  });
});
