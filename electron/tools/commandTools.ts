/**
 * `run_command`: the project's tests, linters and static checks, run inside a fresh
 * sandbox container for the task (never on the host), with the workspace mounted
 * read-only. Its output streams to the execution log (the sandbox publishes it) and the
 * result goes back to the model; a failing run says so, so the agent can propose a fix.
 *
 * A call may ask for more, for this one run only and always with a person's approval (the
 * gate makes such a call at least high risk and never session-approved):
 * - `egress`: host:port pairs the command may reach through a host-side proxy (see
 *   `sandbox/egressProxy.ts`); the container itself stays on network `none`;
 * - `secrets`: run secrets (Settings → Run secrets) given to the command as environment
 *   variables. Their values are read from the keychain here, handed to the command's own
 *   exec, and cut from its output (and their encodings) before the model, the chat, the
 *   execution log, the audit log or the app log see it. The container is removed when the
 *   command ends.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { limits } from '../../shared/contract';
import type { ToolDefinition, ToolExecutor, ToolOutput, ToolRegistry } from '../agent/tools';
import { createLogger } from '../log';
import { egressForwarderPort, egressForwarderScript, egressMountPoint, egressSocketName, grantText, parseGrant, type EgressGrant, type EgressProxies, type EgressProxy } from '../sandbox/egressProxy';
import type { Redaction, SandboxService } from '../sandbox/sandbox';
import { secretEncodings } from '../keychain/redactor';
import { SophiaError } from '../../shared/errors';
import type { AuditSink } from '../audit/auditLog';
import type { Sandbox } from '../sandbox/sandbox';

const log = createLogger('commandTools');

export const runCommandInput = z
  .object({
    command: z.string().trim().min(1).max(limits.command).describe('A shell command run with /bin/sh -c in /workspace, e.g. "npm test" or "pytest -q" or "ruff check ."'),
    timeoutSeconds: z.number().int().min(1).max(900).optional().describe('Wall-clock limit; 120 by default.'),
    egress: z
      .array(z.string().trim().min(3).max(260))
      .min(1)
      .max(8)
      .optional()
      .describe(
        'Network access for this one run, as "host:port" pairs (e.g. "api.notion.com:443"), through a proxy that allows only these (HTTPS via CONNECT, plain HTTP by absolute URL; HTTP_PROXY/HTTPS_PROXY are set). Needs the person\'s approval each time. Omit it for no network.',
      ),
    secrets: z
      .array(z.string().regex(/^[A-Z_][A-Z0-9_]{0,63}$/))
      .min(1)
      .max(8)
      .optional()
      .describe(
        'Names of run secrets the person keeps in Settings (e.g. "NOTION_TOKEN"), given to this one command as environment variables of the same name. You never see the values; they are redacted from the output. Needs the person\'s approval each time.',
      ),
  })
  .strict();

export const runCommandTool = {
  name: 'run_command',
  description:
    "Run a command (the project's tests, a linter, a type checker) in an isolated sandbox container with the workspace mounted read-only at /workspace and no network. Returns the exit code and the output. Use it after an approved change to check it.",
  input: runCommandInput,
  // Runs code from the workspace, though in a hardened container: the person is asked.
  risk: 'medium',
  describe: (input) => {
    const grants = [input.egress ? 'network egress' : '', input.secrets ? 'secrets' : ''].filter(Boolean).join(' and ');
    return `run in the sandbox${grants ? ` with ${grants}` : ''}: ${input.command}`.slice(0, 200);
  },
  preview: (input) => {
    const lines = [`$ ${input.command}`];
    if (input.egress) lines.push(`Network egress for this run only, through Sophia's proxy, to: ${input.egress.join(', ')}`);
    if (input.secrets) lines.push(`Run secrets given to this command as environment variables (values never shown): ${input.secrets.join(', ')}`);
    lines.push(`(in a sandbox container, workspace read-only, ${input.egress ? 'no other network' : 'no network'}, ${input.timeoutSeconds ?? 120} s limit)`);
    return lines.join('\n');
  },
} as const satisfies ToolDefinition<typeof runCommandInput>;

/** What a run may be granted beyond its sandbox: egress through a proxy, run secrets. */
export interface CommandGrants {
  readonly egress: EgressProxies;
  /** The values of the named run secrets; throws a clear error for one that is not set. */
  readonly readSecrets: (names: readonly string[]) => Map<string, string>;
  /** Where the proxy records every connection. */
  readonly audit: AuditSink;
}

const forwarderDirectory = '/tmp/.sophia-egress';
const proxyUrl = `http://127.0.0.1:${egressForwarderPort}`;

/**
 * The command with the forwarder started first: it listens on 127.0.0.1:3128 inside the
 * container and relays to the proxy's socket. $1 is the person's command.
 */
const egressWrapper = `node ${forwarderDirectory}/forwarder.js ${egressMountPoint}/${egressSocketName} ${forwarderDirectory}/ready 2>${forwarderDirectory}/forwarder.log &
sophia_forwarder=$!
sophia_wait=0
while [ ! -e ${forwarderDirectory}/ready ]; do
  sophia_wait=$((sophia_wait + 1))
  if [ "$sophia_wait" -gt 300 ] || ! kill -0 "$sophia_forwarder" 2>/dev/null; then
    echo "Sophia: the egress forwarder did not start (it needs node in the sandbox image): $(cat ${forwarderDirectory}/forwarder.log 2>/dev/null)" >&2
    exit 125
  fi
  sleep 0.05
done
cd /workspace || exit 1
/bin/sh -c "$1"
sophia_status=$?
kill "$sophia_forwarder" 2>/dev/null
exit $sophia_status`;

function egressSummary(proxy: EgressProxy): string {
  const records = proxy.connections;
  if (records.length === 0) return `Egress: no connection was made through the proxy (granted: ${proxy.grants.map(grantText).join(', ')}).`;
  const allowed = records.filter((record) => record.decision === 'allowed').length;
  const refused = records.filter((record) => record.decision === 'refused');
  const lines = [`Egress: ${allowed} connection(s) allowed, ${refused.length} refused.`];
  for (const record of refused.slice(0, 5)) lines.push(`  refused ${record.method} ${record.host ? grantText(record) : '(no host)'}: ${record.reason}`);
  return lines.join('\n');
}

/** What the model gets back: the end of the output matters most for a failing test run. */
const maxOutputForModel = 20_000;

function tail(text: string, max: number): string {
  return text.length <= max ? text : `[… ${text.length - max} earlier characters]\n${text.slice(-max)}`;
}

export function runCommandExecutor(sandbox: SandboxService, workspace: () => string, grants?: CommandGrants): ToolExecutor<typeof runCommandInput> {
  return async (input, context): Promise<ToolOutput> => {
    const root = workspace();
    if (!root) return { ok: false, output: 'No workspace is open. Choose a workspace folder in Settings.' };
    if ((input.egress || input.secrets) && !grants) return { ok: false, output: 'Network egress and run secrets are not available here; run the command without them.' };
    const taskId = `run-${randomBytes(6).toString('hex')}`;
    // Everything that can be refused is checked before anything runs.
    let hosts: EgressGrant[] | undefined;
    let secretValues = new Map<string, string>();
    try {
      hosts = input.egress?.map(parseGrant);
      if (input.secrets && grants) secretValues = grants.readSecrets([...new Set(input.secrets)]);
    } catch (error) {
      if (error instanceof SophiaError) return { ok: false, output: `${error.message}\nNothing was run.` };
      throw error;
    }
    const redactions: Redaction[] = [...secretValues].flatMap(([name, value]) => secretEncodings(value).map((text) => ({ text, label: name })));
    const env: Record<string, string> = Object.fromEntries(secretValues);
    let proxy: EgressProxy | undefined;
    if (hosts && grants) {
      proxy = await grants.egress.open({ grants: hosts, audit: grants.audit, runId: taskId, conversationId: context.conversationId });
      for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) env[name] = proxyUrl;
      env['NO_PROXY'] = '';
      env['no_proxy'] = '';
    }
    let box: Sandbox;
    try {
      box = await sandbox.acquire(taskId, { workspace: root, access: 'read-only', ...(proxy ? { egressDirectory: proxy.directory } : {}) });
    } catch (error) {
      await proxy?.close();
      throw error;
    }
    const sandboxBox = box;
    const onAbort = (): void => {
      void sandboxBox.destroy().catch((error: unknown) => log.warn('could not remove a sandbox after cancel', { error }));
      void proxy?.close();
    };
    context.signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (proxy) await box.copyIn(forwarderDirectory, [{ path: 'forwarder.js', content: Buffer.from(egressForwarderScript), mode: 0o644 }]);
      const command = proxy ? ['/bin/sh', '-c', egressWrapper, 'sh', input.command] : ['/bin/sh', '-c', `cd /workspace && ${input.command}`];
      const result = await box.exec(command, {
        timeoutMs: (input.timeoutSeconds ?? 120) * 1000,
        ...(context.onOutput ? { onOutput: (_stream: string, chunk: string) => context.onOutput?.(chunk) } : {}),
        ...(Object.keys(env).length > 0 ? { env } : {}),
        ...(redactions.length > 0 ? { redactions } : {}),
      });
      const egress = proxy ? `\n${egressSummary(proxy)}` : '';
      const output = `${tail(`${result.stdout}${result.stderr ? `\n[stderr]\n${result.stderr}` : ''}`, maxOutputForModel)}${egress}`;
      const seconds = (result.durationMs / 1000).toFixed(1);
      if (result.stopped) return { ok: false, output: `Stopped after ${seconds} s.\n${output}` };
      if (result.timedOut) return { ok: false, output: `Timed out after ${seconds} s and was killed.\n${output}\nFind out why it hangs, or run a narrower command.` };
      if (result.exitCode === 0) return { ok: true, output: `Exit code 0 (${seconds} s).\n${output}` };
      return {
        ok: false,
        output: `The command failed with exit code ${result.exitCode ?? 'unknown'} (${seconds} s).\n${output}\nRead the failure above, find its cause in the code, and propose a fix with propose_edit.`,
      };
    } finally {
      context.signal.removeEventListener('abort', onAbort);
      await box.destroy().catch((error: unknown) => log.warn('could not remove a sandbox', { error }));
      await proxy?.close().catch((error: unknown) => log.warn('could not close an egress proxy', { error }));
    }
  };
}

export function registerCommandTools(registry: ToolRegistry, sandbox: SandboxService, workspace: () => string, grants?: CommandGrants): void {
  registry.register(runCommandTool, runCommandExecutor(sandbox, workspace, grants));
}
