/**
 * Settings → Engines in the main process: the stored engine profiles, their keys and
 * certificates in the keychain, and the one tasks run on. A profile is saved only after a
 * check against the engine itself passed with the material it will use, and an SSH profile
 * only with the host key the person confirmed, equal to the one the server presented.
 * Material is checked for shape before it goes anywhere, kept only in the keychain
 * (`engine-<id>-ca|cert|key|ssh-key`), never returned, and its private parts are taught to
 * the redactor as soon as they arrive.
 */
import { engineMaterialAccount, engineMaterialFields, engineLimits, limits, localEngineId, type EngineCheckView, type EngineListView, type EngineMaterial, type EngineMaterialField, type EngineProfile } from '../../../shared/contract';
import { engineAddress, engineMaterialFieldsFor, engineProfileProblem } from '../../../shared/engineProfiles';
import { SophiaError } from '../../../shared/errors';
import type { Handlers } from '../../../shared/handlers';
import type { AuditSink } from '../../audit/auditLog';
import type { Keychain } from '../../keychain/keychain';
import type { SecretRedactor } from '../../keychain/redactor';
import { createLogger } from '../../log';
import type { SettingsStore } from '../../settings/settingsStore';
import { checkEngineMaterial, privateKeyFragments } from './engineMaterial';

const log = createLogger('engines');

/** A keychain read by account name (`engine-<id>-ca` ...); null when nothing is there. */
export type EngineSecret = (account: string) => string | null;
export type CheckEngine = (profile: EngineProfile, secret: EngineSecret, options?: { timeoutMs?: number }) => Promise<EngineCheckView>;

/** This machine's socket: always listed, never stored. */
export const localEngineProfile: EngineProfile = { id: localEngineId, name: 'This machine', kind: 'local' };

export interface EngineProfilesOptions {
  readonly settings: SettingsStore;
  readonly keychain: Keychain;
  readonly redactor: SecretRedactor;
  readonly audit?: AuditSink;
  /** Connects to the engine and says what it found (engineClient's `checkEngine`). */
  readonly check: CheckEngine;
  /** Throws when no engine may be reached now (the emergency stop, offline mode and a remote host). */
  readonly guard?: (profile: EngineProfile) => void;
  /**
   * Told after every change, so the sandboxes follow it without a restart (the engine fleet's
   * `configure`). `renewed` names a stored profile whose keys were replaced: an engine made
   * with the old ones must not stay in use.
   */
  readonly changed?: (profiles: readonly EngineProfile[], active: string, renewed?: string) => void;
  /** How long a check may take before it counts as failed; 20 s by default (an SSH log-in and a container run). */
  readonly checkTimeoutMs?: number;
}

const privateFields: readonly EngineMaterialField[] = ['key', 'sshKey'];

export class EngineProfiles {
  readonly #options: EngineProfilesOptions;
  /** Saves, removals and selections one at a time: a save awaits its check, and nothing else may change the list meanwhile. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: EngineProfilesOptions) {
    this.#options = options;
  }

  /** Teaches the redactor the stored private keys, at start (a key printed by a command is cut like any secret). */
  loadIntoRedactor(): void {
    if (!this.#options.keychain.status().available) return;
    for (const profile of this.#options.settings.get().engines) {
      for (const field of privateFields) {
        try {
          const value = this.#options.keychain.get(engineMaterialAccount(profile.id, field));
          if (value) this.#teach(profile.id, field, value);
        } catch (error) {
          log.warn('could not read an engine key', { id: profile.id, field, error });
        }
      }
    }
  }

  list(): EngineListView {
    const keychain = this.#options.keychain.status();
    const settings = this.#options.settings.get();
    const stored = settings.engines.map((profile) => ({ profile, material: this.#materialSet(profile.id, keychain.available) }));
    return {
      keychain: { available: keychain.available, message: keychain.message },
      active: settings.activeEngine,
      engines: [{ profile: localEngineProfile, material: { ca: false, cert: false, key: false, sshKey: false } }, ...stored],
    };
  }

  /** Checks without storing anything: the material given, else (for a stored profile) what the keychain holds. */
  async check(profile: EngineProfile, material: EngineMaterial = {}): Promise<EngineCheckView> {
    this.#teachAll(profile.id, material);
    const problem = profileProblem(profile);
    if (problem) throw new SophiaError('bad_request', problem);
    checkFieldsForKind(profile, material);
    checkEngineMaterial(material);
    const stored = this.#options.settings.get().engines.some((other) => other.id === profile.id);
    return this.#runCheck(profile, this.#secret(profile, material, stored));
  }

  save(profile: EngineProfile, material: EngineMaterial = {}, replace = false): Promise<{ engines: EngineListView; check: EngineCheckView }> {
    // Known before anything else, so not even a refusal's message can carry it.
    this.#teachAll(profile.id, material);
    return this.#serial(async () => {
      const problem = profileProblem(profile);
      if (problem) throw new SophiaError('bad_request', problem);
      const engines = this.#options.settings.get().engines;
      const existing = engines.find((other) => other.id === profile.id);
      if (existing && !replace) throw new SophiaError('bad_request', `An engine with the id "${profile.id}" exists already: choose another id, or edit that engine.`);
      if (!existing && replace) throw new SophiaError('bad_request', `There is no engine "${profile.id}" to edit.`);
      if (!existing && engines.length >= engineLimits.profiles) throw new SophiaError('refused', `At most ${engineLimits.profiles} engines can be kept besides this machine.`);
      checkFieldsForKind(profile, material);
      checkEngineMaterial(material);
      const needed = engineMaterialFieldsFor(profile);
      const given = engineMaterialFields.filter((field) => material[field] !== undefined);
      const keychain = this.#options.keychain.status();
      if ((given.length > 0 || needed.length > 0) && !keychain.available) throw new SophiaError('unavailable', keychain.message);
      // An edit keeps the material it does not replace; a new profile starts from what was given only.
      const secret = this.#secret(profile, material, existing !== undefined);
      const missing = needed.filter((field) => secret(engineMaterialAccount(profile.id, field)) === null);
      if (missing.length > 0) throw new SophiaError('bad_request', missingMaterialMessage(profile, missing));
      // The pair is checked as it will be used: a new certificate with the stored key, or the other way round.
      if (profile.kind === 'tls') checkEngineMaterial({ cert: secret(engineMaterialAccount(profile.id, 'cert')) ?? '', key: secret(engineMaterialAccount(profile.id, 'key')) ?? '' });

      const check = await this.#runCheck(profile, secret);
      if (!check.ok) throw new SophiaError('refused', `Not saved: the check of ${profile.name} failed. ${check.message}`, { check });
      if (profile.kind === 'ssh') {
        if (!check.hostKey) throw new SophiaError('refused', 'Not saved: the SSH server presented no host key to pin.');
        if (!profile.hostKey) {
          throw new SophiaError('refused', `Not saved: confirm the server's host key first. It presented ${check.hostKey}; compare it with the server's own (ssh-keygen -lf on its host key) and choose "Trust this host key".`, { check });
        }
        if (profile.hostKey !== check.hostKey) {
          throw new SophiaError('refused', `Not saved: the server presented the host key ${check.hostKey}, not the confirmed ${profile.hostKey}. The host key changed or another machine answered; check the server before trusting the new key.`, { check });
        }
      }

      for (const field of given) this.#options.keychain.set(engineMaterialAccount(profile.id, field), material[field] ?? '');
      // Material this kind no longer uses (a TLS profile edited into an SSH one, or leftovers under a reused id) does not linger.
      if (keychain.available) {
        for (const field of engineMaterialFields) {
          if (!needed.includes(field)) this.#options.keychain.remove(engineMaterialAccount(profile.id, field));
        }
      }
      const next = existing ? engines.map((other) => (other.id === profile.id ? profile : other)) : [...engines, profile];
      this.#options.settings.update({ engines: next });
      log.info('engine saved', { id: profile.id, kind: profile.kind, replaced: existing !== undefined, material: given });
      this.#options.audit?.record({
        kind: 'policy',
        actor: 'user',
        summary: `Engine ${profile.name} (${profile.kind}, ${engineAddress(profile)}) ${existing ? 'changed' : 'added'} after its check passed${check.version ? ` (version ${check.version})` : ''}`,
        data: { id: profile.id, kind: profile.kind, address: engineAddress(profile), hostKey: profile.hostKey, material: given, check: { version: check.version, apiVersion: check.apiVersion, hardened: check.hardened, rttMs: check.rttMs } },
      });
      this.#changed(existing !== undefined && given.length > 0 ? profile.id : undefined);
      return { engines: this.list(), check };
    });
  }

  remove(id: string): Promise<EngineListView> {
    return this.#serial(() => {
      if (id === localEngineId) throw new SophiaError('bad_request', 'This machine\'s engine cannot be removed.');
      const settings = this.#options.settings.get();
      const profile = settings.engines.find((other) => other.id === id);
      if (!profile) throw new SophiaError('bad_request', `There is no engine "${id}".`);
      // The keys go first: a profile gone while its keys stayed would leave them with nothing pointing at them.
      const keychain = this.#options.keychain.status();
      if (keychain.available) {
        for (const field of engineMaterialFields) this.#options.keychain.remove(engineMaterialAccount(id, field));
      } else if (engineMaterialFieldsFor(profile).length > 0) {
        throw new SophiaError('unavailable', `Not removed: its keys could not be wiped from the keychain. ${keychain.message}`);
      }
      const active = settings.activeEngine === id ? localEngineId : settings.activeEngine;
      this.#options.settings.update({ engines: settings.engines.filter((other) => other.id !== id), activeEngine: active });
      log.info('engine removed', { id });
      this.#options.audit?.record({
        kind: 'policy',
        actor: 'user',
        summary: `Engine ${profile.name} (${profile.kind}) removed with its keychain entries${settings.activeEngine === id ? '; tasks run on this machine again' : ''}`,
        data: { id, kind: profile.kind },
      });
      this.#changed();
      return this.list();
    });
  }

  select(id: string): Promise<EngineListView> {
    return this.#serial(() => {
      const settings = this.#options.settings.get();
      const profile = id === localEngineId ? localEngineProfile : settings.engines.find((other) => other.id === id);
      if (!profile) throw new SophiaError('bad_request', `There is no engine "${id}".`);
      if (settings.activeEngine !== id) {
        this.#options.settings.update({ activeEngine: id });
        log.info('active engine', { id });
        this.#options.audit?.record({ kind: 'policy', actor: 'user', summary: `Tasks run on ${profile.name} (${profile.kind}) from now`, data: { id, kind: profile.kind } });
        this.#changed();
      }
      return this.list();
    });
  }

  #serial<T>(work: () => Promise<T> | T): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** What an engine made from a stored profile reads its keys through: the keychain, that profile's accounts only. */
  secretFor(profile: EngineProfile): EngineSecret {
    return this.#secret(profile, {}, true);
  }

  #changed(renewed?: string): void {
    const settings = this.#options.settings.get();
    try {
      this.#options.changed?.(settings.engines, settings.activeEngine, renewed);
    } catch (error) {
      // Stored already: the change is not undone, but the person must hear that it did not reach the sandboxes.
      log.error('the sandboxes did not take the engine change', { error });
      throw new SophiaError('internal', 'The engine settings were saved, but the sandboxes did not take the change; restart Sophia to apply it.');
    }
  }

  async #runCheck(profile: EngineProfile, secret: EngineSecret): Promise<EngineCheckView> {
    this.#options.guard?.(profile);
    try {
      const check = await this.#options.check(profile, secret, { timeoutMs: this.#options.checkTimeoutMs ?? 20_000 });
      // The engine's own words (an error it sent back) are shown: cut to the contract's length, known secrets cut out.
      return { ...check, message: this.#options.redactor.redact(check.message).slice(0, limits.notice) };
    } catch (error) {
      if (error instanceof SophiaError && error.code !== 'internal') return { ok: false, message: this.#options.redactor.redact(error.message) };
      log.error('engine check failed', { id: profile.id, error });
      return { ok: false, message: 'The check could not run (an error in Sophia; see its log).' };
    }
  }

  /** The check's view of the keychain: only this profile's accounts, the material given first, stored values only for a stored profile. */
  #secret(profile: EngineProfile, material: EngineMaterial, stored: boolean): EngineSecret {
    const needed = engineMaterialFieldsFor(profile);
    return (account) => {
      const field = needed.find((candidate) => engineMaterialAccount(profile.id, candidate) === account);
      if (!field) return null;
      const given = material[field];
      if (given !== undefined) return given;
      if (!stored || !this.#options.keychain.status().available) return null;
      const value = this.#options.keychain.get(account);
      if (value && privateFields.includes(field)) this.#teach(profile.id, field, value);
      return value === '' ? null : value;
    };
  }

  #materialSet(id: string, available: boolean): Record<EngineMaterialField, boolean> {
    const set = { ca: false, cert: false, key: false, sshKey: false };
    if (!available) return set;
    for (const field of engineMaterialFields) {
      try {
        const value = this.#options.keychain.get(engineMaterialAccount(id, field));
        set[field] = value !== null && value !== '';
        if (value && privateFields.includes(field)) this.#teach(id, field, value);
      } catch (error) {
        log.warn('could not read engine material', { id, field, error });
      }
    }
    return set;
  }

  #teachAll(id: string, material: EngineMaterial): void {
    for (const field of privateFields) {
      const value = material[field];
      if (value) this.#teach(id, field, value);
    }
  }

  #teach(id: string, field: EngineMaterialField, value: string): void {
    const name = engineMaterialAccount(id, field);
    this.#options.redactor.add(name, value);
    for (const fragment of privateKeyFragments(value)) this.#options.redactor.add(name, fragment);
  }
}

function profileProblem(profile: EngineProfile): string | undefined {
  return engineProfileProblem(profile);
}

/** Material for another kind is a mistake in the form, not something to store on the side. */
function checkFieldsForKind(profile: EngineProfile, material: EngineMaterial): void {
  const allowed = engineMaterialFieldsFor(profile);
  const stray = engineMaterialFields.filter((field) => material[field] !== undefined && !allowed.includes(field));
  if (stray.length > 0) throw new SophiaError('bad_request', `A ${profile.kind} engine${profile.kind === 'ssh' ? ` logging in through the ${profile.sshAuth ?? 'agent'}` : ''} does not use ${stray.join(', ')}.`);
}

function missingMaterialMessage(profile: EngineProfile, missing: readonly EngineMaterialField[]): string {
  if (profile.kind === 'ssh') return 'An SSH engine logging in with a key needs that private key (OpenSSH or PEM, without a passphrase).';
  const names: Record<EngineMaterialField, string> = { ca: 'the CA certificate', cert: 'the client certificate', key: 'the client key', sshKey: 'the SSH key' };
  return `A TLS engine needs the CA certificate, the client certificate and its key (PEM); missing: ${missing.map((field) => names[field]).join(', ')}.`;
}

export function engineHandlers(engines: EngineProfiles): Pick<Handlers, 'engines.list' | 'engines.check' | 'engines.save' | 'engines.remove' | 'engines.select'> {
  return {
    'engines.list': () => engines.list(),
    'engines.check': (input) => engines.check(input.profile, input.material),
    'engines.save': (input) => engines.save(input.profile, input.material, input.replace ?? false),
    'engines.remove': (input) => engines.remove(input.id),
    'engines.select': (input) => engines.select(input.id),
  };
}
