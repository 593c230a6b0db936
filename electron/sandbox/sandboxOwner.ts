/**
 * Which launch of Sophia owns a container. Several launches may share one Docker engine
 * (the desktop app, a browser host, tests), so start-up clean-up removes only containers
 * whose owner is gone: same host, and its process has exited (a reused pid is told apart
 * by the process start time on Linux).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { labelKeys } from './hardening';

export interface Owner {
  readonly host: string;
  readonly pid: number;
  /** Linux: the process start time in clock ticks since boot; elsewhere empty. */
  readonly started: string;
  readonly id: string;
}

function processStart(pid: number): string {
  if (process.platform !== 'linux') return '';
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '';
  } catch {
    return '';
  }
}

/** The owner identity of a process on this host (by default, this one). */
export function ownerOf(pid: number = process.pid): Owner {
  const host = hostname();
  const started = processStart(pid);
  return { host, pid, started, id: `${host}/${pid}/${started}` };
}

export function currentOwner(): Owner {
  return ownerOf(process.pid);
}

export function ownerLabels(owner: Owner): Record<string, string> {
  return { [labelKeys.app]: '1', [labelKeys.owner]: owner.id, [labelKeys.host]: owner.host, [labelKeys.pid]: String(owner.pid) };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when the labels name a launch on this host that has ended. Containers of another
 * host (a shared remote engine) or without owner labels are not ours to judge.
 */
export function ownerIsGone(labels: Readonly<Record<string, string>>, here: Owner = currentOwner()): boolean {
  const host = labels[labelKeys.host];
  const owner = labels[labelKeys.owner];
  const pid = Number(labels[labelKeys.pid]);
  if (host !== here.host || owner === undefined || !Number.isSafeInteger(pid) || pid <= 0) return false;
  if (owner === here.id) return false;
  if (!processAlive(pid)) return true;
  const started = owner.split('/').at(-1) ?? '';
  // The pid lives again, but as another process: the owner is gone.
  return process.platform === 'linux' && started !== '' && processStart(pid) !== started;
}
