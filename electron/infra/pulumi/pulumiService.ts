/**
 * Pulumi through the Automation API (`LocalWorkspace` on the workspace's Pulumi project):
 * stacks, preview, up, refresh, history, config rollback and cancel. Every operation's
 * engine events go to the deployment monitor as they arrive.
 *
 * `up` runs only a plan that a preview made and the person approved. Before deploying,
 * the program, the stack's configuration and the stack's last update are compared with
 * what the preview saw; if any changed (or the preview is too old), the plan is stale: a
 * fresh preview is run and shown instead, and nothing is deployed.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { EngineEvent, LocalWorkspace, PulumiCommand, Stack, UpdateSummary } from '@pulumi/pulumi/automation';
import type { DeploymentPhase, DeploymentPlan, SophiaEvent, StoppedItem } from '../../../shared/contract';
import { SophiaError } from '../../../shared/errors';
import type { AuditSink } from '../../audit/auditLog';
import { onDemand } from '../../core/onDemand';
import { createLogger } from '../../log';
import type { SecretReader } from '../../keychain/secretReader';
import { estimateCost, loadPricing, type PricedChange } from '../pricing';
import { EngineEventFolder, summaryText } from './engineEvents';
import type { OfflineGuard } from '../../models/offlineGuard';
import type { InfraStateStore } from '../infraState';

const log = createLogger('pulumiService');

// The Automation API (seconds and over a hundred megabytes with its gRPC and protobuf code) loads
// with the first Pulumi operation, not at start. A file specifier: Node's ESM loader refuses the
// package's directory import (`@pulumi/pulumi/automation`).
const automation = onDemand('@pulumi/pulumi/automation', () => import('@pulumi/pulumi/automation/index.js'));

export interface PulumiServiceOptions {
  /** The Pulumi project folder (absolute), or undefined when no workspace is open. */
  readonly projectDir: () => string | undefined;
  /** The workspace root, where `.sophia/pricing.yaml` lives. */
  readonly workspace: () => string;
  /** `PULUMI_BACKEND_URL`; empty leaves the CLI's own login. */
  readonly backendUrl: () => string;
  /** Offline mode: only a local backend (`file://`, loopback); checked before the CLI runs. */
  readonly offline?: OfflineGuard;
  /** A Pulumi installation root (`<root>/bin/pulumi`); by default `pulumi` on the PATH. */
  readonly cliRoot?: string | undefined;
  readonly secrets: SecretReader;
  readonly publish: (event: SophiaEvent) => void;
  readonly audit: AuditSink;
  /** Throws when the emergency stop is engaged. */
  readonly guard: () => void;
  /** How long an approved preview may be applied without previewing again (15 minutes). */
  readonly planMaxAgeMs?: number;
  /** Where previews, stacks and deployments are kept across restarts (`sophia.db`); in memory only without it. */
  readonly state?: InfraStateStore;
}

/** A preview as approved: what it showed, and what it was made from. */
interface PlanRecord {
  readonly plan: DeploymentPlan;
  readonly stack: string;
  readonly projectDir: string;
  readonly fingerprint: string;
  readonly createdAt: number;
}

interface Running {
  readonly deploymentId: string;
  readonly stack: string;
  readonly phase: DeploymentPhase;
  readonly controller: AbortController;
  readonly target: Stack;
  readonly done: Promise<unknown>;
  stopped: boolean;
}

export type UpOutcome =
  | { readonly kind: 'stale'; readonly reason: string; readonly plan: DeploymentPlan }
  | { readonly kind: 'succeeded' | 'failed' | 'cancelled'; readonly deploymentId: string; readonly summary: string; readonly outputs: Record<string, string>; readonly message: string };

export interface StackInfo {
  readonly name: string;
  readonly current: boolean;
  readonly lastUpdate?: string | undefined;
  readonly resourceCount?: number | undefined;
  readonly updateInProgress?: boolean | undefined;
}

const stackName = /^[A-Za-z0-9_.-]{1,100}$/;
const maxPlans = 50;
const maxFingerprintFiles = 2000;
const maxFingerprintBytes = 20 * 1024 * 1024;
const skippedDirs = new Set(['node_modules', '.git', '.pulumi', 'bin', 'obj', '__pycache__', 'venv', '.venv']);

export class PulumiService {
  readonly #plans = new Map<string, PlanRecord>();
  readonly #running = new Map<string, Running>();
  #command: Promise<PulumiCommand> | undefined;

  constructor(private readonly options: PulumiServiceOptions) {
    // Previews made before a restart: still checked against the program, configuration, stack and age before an up.
    for (const record of options.state?.plans('pulumi', planRecordOf) ?? []) this.#plans.set(record.plan.deploymentId, record);
  }

  /** The plan of a preview this launch made, for the approval card. */
  plan(planId: string): DeploymentPlan | undefined {
    return this.#plans.get(planId)?.plan;
  }

  async listStacks(): Promise<StackInfo[]> {
    const workspace = await this.#workspace();
    const stacks = await workspace.listStacks();
    this.options.state?.saveStacks(workspace.workDir, stacks);
    return stacks.map((stack) => ({ name: stack.name, current: stack.current, lastUpdate: stack.lastUpdate, resourceCount: stack.resourceCount, updateInProgress: stack.updateInProgress }));
  }

  /** Runs a preview and keeps its plan; a stack that does not exist yet is created (empty). */
  async preview(stack: string, phase: DeploymentPhase = 'preview'): Promise<DeploymentPlan> {
    this.options.guard();
    const name = checkStack(stack);
    const workspace = await this.#workspace();
    const projectDir = workspace.workDir;
    const target = await (await automation()).Stack.createOrSelect(name, workspace);
    const fingerprint = await this.#fingerprint(projectDir, target);
    const deploymentId = `plan-${randomUUID().slice(0, 12)}`;
    const changes: PricedChange[] = [];
    const folder = new EngineEventFolder((step) => this.options.publish({ type: 'deployment.resource', deploymentId, step }));
    const onEvent = (event: EngineEvent): void => {
      if (!folder.fold(event)) return;
      const meta = event.resourcePreEvent?.metadata;
      if (meta) changes.push({ type: meta.type, op: meta.op, ...(meta.old ? { oldInputs: meta.old.inputs } : {}), ...(meta.new ? { newInputs: meta.new.inputs } : {}) });
    };
    this.#publishPhase(deploymentId, phase, 'running', `Previewing ${name}…`, name);
    let failure: unknown;
    await this.#track({ deploymentId, stack: name, phase, target }, (signal) => target.preview({ onEvent, signal, color: 'never' })).catch((error: unknown) => {
      failure = error;
    });
    const counts = folder.counts ?? { create: 0, update: 0, delete: 0, replace: 0, same: 0 };
    const plan: DeploymentPlan = {
      deploymentId,
      phase,
      target: name,
      at: Date.now(),
      counts,
      summary: summaryText(counts),
      steps: folder.steps,
      cost: estimateCost(changes, await loadPricing(this.options.workspace())),
      diagnostics: folder.diagnostics,
    };
    if (failure !== undefined) {
      const message = commandMessage(failure);
      this.#publishPhase(deploymentId, phase, 'failed', message, name);
      this.options.publish({ type: 'deployment.plan', plan: { ...plan, summary: `preview failed: ${message}`.slice(0, 2000) } });
      throw new SophiaError('unavailable', `The preview of ${name} failed: ${message}`);
    }
    this.#remember({ plan, stack: name, projectDir, fingerprint, createdAt: Date.now() });
    this.options.publish({ type: 'deployment.plan', plan });
    this.#publishPhase(deploymentId, phase, 'succeeded', plan.summary, name);
    return plan;
  }

  /**
   * Deploys the approved plan. A plan that no longer matches the program, the stack's
   * configuration or its state is not deployed: a fresh preview is made and returned.
   */
  async up(stack: string, planId: string): Promise<UpOutcome> {
    this.options.guard();
    const name = checkStack(stack);
    const record = this.#plans.get(planId);
    if (!record) throw new SophiaError('bad_request', `There is no preview ${planId.slice(0, 64)} in this session: run a preview first.`);
    if (record.stack !== name) throw new SophiaError('bad_request', `Preview ${planId} is for stack ${record.stack}, not ${name}.`);
    const workspace = await this.#workspace();
    const target = await (await automation()).Stack.select(name, workspace);
    const stale = await this.#staleness(record, workspace.workDir, target);
    if (stale) {
      this.#forget(planId);
      log.info('approved preview is stale; previewing again', { planId, stack: name, reason: stale });
      this.options.audit.record({ kind: 'infrastructure', actor: 'system', summary: `Preview ${planId} of ${name} was stale (${stale}); previewed again instead of deploying`, data: { planId, stack: name, reason: stale } });
      const plan = await this.preview(name);
      return { kind: 'stale', reason: stale, plan };
    }
    // One approval, one deployment.
    this.#forget(planId);
    const deploymentId = `up-${randomUUID().slice(0, 12)}`;
    const folder = new EngineEventFolder((step) => this.options.publish({ type: 'deployment.resource', deploymentId, step }));
    this.options.audit.record({ kind: 'infrastructure', actor: 'system', summary: `Deploying ${name} from approved preview ${planId}: ${record.plan.summary}`, data: { planId, deploymentId, stack: name, counts: record.plan.counts } });
    this.#publishPhase(deploymentId, 'update', 'running', `Deploying ${name}: ${record.plan.summary}`, name);
    let running: Running | undefined;
    try {
      const result = await this.#track({ deploymentId, stack: name, phase: 'update', target }, (signal, entry) => {
        running = entry;
        return target.up({ onEvent: (event) => folder.fold(event), signal, color: 'never', message: `Sophia: approved preview ${planId}` });
      });
      const outputs = Object.fromEntries(Object.entries(result.outputs).map(([key, output]) => [key, output.secret ? '[secret]' : display(output.value)]));
      this.options.publish({
        type: 'deployment.outputs',
        deploymentId,
        outputs: Object.entries(outputs).slice(0, 200).map(([key, value]) => ({ name: key.slice(0, 200), value: value.slice(0, 2000), secret: value === '[secret]' })),
      });
      const summary = summaryText(folder.counts ?? record.plan.counts, 'done');
      this.#keepDeployment({ id: deploymentId, target: name, projectDir: workspace.workDir, phase: 'update', status: 'succeeded', summary, outputs });
      this.#publishPhase(deploymentId, 'update', 'succeeded', summary, name);
      return { kind: 'succeeded', deploymentId, summary, outputs, message: `Deployed ${name}: ${summary}.` };
    } catch (error) {
      const cancelled = running?.stopped === true || folder.cancelled;
      const message = cancelled ? 'Cancelled by the emergency stop; resources already changed stay as they are.' : commandMessage(error);
      const summary = summaryText(folder.counts ?? { create: 0, update: 0, delete: 0, replace: 0, same: 0 }, 'done');
      this.#keepDeployment({ id: deploymentId, target: name, projectDir: workspace.workDir, phase: 'update', status: cancelled ? 'cancelled' : 'failed', summary: `${message} (${summary})`, outputs: {} });
      this.#publishPhase(deploymentId, 'update', cancelled ? 'cancelled' : 'failed', `${message} (${summary})`, name);
      return { kind: cancelled ? 'cancelled' : 'failed', deploymentId, summary, outputs: {}, message };
    }
  }

  /** Brings the stack's state in line with the real resources (the engine's refresh). */
  async refresh(stack: string): Promise<{ deploymentId: string; summary: string; ok: boolean; message: string }> {
    this.options.guard();
    const name = checkStack(stack);
    const workspace = await this.#workspace();
    const target = await (await automation()).Stack.select(name, workspace);
    const deploymentId = `refresh-${randomUUID().slice(0, 12)}`;
    const folder = new EngineEventFolder((step) => this.options.publish({ type: 'deployment.resource', deploymentId, step }));
    this.#publishPhase(deploymentId, 'refresh', 'running', `Refreshing ${name}…`, name);
    try {
      await this.#track({ deploymentId, stack: name, phase: 'refresh', target }, (signal) => target.refresh({ onEvent: (event) => folder.fold(event), signal, color: 'never' }));
      const summary = `${folder.steps.length} resource(s) refreshed`;
      this.#keepDeployment({ id: deploymentId, target: name, projectDir: workspace.workDir, phase: 'refresh', status: 'succeeded', summary, outputs: {} });
      this.#publishPhase(deploymentId, 'refresh', 'succeeded', summary, name);
      return { deploymentId, summary, ok: true, message: `Refreshed ${name}: ${summary}.` };
    } catch (error) {
      const message = commandMessage(error);
      this.#publishPhase(deploymentId, 'refresh', 'failed', message, name);
      return { deploymentId, summary: '', ok: false, message };
    }
  }

  async history(stack: string, pageSize = 10): Promise<UpdateSummary[]> {
    const workspace = await this.#workspace();
    const target = await (await automation()).Stack.select(checkStack(stack), workspace);
    return target.history(Math.min(Math.max(1, pageSize), 100), 1);
  }

  /** The configuration change a rollback to `version` makes: keys set and removed. */
  async rollbackChanges(stack: string, version: number): Promise<{ set: Record<string, string>; remove: string[]; current: Record<string, string>; entry: UpdateSummary }> {
    const workspace = await this.#workspace();
    const name = checkStack(stack);
    const target = await (await automation()).Stack.select(name, workspace);
    const entries = await target.history(100, 1);
    const entry = entries.find((item) => item.version === version);
    if (!entry) throw new SophiaError('bad_request', `Stack ${name} has no deployment version ${version}.`);
    if (entry.kind !== 'update') throw new SophiaError('bad_request', `Version ${version} of ${name} was a ${entry.kind}, not a deployment.`);
    const wanted: Record<string, string> = {};
    for (const [key, value] of Object.entries(entry.config ?? {})) {
      if (value.secret) throw new SophiaError('refused', `Version ${version} has a secret configuration value (${key}); restore it by hand.`);
      wanted[key] = value.value;
    }
    const current = Object.fromEntries(Object.entries(await target.getAllConfig()).map(([key, value]) => [key, value.value]));
    const set = Object.fromEntries(Object.entries(wanted).filter(([key, value]) => current[key] !== value));
    const remove = Object.keys(current).filter((key) => !(key in wanted));
    return { set, remove, current, entry };
  }

  /**
   * Puts the stack's configuration back as it was at `version`, then previews: the
   * deployment itself is a separate, approved `up` of that preview.
   */
  async rollback(stack: string, version: number): Promise<{ plan: DeploymentPlan; set: Record<string, string>; remove: string[] }> {
    this.options.guard();
    const name = checkStack(stack);
    const { set, remove, current } = await this.rollbackChanges(name, version);
    const workspace = await this.#workspace();
    const target = await (await automation()).Stack.select(name, workspace);
    this.options.audit.record({ kind: 'infrastructure', actor: 'system', summary: `Rolling back the configuration of ${name} to version ${version}`, data: { stack: name, version, set: Object.keys(set), remove, previous: Object.keys(current) } });
    for (const key of remove) await target.removeConfig(key);
    if (Object.keys(set).length) await target.setAllConfig(Object.fromEntries(Object.entries(set).map(([key, value]) => [key, { value }])));
    const plan = await this.preview(name, 'rollback');
    return { plan, set, remove };
  }

  /** The emergency stop: every running operation is cancelled (SIGINT to the CLI, and `pulumi cancel`). */
  async stopAll(): Promise<StoppedItem[]> {
    const running = [...this.#running.values()];
    return Promise.all(
      running.map(async (entry): Promise<StoppedItem> => {
        entry.stopped = true;
        entry.controller.abort();
        // The CLI ends gracefully on SIGINT; `cancel` also reaches an update a service backend runs.
        if (entry.phase !== 'preview') {
          await entry.target.cancel().catch((error: unknown) => log.warn('pulumi cancel failed (the SIGINT still ends the update)', { stack: entry.stack, error: commandMessage(error) }));
        }
        await entry.done.catch(() => undefined);
        return { kind: 'deployment', id: entry.deploymentId, label: `${entry.phase} of ${entry.stack}`.slice(0, 200), outcome: 'stopped' };
      }),
    );
  }

  async #track<T>(info: { deploymentId: string; stack: string; phase: DeploymentPhase; target: Stack }, run: (signal: AbortSignal, entry: Running) => Promise<T>): Promise<T> {
    const busy = [...this.#running.values()].find((entry) => entry.stack === info.stack && entry.phase !== 'preview' && info.phase !== 'preview');
    if (busy) throw new SophiaError('refused', `Stack ${info.stack} is busy: a ${busy.phase} is running.`);
    const controller = new AbortController();
    let resolveDone: () => void = () => undefined;
    const entry: Running = { ...info, controller, done: new Promise<void>((resolve) => (resolveDone = resolve)), stopped: false };
    this.#running.set(info.deploymentId, entry);
    try {
      return await run(controller.signal, entry);
    } finally {
      this.#running.delete(info.deploymentId);
      resolveDone();
    }
  }

  #remember(record: PlanRecord): void {
    this.#plans.set(record.plan.deploymentId, record);
    this.#persist(() => this.options.state?.savePlan('pulumi', record.plan.deploymentId, record.stack, record, record.createdAt));
    while (this.#plans.size > maxPlans) {
      const oldest = this.#plans.keys().next().value;
      if (oldest === undefined) break;
      this.#forget(oldest);
    }
  }

  #forget(planId: string): void {
    this.#plans.delete(planId);
    this.#persist(() => this.options.state?.deletePlan(planId));
  }

  #keepDeployment(record: { id: string; target: string; projectDir: string; phase: string; status: string; summary: string; outputs: Record<string, string> }): void {
    this.#persist(() => this.options.state?.saveDeployment({ ...record, system: 'pulumi', at: Date.now() }));
  }

  /** Keeping the state is a record, not a condition: a write that fails is logged and the operation's outcome stands. */
  #persist(write: () => void): void {
    try {
      write();
    } catch (error) {
      log.error('infrastructure state could not be saved', { error });
    }
  }

  async #staleness(record: PlanRecord, projectDir: string, target: Stack): Promise<string | undefined> {
    if (projectDir !== record.projectDir) return 'the Pulumi project folder changed';
    const maxAge = this.options.planMaxAgeMs ?? 15 * 60_000;
    if (Date.now() - record.createdAt > maxAge) return `the preview is older than ${Math.round(maxAge / 60_000)} minutes`;
    const now = await this.#fingerprint(projectDir, target);
    if (now !== record.fingerprint) {
      const [program, state] = [now.split('|'), record.fingerprint.split('|')];
      return program[0] !== state[0] ? 'the Pulumi program or its configuration changed since the preview' : 'the stack was updated since the preview';
    }
    return undefined;
  }

  /** The program and configuration files' hash, and the stack's last update: what a preview depends on. */
  async #fingerprint(projectDir: string, target: Stack): Promise<string> {
    const hash = createHash('sha256');
    const files: string[] = [];
    const walk = async (dir: string, depth: number): Promise<void> => {
      if (depth > 8 || files.length >= maxFingerprintFiles) return;
      const entries = await readdir(dir, { withFileTypes: true });
      entries.sort((a, b) => a.name.localeCompare(b.name));
      for (const entry of entries) {
        if (files.length >= maxFingerprintFiles) return;
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (!skippedDirs.has(entry.name) && !entry.name.startsWith('.')) await walk(full, depth + 1);
        } else if (entry.isFile()) {
          files.push(full);
        }
      }
    };
    await walk(projectDir, 0);
    let bytes = 0;
    for (const file of files) {
      const info = await stat(file);
      bytes += info.size;
      hash.update(path.relative(projectDir, file)).update('\0');
      // Past the byte budget, size and time stand in for content.
      hash.update(bytes <= maxFingerprintBytes ? await readFile(file) : `${info.size}:${info.mtimeMs}`).update('\0');
    }
    const last = await target.history(1, 1).catch(() => []);
    return `${hash.digest('hex')}|${last[0]?.version ?? 0}`;
  }

  async #workspace(): Promise<LocalWorkspace> {
    const projectDir = this.options.projectDir();
    if (!projectDir) throw new SophiaError('unavailable', 'No workspace is open, so there is no Pulumi project.');
    const projectFile = ['Pulumi.yaml', 'Pulumi.yml', 'Pulumi.json'];
    const found = await Promise.all(projectFile.map((file) => stat(path.join(projectDir, file)).then(() => true, () => false)));
    if (!found.some(Boolean)) throw new SophiaError('unavailable', `There is no Pulumi project (Pulumi.yaml) in ${projectDir}. Set the Pulumi project folder in Settings.`);
    this.options.offline?.checkPulumiBackend(this.options.backendUrl());
    const { LocalWorkspace, PulumiCommand } = await automation();
    this.#command ??= PulumiCommand.get(this.options.cliRoot ? { root: this.options.cliRoot } : {}).catch((error: unknown) => {
      this.#command = undefined;
      throw new SophiaError('unavailable', `The Pulumi CLI could not be run (${commandMessage(error)}). Install it from pulumi.com and make sure \`pulumi\` is on the PATH.`);
    });
    const pulumiCommand = await this.#command;
    const envVars: Record<string, string> = { PULUMI_SKIP_UPDATE_CHECK: 'true' };
    const backend = this.options.backendUrl();
    if (backend) envVars['PULUMI_BACKEND_URL'] = backend;
    const token = await this.options.secrets.get('pulumi-access-token');
    if (token) envVars['PULUMI_ACCESS_TOKEN'] = token;
    const passphrase = await this.options.secrets.get('pulumi-config-passphrase');
    if (passphrase) envVars['PULUMI_CONFIG_PASSPHRASE'] = passphrase;
    return LocalWorkspace.create({ workDir: projectDir, pulumiCommand, envVars });
  }

  #publishPhase(deploymentId: string, phase: DeploymentPhase, status: 'running' | 'succeeded' | 'failed' | 'cancelled', message: string, target: string): void {
    this.options.publish({ type: 'deployment.event', deploymentId, phase, status, message: message.slice(0, 60_000), target: target.slice(0, 200) });
  }
}

/** A preview record read back from the database, or undefined when it is not one. */
function planRecordOf(value: unknown): PlanRecord | undefined {
  const record = value as Partial<PlanRecord> | null;
  if (!record || typeof record !== 'object') return undefined;
  if (typeof record.stack !== 'string' || typeof record.projectDir !== 'string' || typeof record.fingerprint !== 'string' || typeof record.createdAt !== 'number') return undefined;
  if (!record.plan || typeof record.plan.deploymentId !== 'string' || !/^plan-[a-f0-9-]{1,40}$/.test(record.plan.deploymentId)) return undefined;
  return record as PlanRecord;
}

function checkStack(stack: string): string {
  const name = stack.trim().split('/').pop() ?? '';
  if (!stackName.test(name)) throw new SophiaError('bad_request', 'A stack name is letters, digits, _ . and - (at most 100).');
  return name;
}

function display(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? '';
}

/** The CLI's own words: the last error lines of stderr, without the Automation API's wrapping. */
export function commandMessage(error: unknown): string {
  if (error instanceof SophiaError) return error.message;
  const text = error instanceof Error ? error.message : String(error);
  const stderr = /stderr: ([\s\S]*?)\n\s*err\?:/.exec(text)?.[1] ?? text;
  const lines = stderr.split('\n').map((line) => line.trim()).filter(Boolean);
  const errors = lines.filter((line) => line.startsWith('error:'));
  return (errors.length ? errors.slice(-3) : lines.slice(-3)).join(' ').slice(0, 2000) || 'the Pulumi CLI failed';
}

