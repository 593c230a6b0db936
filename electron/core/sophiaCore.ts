/**
 * The main-process services, free of Electron: the Electron main process and the browser
 * host both start exactly this, so what the browser tests exercise is what ships.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { appSettings, type AppStatus } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { Agent, type StepBudget } from '../agent/agent';
import { ConversationStore } from '../agent/conversationStore';
import { registerPlanTool } from '../agent/planTool';
import { ToolRegistry, type ToolGate } from '../agent/tools';
import { openAppDatabase } from '../db/appDatabase';
import type { SqliteDatabase } from '../db/sqlite';
import type { Handlers } from '../ipc/dispatch';
import { callUsage } from '../models/pricing';
import { createProvider, isOfflineMode, listModels, selectedModel, type ProviderEndpoints, type SecretReader } from '../models/providerFactory';
import type { SandboxService } from '../sandbox/sandbox';
import { createSandboxServiceFromEnv, sandboxHandlers } from '../sandbox/sandboxHandlers';
import { SettingsStore } from '../settings/settingsStore';
import { registerWorkspaceTools } from '../tools/workspaceTools';
import { registerToolOutputTool } from '../agent/toolOutputTool';
import type { ContextBudget } from '../agent/contextWindow';
import { registerCodeTools, registerIndexTools, canonicalProposal } from '../tools/codeTools';
import { CodeIndexService } from '../code/indexService';
import { registerCommandTools } from '../tools/commandTools';
import { codeHandlers } from '../code/codeHandlers';
import { FindingsService } from '../code/findingsService';
import { ProposalService } from '../code/proposalService';
import { createTestWriter } from '../code/testWriter';
import { SecretFileGrants } from '../code/secretFiles';
import { registerGitTools } from '../tools/gitTools';
import { registerPulumiTools } from '../tools/pulumiTools';
import { PulumiService } from '../infra/pulumi/pulumiService';
import { SnowflakeClient } from '../infra/snowflake/snowflakeClient';
import { SnowflakeService } from '../infra/snowflake/snowflakeService';
import { registerSnowflakeTools } from '../tools/snowflakeTools';
import { withCheckpoints } from '../git/checkpointGate';
import { OutsideMcpServers } from '../mcp/outsideServers';
import { mcpHandlers } from '../mcp/mcpHandlers';
import { GitService, type GitServiceOptions } from '../git/gitService';
import { gitHandlers } from '../git/gitHandlers';
import type { Keychain } from '../keychain/keychain';
import { SecretRedactor } from '../keychain/redactor';
import { OfflineGuard } from '../safety/offlineGuard';
import { createSafetyCore, type SafetyCore } from '../safety/safetyCore';
import { EventHub } from './eventHub';
import { onSlowLoads, slowLoads } from './onDemand';
import { StopController } from './stopController';
import { appVersion } from './version';

export interface SophiaCore {
  readonly events: EventHub;
  readonly stop: StopController;
  readonly handlers: Handlers;
  readonly agent: Agent;
  readonly registry: ToolRegistry;
  readonly settings: SettingsStore;
  readonly sandbox: SandboxService;
  /** Approval gate, policy, audit log, credentials. */
  readonly safety: SafetyCore;
  /** Proposed changes (diff, approve, apply) and review findings. */
  readonly code: { readonly proposals: ProposalService; readonly findings: FindingsService; readonly secretFiles: SecretFileGrants };
  /** Git, GitHub and checkpoints for the open workspace. */
  readonly git: GitService;
  /** Pulumi stacks (preview, approved up, refresh, history, rollback) and Snowflake DDL (plan, apply, restore). */
  readonly infra: { readonly pulumi: PulumiService; readonly snowflake: SnowflakeService };
  /** Outside MCP servers (Settings) whose tools the agent uses behind the gate, and their pins. */
  readonly mcp: { readonly outside: OutsideMcpServers };
  status(): AppStatus;
  /**
   * Starts what must not hold up the window: the sandbox service (clean-up of containers a
   * crash left, then the warm pool) and the outside MCP servers. The host calls it once the
   * address is printed or the window has painted; calling it again does nothing.
   */
  startAfterWindow(): void;
  close(): Promise<void>;
}

export interface CoreOptions {
  readonly host: AppStatus['host'];
  /** Where `sophia.db` lives. */
  readonly dataDir: string;
  /** The OS keychain; without one, no secret is available. */
  readonly secrets?: SecretReader;
  /** Replaces the approval gate every tool call passes (tests of the agent alone). */
  readonly gate?: ToolGate;
  /** The OS keychain by default. */
  readonly keychain?: Keychain;
  /** The administrator's policy file; the platform's system-wide path by default. */
  readonly managedPolicyFile?: string;
  /** Overrides the policy's approval timeout. */
  readonly approvalTimeoutMs?: number;
  readonly endpoints?: ProviderEndpoints;
  readonly budget?: Partial<StepBudget>;
  /** The context window and tool-output budget (tests make them small). */
  readonly context?: Partial<ContextBudget>;
  /** The Docker sandbox service; by default the real one, configured from the environment. */
  readonly sandbox?: SandboxService;
  /** False leaves out run_command (tests that register a recording stand-in by that name). */
  readonly commandTools?: boolean;
  /** Registers the git and GitHub tools (default); tests that register stand-ins of the same names turn it off. */
  readonly gitTools?: boolean;
  /** isomorphic-git's HTTP client for pushes; the Node one by default. */
  readonly gitHttp?: GitServiceOptions['http'];
  /** Registers the Pulumi and Snowflake tools (default); tests that register stand-ins of the same names turn it off. */
  readonly infraTools?: boolean;
  /** A Pulumi installation root (`<root>/bin/pulumi`); by default `pulumi` on the PATH. */
  readonly pulumiCliRoot?: string;
  /** The code index's worker script; by default the built one beside the main bundle. */
  readonly indexWorker?: URL;
}

export function createSophiaCore(options: CoreOptions): SophiaCore {
  // Owner-only, also when it already existed with a looser mode: it holds the databases, checkpoints and the index.
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32') chmodSync(options.dataDir, 0o700);
  const db: SqliteDatabase = openAppDatabase(path.join(options.dataDir, 'sophia.db'));
  // Known secret values are cut from every event before any renderer sees it.
  const redactor = new SecretRedactor();
  const events = new EventHub((event) => redactor.redactDeep(event));
  const stop = new StopController(events);
  const settings = new SettingsStore(db);
  const store = new ConversationStore(db);
  const safety = createSafetyCore({
    events,
    stop,
    redactor,
    dataDir: options.dataDir,
    workspace: () => settings.get().workspace,
    keychain: options.keychain,
    managedPolicyFile: options.managedPolicyFile,
    approvalTimeoutMs: options.approvalTimeoutMs,
  });
  const secrets = options.secrets ?? safety.secretReader;
  // Offline mode (a model on this machine) refuses every connection off it, in each client that would open one.
  const offline = new OfflineGuard(() => settings.get());
  const workspace = (): string | undefined => settings.get().workspace || undefined;
  const sandbox =
    options.sandbox ??
    createSandboxServiceFromEnv({
      publish: (event) => events.publish(event),
      guard: () => stop.assertRunning(),
      workspace,
      checkMirror: (mirror) => offline.check(mirror, 'building the sandbox image (from the Debian mirror)'),
    });
  stop.register('sandbox', () => sandbox.killAll());
  const git = new GitService({
    workspace: () => settings.get().workspace,
    settings: () => settings.get(),
    secrets,
    protectedBranches: () => safety.policy.policy().protectedBranches,
    audit: safety.audit,
    publish: (event) => events.publish(event),
    checkpointRoot: path.join(options.dataDir, 'checkpoints'),
    offline,
    ...(options.gitHttp ? { http: options.gitHttp } : {}),
    guard: () => stop.assertRunning(),
  });
  // Every approved call that may change state is preceded by a checkpoint of the workspace.
  const gate = withCheckpoints(options.gate ?? safety.gate, {
    recordBefore: async (conversationId, label) => (settings.get().workspace ? git.recordCheckpoint(conversationId, label) : undefined),
  });
  // Every tool, outside MCP tools pinned or not, passes this one gate: a pin is an input to its decision.
  const registry = new ToolRegistry(gate, safety.registryHooks);
  const outsideMcp = new OutsideMcpServers({
    registry,
    settings: () => settings.get(),
    savePins: (pins) => settings.update({ mcpPins: pins }),
    saveServers: (servers) => settings.update({ mcpServers: servers }),
    audit: safety.audit,
    offline,
    guard: () => stop.assertRunning(),
  });
  // Outside stdio servers are processes Sophia started: the stop ends them, Resume starts them again.
  stop.register('mcp-outside', () => outsideMcp.stopAll(), { kind: 'task', label: 'outside MCP servers' });
  // Secret files stay refused to every tool unless the person opens one (a request, never a tool).
  const secretFiles = new SecretFileGrants({ workspace: () => settings.get().workspace, audit: safety.audit });
  registerWorkspaceTools(registry, () => settings.get().workspace, secretFiles.allows);
  registerToolOutputTool(registry, store);
  const provider = async () => safety.wrapProvider(await createProvider(settings.get(), secrets, options.endpoints));
  const code = {
    proposals: new ProposalService({
      publish: (event) => events.publish(event),
      workspace: () => settings.get().workspace,
      canonical: canonicalProposal,
      requestTests: createTestWriter({
        provider,
        registry,
        onUsage: (conversationId, usage) => {
          if (!store.exists(conversationId)) return;
          const summary = store.addUsage(conversationId, callUsage(usage.provider.id, usage.provider.model, usage));
          events.publish({ type: 'conversation.updated', conversation: summary });
        },
      }),
    }),
    findings: new FindingsService({ publish: (event) => events.publish(event), workspace: () => settings.get().workspace, version: appVersion }),
    secretFiles,
  };
  registerCodeTools(registry, code);
  const codeIndex = new CodeIndexService({
    workspace: () => settings.get().workspace,
    storeDir: path.join(options.dataDir, 'code-index'),
    ...(options.indexWorker ? { worker: options.indexWorker } : {}),
  });
  registerIndexTools(registry, codeIndex);
  stop.register('code-index', () => codeIndex.stopAll(), { kind: 'task', label: 'code index build' });
  if (options.commandTools !== false) registerCommandTools(registry, sandbox, () => settings.get().workspace);
  if (options.gitTools !== false) registerGitTools(registry, git);
  const pulumi = new PulumiService({
    projectDir: () => {
      const current = settings.get();
      return current.workspace ? path.join(current.workspace, current.pulumiProjectDir) : undefined;
    },
    workspace: () => settings.get().workspace,
    backendUrl: () => settings.get().pulumiBackendUrl,
    offline,
    cliRoot: options.pulumiCliRoot,
    secrets,
    publish: (event) => events.publish(event),
    audit: safety.audit,
    guard: () => stop.assertRunning(),
  });
  stop.register('pulumi', () => pulumi.stopAll(), { kind: 'deployment', label: 'Pulumi operations' });
  if (options.infraTools !== false) registerPulumiTools(registry, pulumi);
  const snowflake = new SnowflakeService({
    client: new SnowflakeClient((environment) => settings.get().snowflake[environment], secrets, offline),
    publish: (event) => events.publish(event),
    audit: safety.audit,
    guard: () => stop.assertRunning(),
  });
  stop.register('snowflake', () => snowflake.stopAll(), { kind: 'ddl', label: 'Snowflake queries' });
  if (options.infraTools !== false) registerSnowflakeTools(registry, snowflake);
  const agent = new Agent({
    events,
    store,
    registry,
    stop,
    provider,
    workspace: () => settings.get().workspace,
    ...(options.budget ? { budget: options.budget } : {}),
    ...(options.context ? { context: options.context } : {}),
    // Every tool the role may use (the viewer's are the read-only ones, as in plan mode); the gate still decides each call.
    offerable: (definition) => definition.risk === 'read-only' || (safety.policy.policy().role !== 'viewer' && !safety.planMode.on),
    planMode: () => safety.planMode.on,
    effort: () => settings.get().anthropicEffort,
  });
  registerPlanTool(registry, (conversationId, steps) => agent.postPlan(conversationId, steps));

  const status = (): AppStatus => {
    const current = settings.get();
    const offline = isOfflineMode(current);
    return {
      version: appVersion,
      host: options.host,
      platform: process.platform,
      locked: stop.locked,
      model: { provider: current.provider, name: selectedModel(current), offline },
      ...(current.workspace ? { workspace: current.workspace } : {}),
      ...(slowLoads().length > 0 ? { loading: [...slowLoads()] } : {}),
    };
  };
  // A client whose first load takes a while shows in the status bar until it is ready.
  const unsubscribeLoads = onSlowLoads(() => events.publish({ type: 'status', status: status() }));

  let startedAfterWindow = false;
  let closed = false;
  const startAfterWindow = (): void => {
    if (startedAfterWindow || closed) return;
    startedAfterWindow = true;
    // Docker may be slow or absent: nothing waits for it, and the sandbox status says what is wrong.
    void sandbox.start();
    // An outside server that does not start leaves its tools out; the rest of the app does not wait for it.
    void outsideMcp.refresh();
  };

  const gitChannels = gitHandlers(git);
  const mcpChannels = mcpHandlers(outsideMcp);
  const audited: Handlers = safety.auditRequests({
    'app.status': () => status(),
    // A credential pasted into the chat goes no further: not to the model, not to the store.
    'chat.send': (input) => agent.send(redactor.redact(input.text), input.conversationId),
    'chat.cancel': (input) => ({ cancelled: agent.cancel(input.conversationId) }),
    'conversation.list': () => ({ conversations: store.list() }),
    'conversation.open': (input) => ({ conversation: store.get(input.conversationId), events: store.events(input.conversationId) }),
    'settings.get': () => settings.get(),
    'models.list': async () => {
      const models = await listModels(settings.get(), secrets, options.endpoints);
      // A name the settings could not store is not offered.
      return { models: models.filter((model) => appSettings.shape.anthropicModel.safeParse(model.id).success).map((model) => ({ id: model.id, displayName: model.displayName.slice(0, 200) })) };
    },
    'settings.set': (input) => {
      if (input.workspace && !path.isAbsolute(input.workspace)) {
        throw new SophiaError('bad_request', 'The workspace must be an absolute folder path.');
      }
      const next = settings.update(input);
      events.publish({ type: 'status', status: status() });
      return next;
    },
    'stop.all': () => stop.stopAll(),
    ...sandboxHandlers(sandbox, workspace),
    'stop.resume': () => {
      stop.resume();
      sandbox.resume();
      codeIndex.resume();
      outsideMcp.resume();
      events.publish({ type: 'status', status: status() });
      return { locked: false as const };
    },
    ...safety.handlers,
    ...codeHandlers(code, { approvals: safety.approvals, workspace: () => settings.get().workspace }),
    ...gitChannels.all,
    ...mcpChannels.all,
  });
  // Reading status, diffs and checkpoints changes nothing: not audited as requests, like the other read-only channels.
  const handlers: Handlers = { ...audited, ...gitChannels.readOnly, ...mcpChannels.readOnly };

  return {
    events,
    stop,
    handlers,
    agent,
    registry,
    settings,
    sandbox,
    safety,
    git,
    code,
    infra: { pulumi, snowflake },
    mcp: { outside: outsideMcp },
    status,
    startAfterWindow,
    close: async () => {
      closed = true;
      unsubscribeLoads();
      await stop.stopAll();
      await sandbox.close();
      code.proposals.close();
      codeIndex.close();
      await outsideMcp.close();
      safety.close();
      db.close();
    },
  };
}
