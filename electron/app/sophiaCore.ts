/**
 * The main-process services, free of Electron: the Electron main process and the browser
 * host both start exactly this, so what the browser tests exercise is what ships.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AppStatus } from '../../shared/contract';
import { Agent, type StepBudget } from '../agent/agent';
import { agentHandlers } from '../agent/agentHandlers';
import { ConversationStore } from '../agent/conversationStore';
import { registerPlanTool } from '../agent/planTool';
import { registerDiagnosisTool } from '../agent/diagnosisTool';
import { ToolRegistry, type ToolGate } from '../agent/tools';
import { openAppDatabase } from '../db/appDatabase';
import type { SqliteDatabase } from '../db/sqlite';
import type { Handlers } from '../../shared/handlers';
import { modelsHandlers } from '../models/modelsHandlers';
import { createProvider, isOfflineMode, selectedModel, type ProviderEndpoints } from '../models/providerFactory';
import type { SecretReader } from '../keychain/secretReader';
import type { SandboxService } from '../sandbox/sandbox';
import { createSandboxService, sandboxConfig, sandboxHandlers, workspaceImageHandlers } from '../sandbox/sandboxHandlers';
import { EngineFleet } from '../sandbox/engines/engineFleet';
import { settingsHandlers } from '../settings/settingsHandlers';
import { EngineProfiles, engineHandlers, type CheckEngine } from '../sandbox/engines/engineHandlers';
import { checkEngine, createEngine } from '../sandbox/engines/engineClient';
import { defaultSandboxImage } from '../sandbox/sandboxImage';
import { SettingsStore } from '../settings/settingsStore';
import { setupHandlers } from '../settings/setupHandlers';
import { registerWorkspaceTools } from '../tools/workspaceTools';
import { registerToolOutputTool } from '../agent/toolOutputTool';
import type { ContextBudget } from '../agent/contextWindow';
import { registerCodeTools, registerIndexTools, canonicalProposal } from '../tools/codeTools';
import { CodeIndexService } from '../code/indexService';
import { registerCommandTools, type CommandGrants } from '../tools/commandTools';
import { EgressProxies } from '../sandbox/egressProxy';
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
import { withCheckpoints } from '../safety/checkpointGate';
import { OutsideMcpServers } from '../mcp/outsideServers';
import { mcpHandlers } from '../mcp/mcpHandlers';
import { metricsHandlers } from '../metrics/metricsService';
import { GitService, type GitServiceOptions } from '../git/gitService';
import { gitHandlers } from '../git/gitHandlers';
import type { Keychain } from '../keychain/keychain';
import { SecretRedactor } from '../keychain/redactor';
import { OfflineGuard } from '../models/offlineGuard';
import { createSafetyCore, type SafetyCore } from '../safety/safetyCore';
import { EventHub } from '../core/eventHub';
import { onSlowLoads, slowLoads } from '../core/onDemand';
import { stopHandlers } from '../core/stopHandlers';
import { StopController } from '../core/stopController';
import { appVersion } from '../core/version';
import { UserHookStore } from '../hooks/hookConfig';
import { HookService } from '../hooks/hookService';
import { hooksHandlers } from '../hooks/hooksHandlers';
import { hookTurn, preToolUseCheck } from '../hooks/hookAdapters';
import { defaultManagedPolicyFile } from '../safety/policyService';
import { LogSourceService, logSourceHandlers } from '../logs/logSourceService';
import { registerLogTools } from '../tools/logTools';
import { InfraStateStore } from '../infra/infraState';
import { MemoryService, memoryHandlers } from '../memory/memoryService';
import { registerMemoryTools } from '../tools/memoryTools';
import { Telemetry } from '../telemetry/telemetry';

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
  /** Learned memory and project notes of the open workspace, and the infrastructure state kept across restarts. */
  readonly memory: { readonly service: MemoryService; readonly infraState: InfraStateStore };
  /** OpenTelemetry export of turns, model and tool calls, approvals and sandbox runs (off by default). */
  readonly telemetry: Telemetry;
  status(): AppStatus;
  /**
   * Starts what must not hold up the window: the sandbox service (clean-up of containers a
   * crash left, then the warm pool) and the outside MCP servers. The host calls it once the
   * address is printed or the window has painted; calling it again does nothing.
   */
  startAfterWindow(): void;
  close(): Promise<void>;
}

/**
 * The tools that act on outside systems, each group registered over its service, and the gate
 * every tool call passes. The defaults are the real ones; a test hands in its stand-ins (a
 * recording run_command, a gate that answers at once) for the group it replaces.
 */
export interface CoreExecutors {
  /** The approval gate every tool call passes; the safety core's by default. Checkpoints wrap it either way. */
  readonly gate: ToolGate;
  /** run_command, in the sandbox. */
  readonly command: (registry: ToolRegistry, sandbox: SandboxService, workspace: () => string, grants?: CommandGrants) => void;
  /** The git and GitHub tools. */
  readonly git: (registry: ToolRegistry, git: GitService) => void;
  /** The Pulumi tools. */
  readonly pulumi: (registry: ToolRegistry, pulumi: PulumiService) => void;
  /** The Snowflake tools. */
  readonly snowflake: (registry: ToolRegistry, snowflake: SnowflakeService) => void;
}

export interface CoreOptions {
  readonly host: AppStatus['host'];
  /** Where `sophia.db` lives. */
  readonly dataDir: string;
  /** The OS keychain; without one, no secret is available. */
  readonly secrets?: SecretReader;
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
  /** Stand-ins for the gate or for a group of tools; the real ones by default. */
  readonly executors?: Partial<CoreExecutors>;
  /** isomorphic-git's HTTP client for pushes; the Node one by default. */
  readonly gitHttp?: GitServiceOptions['http'];
  /** A Pulumi installation root (`<root>/bin/pulumi`); by default `pulumi` on the PATH. */
  readonly pulumiCliRoot?: string;
  /** The code index's worker script; by default the built one beside the main bundle. */
  readonly indexWorker?: URL;
  /** The desktop app's folder dialog (Electron's `dialog.showOpenDialog`); the browser host has none. Undefined: cancelled. */
  readonly pickFolder?: (defaultPath: string | undefined) => Promise<string | undefined>;
  /** How often telemetry metrics are pushed when telemetry is on (tests make it short); 60 s by default. */
  readonly telemetryMetricIntervalMs?: number;
  /** Checks an engine profile before it is saved (Settings → Engines); engineClient's `checkEngine` by default. */
  readonly checkEngine?: CheckEngine;
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
  // The open workspace folder ('' when none is open), read at each use: the one accessor every service is given.
  const workspace = (): string => settings.get().workspace;
  const safety = createSafetyCore({
    events,
    stop,
    redactor,
    dataDir: options.dataDir,
    workspace,
    keychain: options.keychain,
    managedPolicyFile: options.managedPolicyFile,
    approvalTimeoutMs: options.approvalTimeoutMs,
  });
  const secrets = options.secrets ?? safety.secretReader;
  // Offline mode (a model on this machine) refuses every connection off it, in each client that would open one.
  const offline = new OfflineGuard(() => settings.get());
  // Settings → Sandbox with the SOPHIA_SANDBOX_* variables over it, read once: the service is built from it.
  const sandboxSettings = sandboxConfig(settings.get().sandbox);
  // An engine's host off this machine is a connection offline mode refuses (loopback stays allowed).
  const offlineEngine = (profile: { readonly host?: string | undefined; readonly kind: string; readonly name: string }): void => {
    if (profile.host) offline.check(`https://${profile.host.includes(':') ? `[${profile.host}]` : profile.host}/`, `the ${profile.kind} engine ${profile.name}`);
  };
  // Settings → Engines: checked before saved, keys in the keychain, private parts known to the redactor from the start.
  const engines = new EngineProfiles({
    settings,
    keychain: safety.keychain,
    redactor,
    audit: safety.audit,
    // Reachable, and able to run a container with the sandbox's hardening (of the image tasks use), before a profile is saved.
    check: options.checkEngine ?? ((profile, secret, checkOptions) => checkEngine(profile, secret, { ...checkOptions, image: sandboxSettings.inUse.image || defaultSandboxImage() })),
    guard: (profile) => {
      stop.assertRunning();
      offlineEngine(profile);
    },
    // Live: the fleet adds, closes and switches engines now (a restart is not needed); the status bar names the active one.
    changed: (profiles, active, renewed) => {
      if (sandbox instanceof EngineFleet) {
        // New keys for an unchanged profile: the fleet closes the engine made with the old ones and makes it again.
        sandbox.configure(profiles, active, renewed === undefined ? {} : { renewed });
      }
      publishStatus();
    },
  });
  engines.loadIntoRedactor();
  const sandbox =
    options.sandbox ??
    createSandboxService({
      publish: (event) => events.publish(event),
      guard: () => stop.assertRunning(),
      workspace,
      config: sandboxSettings,
      checkMirror: (mirror) => offline.check(mirror, 'building the sandbox image (from the Debian mirror)'),
      workspaceImages: () => settings.get().sandboxWorkspaceImages,
      engines: { profiles: settings.get().engines, active: settings.get().activeEngine },
      // Each engine's keys are read from the keychain when it is made, and only its own; offline mode refuses a remote host first.
      makeEngine: (profile) => {
        offlineEngine(profile);
        return createEngine(profile, engines.secretFor(profile));
      },
    });
  // The fleet bounds each remote engine's part of the stop itself (then 'unreachable'); the stop waits that long only while one is configured.
  stop.register('sandbox', () => sandbox.killAll(), { timeoutMs: () => (sandbox instanceof EngineFleet ? sandbox.stopBoundMs() : undefined) });
  // Hooks: the person's and the administrator's on the host, the workspace's in the sandbox (deny only).
  const hooks = new HookService({
    audit: safety.audit,
    stop,
    sandbox,
    workspace,
    user: new UserHookStore(db),
    managedPolicyFile: options.managedPolicyFile ?? defaultManagedPolicyFile(),
    permissionMode: () => (safety.planMode.on ? 'plan' : 'default'),
  });
  safety.usePreToolUse(preToolUseCheck(hooks));
  // Egress proxies of sandboxed runs: the stop closes each and every connection it holds.
  const egress = new EgressProxies();
  stop.register('egress', () => egress.closeAll(), { kind: 'task', label: 'sandbox egress proxies' });
  const git = new GitService({
    workspace,
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
  const executors: CoreExecutors = {
    gate: safety.gate,
    command: registerCommandTools,
    git: registerGitTools,
    pulumi: registerPulumiTools,
    snowflake: registerSnowflakeTools,
    ...options.executors,
  };
  const gate = withCheckpoints(executors.gate, {
    recordBefore: async (conversationId, label) => (workspace() ? git.recordCheckpoint(conversationId, label) : undefined),
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
  const secretFiles = new SecretFileGrants({ workspace, audit: safety.audit });
  registerWorkspaceTools(registry, workspace, secretFiles.allows);
  registerToolOutputTool(registry, store);
  const telemetry = new Telemetry({
    settings: () => settings.get().telemetry,
    secrets,
    redactor,
    version: appVersion,
    model: () => ({ provider: settings.get().provider, name: selectedModel(settings.get()) }),
    ...(options.telemetryMetricIntervalMs ? { metricIntervalMs: options.telemetryMetricIntervalMs } : {}),
  });
  // The chat span sees the request as it is sent: after the redaction the safety wrapper does.
  const provider = async () => safety.wrapProvider(telemetry.wrapProvider(await createProvider(settings.get(), secrets, options.endpoints)));
  registerDiagnosisTool(registry, store);
  const code = {
    proposals: new ProposalService({
      publish: (event) => events.publish(event),
      workspace,
      canonical: canonicalProposal,
      requestTests: createTestWriter({
        provider,
        registry,
        onUsage: (conversationId, usage) => {
          if (!store.exists(conversationId)) return;
          const summary = store.addUsage(conversationId, usage);
          events.publish({ type: 'conversation.updated', conversation: summary });
        },
      }),
    }),
    findings: new FindingsService({ publish: (event) => events.publish(event), workspace, version: appVersion }),
    secretFiles,
  };
  registerCodeTools(registry, code);
  const codeIndex = new CodeIndexService({
    workspace,
    storeDir: path.join(options.dataDir, 'code-index'),
    ...(options.indexWorker ? { worker: options.indexWorker } : {}),
  });
  registerIndexTools(registry, codeIndex);
  stop.register('code-index', () => codeIndex.stopAll(), { kind: 'task', label: 'code index build' });
  const memory = new MemoryService({ db, workspace, audit: safety.audit, redact: (text) => redactor.redact(text) });
  registerMemoryTools(registry, memory);
  const infraState = new InfraStateStore(db);
  executors.command(registry, sandbox, workspace, { egress, readSecrets: (names) => safety.runSecrets.readForRun(names), audit: safety.audit });
  executors.git(registry, git);
  const pulumi = new PulumiService({
    projectDir: () => {
      const current = settings.get();
      return current.workspace ? path.join(current.workspace, current.pulumiProjectDir) : undefined;
    },
    workspace,
    backendUrl: () => settings.get().pulumiBackendUrl,
    offline,
    cliRoot: options.pulumiCliRoot,
    secrets,
    publish: (event) => events.publish(event),
    audit: safety.audit,
    guard: () => stop.assertRunning(),
    state: infraState,
  });
  stop.register('pulumi', () => pulumi.stopAll(), { kind: 'deployment', label: 'Pulumi operations' });
  executors.pulumi(registry, pulumi);
  const snowflake = new SnowflakeService({
    client: new SnowflakeClient((environment) => settings.get().snowflake[environment], secrets, offline),
    publish: (event) => events.publish(event),
    audit: safety.audit,
    guard: () => stop.assertRunning(),
    state: infraState,
  });
  stop.register('snowflake', () => snowflake.stopAll(), { kind: 'ddl', label: 'Snowflake queries' });
  executors.snowflake(registry, snowflake);
  const agent = new Agent({
    events,
    store,
    registry,
    stop,
    provider,
    workspace,
    ...(options.budget ? { budget: options.budget } : {}),
    ...(options.context ? { context: options.context } : {}),
    // Every tool the role may use (the viewer's are the read-only ones, as in plan mode); the gate still decides each call.
    offerable: (definition) => definition.risk === 'read-only' || (safety.policy.policy().role !== 'viewer' && !safety.planMode.on),
    planMode: () => safety.planMode.on,
    effort: () => settings.get().anthropicEffort,
    hooks: hookTurn(hooks),
    memory: (request) => memory.promptBlock(request),
    telemetry,
  });
  registerPlanTool(registry, (conversationId, steps) => agent.postPlan(conversationId, steps));
  // Log sources: set by the person in Settings (their own channels), read by read_logs, redacted.
  const logSources = new LogSourceService({
    sources: () => settings.get().logSources,
    saveSources: (sources) => settings.update({ logSources: sources }),
    workspace,
    dataDir: options.dataDir,
    sandbox,
    redact: (text) => redactor.redact(text),
  });
  registerLogTools(registry, logSources);

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

  const publishStatus = (): void => events.publish({ type: 'status', status: status() });
  const handlers: Handlers = safety.auditRequests({
    'app.status': () => status(),
    ...agentHandlers(agent, store, { redact: (text) => redactor.redact(text), audit: safety.audit, publish: (event) => events.publish(event) }),
    ...settingsHandlers(settings, { changed: publishStatus }),
    ...modelsHandlers({ settings: () => settings.get(), secrets, endpoints: options.endpoints }),
    ...stopHandlers(stop, {
      resumed: () => {
        sandbox.resume();
        codeIndex.resume();
        outsideMcp.resume();
        publishStatus();
      },
    }),
    ...sandboxHandlers(sandbox, workspace, sandboxSettings),
    ...workspaceImageHandlers(workspace, () => settings.get().sandboxWorkspaceImages),
    ...safety.handlers,
    ...codeHandlers(code, { approvals: safety.approvals, workspace }),
    ...gitHandlers(git),
    ...mcpHandlers(outsideMcp),
    ...hooksHandlers(hooks),
    ...logSourceHandlers(logSources),
    'telemetry.status': () => telemetry.status(),
    ...metricsHandlers(safety.audit),
    ...setupHandlers({
      settings,
      secrets,
      keychain: () => safety.keychain.status(),
      noConversations: () => store.list().length === 0,
      ...(options.pickFolder ? { pickFolder: options.pickFolder } : {}),
    }),
    ...memoryHandlers(memory, workspace),
    ...engineHandlers(engines),
    'infra.state': () => infraState.view(),
  });

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
    memory: { service: memory, infraState },
    telemetry,
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
      // The last spans and metrics go out before the app ends (an unreachable endpoint costs at most its timeout).
      await telemetry.close();
      safety.close();
      store.flush();
      db.close();
    },
  };
}
