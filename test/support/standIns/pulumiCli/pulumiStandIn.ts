/**
 * A stand-in `pulumi` CLI for tests, run by `bin/pulumi` under plain Node. The Pulumi CLI
 * cannot be installed here, so this answers the commands the real Automation API runs
 * (`version`, `stack select|init|ls|output|history`, `preview`, `up`, `refresh`, `cancel`,
 * `config`), with the CLI's real exit codes, stderr messages and JSON shapes, and writes
 * engine events to `--event-log` in the real `EngineEvent` JSON-lines format (prelude,
 * resourcePre, resOutputs, diagnostic, cancel, summary).
 *
 * It reports version 3.205.0, the last CLI that writes the event log to a file; newer ones
 * stream it over gRPC instead, which this stand-in does not speak.
 *
 * The "program" is a Pulumi YAML project (`runtime: yaml`): `resources` with `type`,
 * `properties` and `options.replaceOnChanges`, `outputs`, `config` defaults and `${...}`
 * interpolation of config, `pulumi.stack` and other resources' properties. There is no
 * cloud: a resource's outputs are its inputs plus an id. State, history and locks live
 * under the `file://` backend of `PULUMI_BACKEND_URL`, in the stand-in's own JSON (not
 * Pulumi's checkpoint format). `PULUMI_STANDIN_STEP_MS` is how long each resource step
 * takes (30 ms by default). It lives in test/, never in the product.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

const version = 'v3.205.0';

interface ResourceState {
  urn: string;
  type: string;
  name: string;
  id: string;
  inputs: Record<string, unknown>;
}

interface HistoryEntry {
  version: number;
  kind: string;
  startTime: string;
  message: string;
  environment: Record<string, string>;
  config: Record<string, { value?: string; secret: boolean }>;
  result: string;
  endTime?: string;
  resourceChanges?: Record<string, number>;
}

interface StackFile {
  resources: ResourceState[];
  outputs: Record<string, { value: unknown; secret: boolean }>;
  history: HistoryEntry[];
}

interface Step {
  op: 'create' | 'update' | 'replace' | 'delete' | 'same' | 'refresh';
  urn: string;
  type: string;
  name: string;
  old?: ResourceState;
  new?: ResourceState;
  diffs: string[];
}

class CliError extends Error {}

const argv = process.argv.slice(2);
const cwd = process.cwd();

function flag(name: string): string | undefined {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
}
const has = (name: string): boolean => argv.includes(name);
const valueFlags = new Set(['--stack', '-s', '--event-log', '--exec-kind', '--page-size', '--page', '--message', '--plaintext', '--secret', '--color', '--parallel', '--client', '--secrets-provider']);
const positional = argv.filter((arg, index) => !arg.startsWith('-') && !valueFlags.has(argv[index - 1] ?? ''));

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function backendDir(): string {
  const url = process.env['PULUMI_BACKEND_URL'] ?? '';
  if (!url.startsWith('file://')) throw new CliError('error: PULUMI_BACKEND_URL must be a file:// backend for this CLI');
  return url.slice('file://'.length);
}

function project(): { name: string; doc: Record<string, unknown> } {
  const file = path.join(cwd, 'Pulumi.yaml');
  if (!existsSync(file)) throw new CliError(`error: no Pulumi.yaml project file found (searching upwards from ${cwd})`);
  const doc = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const name = typeof doc['name'] === 'string' ? doc['name'] : '';
  if (!name) throw new CliError('error: project is missing a \'name\' attribute');
  return { name, doc };
}

function stacksDir(projectName: string): string {
  return path.join(backendDir(), '.pulumi', 'stacks', projectName);
}

function stackPath(projectName: string, stack: string): string {
  return path.join(stacksDir(projectName), `${stack}.json`);
}

function readStack(projectName: string, stack: string): StackFile {
  const file = stackPath(projectName, stack);
  if (!existsSync(file)) throw new CliError(`error: no stack named '${stack}' found`);
  return JSON.parse(readFileSync(file, 'utf8')) as StackFile;
}

function writeStack(projectName: string, stack: string, state: StackFile): void {
  writeFileSync(stackPath(projectName, stack), JSON.stringify(state, null, 2));
}

function stackName(): string {
  const name = flag('--stack') ?? flag('-s');
  if (name) return name;
  const { name: projectName } = project();
  const current = path.join(stacksDir(projectName), '.current');
  if (existsSync(current)) return readFileSync(current, 'utf8').trim();
  throw new CliError('error: no stack selected; please use `pulumi stack select` to choose one');
}

function stackConfigFile(stack: string): string {
  return path.join(cwd, `Pulumi.${stack}.yaml`);
}

function readConfig(stack: string): Record<string, unknown> {
  const file = stackConfigFile(stack);
  if (!existsSync(file)) return {};
  const doc = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as { config?: Record<string, unknown> };
  return doc.config ?? {};
}

function writeConfig(stack: string, config: Record<string, unknown>): void {
  writeFileSync(stackConfigFile(stack), stringifyYaml(Object.keys(config).length ? { config } : {}));
}

const isoNow = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** The program's desired resources, with `${...}` resolved. */
function evaluate(projectName: string, doc: Record<string, unknown>, stack: string, known: Map<string, ResourceState>, planning: boolean): { resources: ResourceState[]; outputs: Record<string, { value: unknown; secret: boolean }>; replaceOn: Map<string, string[]> } {
  const config = readConfig(stack);
  const declared = (doc['config'] ?? {}) as Record<string, { default?: unknown }>;
  const lookup = (key: string): unknown => {
    if (key === 'pulumi.stack') return stack;
    if (key === 'pulumi.project') return projectName;
    const configured = config[`${projectName}:${key}`] ?? config[key];
    if (configured !== undefined) return configured;
    if (declared[key] && 'default' in declared[key]) return declared[key].default;
    const dot = key.indexOf('.');
    if (dot > 0) {
      const resource = known.get(key.slice(0, dot));
      const property = key.slice(dot + 1);
      if (resource) {
        if (property === 'id') return resource.id || (planning ? '[unknown]' : '');
        if (property in resource.inputs) return resource.inputs[property];
        throw new CliError(`error: Pulumi.yaml: resource ${key.slice(0, dot)} has no property ${property}`);
      }
    }
    throw new CliError(`error: Pulumi.yaml: unknown reference \${${key}}`);
  };
  const resolve = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const whole = /^\$\{([^}]+)\}$/.exec(value);
      if (whole) return lookup(whole[1] ?? '');
      return value.replace(/\$\{([^}]+)\}/g, (_match, key: string) => String(lookup(key)));
    }
    if (Array.isArray(value)) return value.map(resolve);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
    return value;
  };
  const resources: ResourceState[] = [];
  const replaceOn = new Map<string, string[]>();
  const entries = Object.entries((doc['resources'] ?? {}) as Record<string, { type?: string; properties?: Record<string, unknown>; options?: { replaceOnChanges?: string[] } }>);
  for (const [name, spec] of entries) {
    if (!spec?.type) throw new CliError(`error: Pulumi.yaml: resource ${name} has no type`);
    const inputs = resolve(spec.properties ?? {}) as Record<string, unknown>;
    const urn = `urn:pulumi:${stack}::${projectName}::${spec.type}::${name}`;
    const prior = known.get(name);
    const state: ResourceState = { urn, type: spec.type, name, id: prior?.id ?? '', inputs };
    known.set(name, state);
    resources.push(state);
    replaceOn.set(name, spec.options?.replaceOnChanges ?? []);
  }
  const outputs: Record<string, { value: unknown; secret: boolean }> = {};
  for (const [key, raw] of Object.entries((doc['outputs'] ?? {}) as Record<string, unknown>)) {
    const secret = Boolean(raw && typeof raw === 'object' && 'fn::secret' in raw);
    outputs[key] = { value: resolve(secret ? (raw as Record<string, unknown>)['fn::secret'] : raw), secret };
  }
  return { resources, outputs, replaceOn };
}

function plan(projectName: string, doc: Record<string, unknown>, stack: string, state: StackFile, planning: boolean): { steps: Step[]; outputs: StackFile['outputs']; stackUrn: string } {
  const known = new Map(state.resources.map((resource) => [resource.name, resource]));
  const evaluated = evaluate(projectName, doc, stack, new Map(known), planning);
  const stackUrn = `urn:pulumi:${stack}::${projectName}::pulumi:pulumi:Stack::${projectName}-${stack}`;
  const steps: Step[] = [];
  const stackState: ResourceState = { urn: stackUrn, type: 'pulumi:pulumi:Stack', name: `${projectName}-${stack}`, id: '', inputs: {} };
  steps.push({ op: state.history.some((entry) => entry.kind === 'update' && entry.result === 'succeeded') ? 'same' : 'create', urn: stackUrn, type: stackState.type, name: stackState.name, new: stackState, diffs: [] });
  for (const desired of evaluated.resources) {
    const old = known.get(desired.name);
    if (!old) {
      steps.push({ op: 'create', urn: desired.urn, type: desired.type, name: desired.name, new: desired, diffs: [] });
      continue;
    }
    const keys = [...new Set([...Object.keys(old.inputs), ...Object.keys(desired.inputs)])];
    const diffs = keys.filter((key) => JSON.stringify(old.inputs[key]) !== JSON.stringify(desired.inputs[key]));
    const replace = diffs.some((key) => evaluated.replaceOn.get(desired.name)?.includes(key)) || old.type !== desired.type;
    steps.push({ op: diffs.length === 0 && !replace ? 'same' : replace ? 'replace' : 'update', urn: desired.urn, type: desired.type, name: desired.name, old, new: desired, diffs });
  }
  const wanted = new Set(evaluated.resources.map((resource) => resource.name));
  for (const old of state.resources) {
    if (!wanted.has(old.name)) steps.push({ op: 'delete', urn: old.urn, type: old.type, name: old.name, old, diffs: [] });
  }
  return { steps, outputs: evaluated.outputs, stackUrn };
}

function stateMeta(resource: ResourceState, parent: string): Record<string, unknown> {
  return { type: resource.type, urn: resource.urn, custom: resource.type !== 'pulumi:pulumi:Stack', id: resource.id, parent, inputs: resource.inputs, outputs: resource.id ? { ...resource.inputs, id: resource.id } : {}, provider: '' };
}

function metadata(step: Step, stackUrn: string): Record<string, unknown> {
  const parent = step.type === 'pulumi:pulumi:Stack' ? '' : stackUrn;
  return {
    op: step.op,
    urn: step.urn,
    type: step.type,
    ...(step.old ? { old: stateMeta(step.old, parent) } : {}),
    ...(step.new ? { new: stateMeta(step.new, parent) } : {}),
    ...(step.diffs.length ? { keys: step.diffs, diffs: step.diffs, detailedDiff: Object.fromEntries(step.diffs.map((key) => [key, { diffKind: step.op === 'replace' ? 'update-replace' : 'update', inputDiff: true }])) } : {}),
    provider: step.type === 'pulumi:pulumi:Stack' ? '' : `urn:pulumi:${stackUrn.split('::')[0]?.slice('urn:pulumi:'.length)}::default_provider::pulumi:providers:${step.type.split(':')[0]}::default::0`,
  };
}

class EventLog {
  #sequence = 0;
  readonly file: string | undefined;
  constructor(file: string | undefined) {
    this.file = file;
    if (file?.startsWith('tcp://')) throw new CliError('error: this CLI writes the event log to a file only');
  }
  write(event: Record<string, unknown>): void {
    if (!this.file) return;
    appendFileSync(this.file, `${JSON.stringify({ sequence: this.#sequence++, timestamp: Math.floor(Date.now() / 1000), ...event })}\n`);
  }
}

const symbols: Record<string, string> = { create: '+', update: '~', replace: '+-', delete: '-', same: ' ', refresh: '~' };
const pastTense: Record<string, string> = { create: 'created', update: 'updated', replace: 'replaced', delete: 'deleted', refresh: 'refreshed' };
const ongoing: Record<string, string> = { create: 'creating', update: 'updating', replace: 'replacing', delete: 'deleting', refresh: 'refreshing' };
const verbs: Record<string, string> = { create: 'to create', update: 'to update', replace: 'to replace', delete: 'to delete', same: 'unchanged' };

function countOps(steps: readonly Step[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const step of steps) counts[step.op] = (counts[step.op] ?? 0) + 1;
  return counts;
}

function printSummary(counts: Record<string, number>, planning: boolean): void {
  process.stdout.write('Resources:\n');
  for (const [op, count] of Object.entries(counts)) {
    if (op === 'same') continue;
    process.stdout.write(`    ${symbols[op] ?? ''} ${count} ${planning ? (verbs[op] ?? op) : (pastTense[op] ?? op)}\n`);
  }
  if (counts['same']) process.stdout.write(`    ${counts['same']} unchanged\n`);
}

function configForHistory(stack: string): HistoryEntry['config'] {
  return Object.fromEntries(Object.entries(readConfig(stack)).map(([key, value]) => [key, { value: typeof value === 'string' ? value : JSON.stringify(value), secret: false }]));
}

async function runOperation(kind: 'preview' | 'update' | 'refresh'): Promise<number> {
  const { name: projectName, doc } = project();
  const stack = stackName();
  const state = readStack(projectName, stack);
  const events = new EventLog(flag('--event-log'));
  const stepMs = Number(process.env['PULUMI_STANDIN_STEP_MS'] ?? 30);
  const planning = kind === 'preview';
  const started = Date.now();
  events.write({ preludeEvent: { config: Object.fromEntries(Object.entries(readConfig(stack)).map(([key, value]) => [key, String(value)])) } });

  let steps: Step[];
  let outputs: StackFile['outputs'] = state.outputs;
  let stackUrn: string;
  try {
    if (kind === 'refresh') {
      stackUrn = `urn:pulumi:${stack}::${projectName}::pulumi:pulumi:Stack::${projectName}-${stack}`;
      steps = state.resources.map((resource) => ({ op: 'refresh', urn: resource.urn, type: resource.type, name: resource.name, old: resource, new: resource, diffs: [] }));
    } else {
      ({ steps, outputs, stackUrn } = plan(projectName, doc, stack, state, planning));
    }
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    events.write({ diagnosticEvent: { prefix: 'error: ', message: `${error.message.replace(/^error: /, '')}\n`, color: 'never', severity: 'error' } });
    events.write({ summaryEvent: { maybeCorrupt: false, durationSeconds: 0, resourceChanges: {}, policyPacks: {} } });
    throw error;
  }

  const lock = path.join(stacksDir(projectName), `${stack}.lock`);
  const cancelFile = path.join(stacksDir(projectName), `${stack}.cancel`);
  if (!planning) {
    if (existsSync(lock)) throw new CliError(`error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with \`pulumi cancel\`.`);
    writeFileSync(lock, String(process.pid));
    rmSync(cancelFile, { force: true });
  }
  let cancelled = false;
  process.on('SIGINT', () => {
    if (!cancelled) process.stderr.write('^C received; cancelling the current operation (press ^C again to terminate)\n');
    cancelled = true;
  });

  process.stdout.write(`${planning ? 'Previewing update' : kind === 'refresh' ? 'Refreshing' : 'Updating'} (${stack}):\n`);
  const done: Step[] = [];
  const resources = new Map(state.resources.map((resource) => [resource.name, resource]));
  try {
    for (const step of steps) {
      if (!planning && (cancelled || existsSync(cancelFile))) {
        cancelled = true;
        break;
      }
      const meta = metadata(step, stackUrn);
      events.write({ resourcePreEvent: { metadata: meta, planning } });
      process.stdout.write(` ${symbols[step.op] ?? ' '}  ${step.type} ${step.name} ${step.op === 'same' ? '' : planning ? step.op : (ongoing[step.op] ?? step.op)}\n`);
      if (!planning && step.op !== 'same') await sleep(stepMs);
      if (!planning && step.type !== 'pulumi:pulumi:Stack') {
        if (step.op === 'delete') resources.delete(step.name);
        else if (step.new) {
          // Inputs that name another resource's id are resolved now that it exists.
          const fresh = evaluate(projectName, doc, stack, new Map(resources), false).resources.find((resource) => resource.name === step.name);
          if (fresh) step.new = { ...step.new, inputs: fresh.inputs };
          const id = step.op === 'create' || step.op === 'replace' ? `${step.name}-${Math.random().toString(16).slice(2, 9)}` : (step.old?.id ?? '');
          step.new = { ...step.new, id };
          resources.set(step.name, step.new);
        }
      }
      events.write({ resOutputsEvent: { metadata: metadata(step, stackUrn), planning } });
      done.push(step);
    }
  } finally {
    if (!planning) rmSync(lock, { force: true });
  }
  // Outputs that name a resource's id are known only once it exists.
  if (kind === 'update' && !cancelled) outputs = evaluate(projectName, doc, stack, new Map(resources), false).outputs;
  const counts = countOps(done);
  if (cancelled) events.write({ cancelEvent: {} });
  events.write({ summaryEvent: { maybeCorrupt: false, durationSeconds: Math.round((Date.now() - started) / 1000), resourceChanges: counts, policyPacks: {} } });
  printSummary(counts, planning);

  if (!planning) {
    const next: StackFile = {
      resources: [...resources.values()],
      outputs: cancelled || kind === 'refresh' ? state.outputs : outputs,
      history: [
        {
          version: (state.history[0]?.version ?? 0) + 1,
          kind,
          startTime: new Date(started).toISOString().replace(/\.\d+Z$/, 'Z'),
          message: flag('--message') ?? '',
          environment: { 'exec.kind': flag('--exec-kind') ?? 'cli' },
          config: configForHistory(stack),
          result: cancelled ? 'failed' : 'succeeded',
          endTime: isoNow(),
          resourceChanges: counts,
        },
        ...state.history,
      ],
    };
    writeStack(projectName, stack, next);
    rmSync(cancelFile, { force: true });
  }
  if (cancelled) {
    process.stderr.write('error: update canceled\n');
    return 255;
  }
  return 0;
}

function stackCommand(): number {
  const sub = positional[1];
  const { name: projectName } = project();
  mkdirSync(stacksDir(projectName), { recursive: true });
  if (sub === 'select') {
    const stack = stackName();
    if (!existsSync(stackPath(projectName, stack))) throw new CliError(`error: no stack named '${stack}' found`);
    writeFileSync(path.join(stacksDir(projectName), '.current'), stack);
    return 0;
  }
  if (sub === 'init') {
    const stack = positional[2] ?? stackName();
    if (existsSync(stackPath(projectName, stack))) throw new CliError(`error: stack '${stack}' already exists`);
    writeStack(projectName, stack, { resources: [], outputs: {}, history: [] });
    writeFileSync(path.join(stacksDir(projectName), '.current'), stack);
    process.stdout.write(`Created stack '${stack}'\n`);
    return 0;
  }
  if (sub === 'ls') {
    const current = existsSync(path.join(stacksDir(projectName), '.current')) ? readFileSync(path.join(stacksDir(projectName), '.current'), 'utf8').trim() : '';
    const names = existsSync(stacksDir(projectName))
      ? readdirJson(stacksDir(projectName))
      : [];
    const list = names.map((name) => {
      const state = readStack(projectName, name);
      const last = state.history[0];
      return {
        name,
        current: name === current,
        ...(last ? { lastUpdate: last.endTime ?? last.startTime } : {}),
        updateInProgress: existsSync(path.join(stacksDir(projectName), `${name}.lock`)),
        resourceCount: state.history.length ? state.resources.length + 1 : 0,
      };
    });
    process.stdout.write(`${JSON.stringify(list, null, 4)}\n`);
    return 0;
  }
  if (sub === 'output') {
    const state = readStack(projectName, stackName());
    const show = has('--show-secrets');
    const out = Object.fromEntries(Object.entries(state.outputs).map(([key, output]) => [key, output.secret && !show ? '[secret]' : output.value]));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  if (sub === 'history') {
    const state = readStack(projectName, stackName());
    const size = Number(flag('--page-size') ?? 10);
    const page = Math.max(1, Number(flag('--page') ?? 1));
    process.stdout.write(`${JSON.stringify(state.history.slice((page - 1) * size, page * size), null, 4)}\n`);
    return 0;
  }
  throw new CliError(`error: unknown command "${sub ?? ''}" for "pulumi stack"`);
}

function readdirJson(dir: string): string[] {
  return readdirSyncSafe(dir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
}

function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function configCommand(): number {
  const sub = positional[1];
  const stack = stackName();
  const { name: projectName } = project();
  const config = readConfig(stack);
  const fullKey = (key: string): string => (key.includes(':') ? key : `${projectName}:${key}`);
  if (sub === undefined) {
    const out = Object.fromEntries(Object.entries(config).map(([key, value]) => [key, { value: typeof value === 'string' ? value : JSON.stringify(value), secret: false, objectValue: typeof value === 'object' ? value : undefined }]));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  if (sub === 'set-all') {
    for (let i = 0; i < argv.length; i += 1) {
      if (argv[i] === '--plaintext' || argv[i] === '--secret') {
        const pair = argv[i + 1] ?? '';
        const eq = pair.indexOf('=');
        config[fullKey(pair.slice(0, eq))] = pair.slice(eq + 1);
      }
    }
    writeConfig(stack, config);
    return 0;
  }
  if (sub === 'rm') {
    delete config[fullKey(positional[2] ?? '')];
    writeConfig(stack, config);
    return 0;
  }
  throw new CliError(`error: unknown command "${sub}" for "pulumi config"`);
}

function cancelCommand(): number {
  const { name: projectName } = project();
  const stack = stackName();
  readStack(projectName, stack);
  if (!existsSync(path.join(stacksDir(projectName), `${stack}.lock`))) throw new CliError(`error: stack '${stack}' has no update in progress`);
  writeFileSync(path.join(stacksDir(projectName), `${stack}.cancel`), '');
  process.stdout.write(`The currently running update for '${stack}' has been canceled!\n`);
  return 0;
}

async function main(): Promise<number> {
  const command = positional[0];
  switch (command) {
    case 'version':
      process.stdout.write(`${version}\n`);
      return 0;
    case 'stack':
      return stackCommand();
    case 'config':
      return configCommand();
    case 'preview':
      return runOperation('preview');
    case 'up':
      return runOperation('update');
    case 'refresh':
      if (has('--preview-only')) throw new CliError('error: refresh --preview-only is not supported by this stand-in');
      return runOperation('refresh');
    case 'cancel':
      return cancelCommand();
    default:
      throw new CliError(`error: unknown command "${command ?? ''}" for "pulumi"`);
  }
}


main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(error instanceof CliError ? `${error.message}\n` : `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(255);
  },
);
