/**
 * Hooks in Settings: the commands that run at UserPromptSubmit, PreToolUse, PostToolUse and
 * Stop, by source. The user's are added and removed here (saved at once through `hooks.save`,
 * checked and audited by the main process); the managed policy's and the workspace's are shown
 * read-only, with what their files held that is not applied.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { eachHook, hookEvents, hookLimits, hooksConfig, type HookEvent, type HookSourceView, type HooksConfig, type HooksListing } from '../../../shared/hooks';
import type { SophiaClient } from '../client/sophiaClient';
import './mcpSettings.css';

const sourceTitles: Record<HookSourceView['source'], string> = {
  managed: 'Managed by your administrator (read-only)',
  user: 'Yours',
  workspace: 'From the workspace (read-only; only a deny counts, and they run in the sandbox)',
};

const toolEvents: readonly HookEvent[] = ['PreToolUse', 'PostToolUse'];

export function HooksSettings({ client }: { client: SophiaClient }) {
  const [listing, setListing] = useState<HooksListing | undefined>();
  const [message, setMessage] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void client.request('hooks.list', {}).then((result) => {
      if (result.ok) setListing(result.value);
      else setMessage(result.error.message);
    });
  }, [client]);

  const user = listing?.sources.find((source) => source.source === 'user')?.hooks ?? {};

  const save = async (hooks: HooksConfig, done: string): Promise<boolean> => {
    setBusy(true);
    const result = await client.request('hooks.save', { hooks });
    setBusy(false);
    if (!result.ok) {
      setMessage(result.error.message);
      return false;
    }
    setListing(result.value);
    setMessage(done);
    return true;
  };

  const remove = (event: HookEvent, groupIndex: number, hookIndex: number): void => {
    const groups = (user[event] ?? [])
      .map((group, g) => (g === groupIndex ? { ...group, hooks: group.hooks.filter((_, h) => h !== hookIndex) } : group))
      .filter((group) => group.hooks.length > 0);
    const next: HooksConfig = { ...user };
    if (groups.length > 0) next[event] = groups;
    else delete next[event];
    void save(next, 'Hook removed.');
  };

  return (
    <fieldset className="mcp-settings" data-testid="settings-hooks" aria-busy={busy}>
      <legend>Hooks</legend>
      <p className="settings-message">
        Commands run at UserPromptSubmit, PreToolUse, PostToolUse and Stop, with Claude Code&apos;s JSON on standard input, so its hook scripts carry over. A hook can deny
        a call (exit code 2, or <code>permissionDecision: &quot;deny&quot;</code>) or demand your approval (<code>&quot;ask&quot;</code>); it never allows what the gate
        would not. A hook that fails or runs past its time limit denies. Every run is in the audit log, and Stop ends running hooks.
      </p>
      {listing?.sources.map((source) => (
        <section key={`${source.source}-${source.file ?? ''}`} className="mcp-server" data-testid={`hooks-source-${source.source}`} aria-label={`Hooks: ${source.source}`}>
          <header className="mcp-server-head">
            <strong>{sourceTitles[source.source]}</strong>
          </header>
          {source.file && <code className="mcp-server-command">{source.file}</code>}
          {source.notices.map((notice) => (
            <p key={notice} className="mcp-server-error" role="alert">
              {notice}
            </p>
          ))}
          {eachHook(source.hooks).length === 0 ? (
            <p className="settings-message">None.</p>
          ) : (
            <ul className="mcp-tools">
              {hookEvents.flatMap((event) =>
                (source.hooks[event] ?? []).flatMap((group, g) =>
                  group.hooks.map((hook, h) => (
                    <li key={`${event}-${g}-${h}`} className="mcp-tool" data-testid="hook-entry">
                      <span className="mcp-tool-text">
                        <strong>{event}</strong>
                        {toolEvents.includes(event) && <span className="mcp-tool-description">{group.matcher ? `tools matching ${group.matcher}` : 'every tool'}</span>}
                        <code>{hook.command}</code>
                        <span className="mcp-tool-description">time limit {hook.timeout ?? hookLimits.defaultTimeoutSeconds} s</span>
                      </span>
                      {source.editable && (
                        <button type="button" disabled={busy} onClick={() => remove(event, g, h)}>
                          Remove
                        </button>
                      )}
                    </li>
                  )),
                ),
              )}
            </ul>
          )}
        </section>
      ))}
      <AddHookForm
        busy={busy}
        onAdd={(event, matcher, command, timeout) => {
          const group = { ...(toolEvents.includes(event) && matcher ? { matcher } : {}), hooks: [{ type: 'command' as const, command, ...(timeout ? { timeout } : {}) }] };
          const next = hooksConfig.safeParse({ ...user, [event]: [...(user[event] ?? []), group] });
          if (!next.success) {
            setMessage(`Not added: ${next.error.issues[0]?.message ?? 'the hook is not valid'}.`);
            return Promise.resolve(false);
          }
          return save(next.data, `Added a ${event} hook.`);
        }}
      />
      {message && (
        <p className="settings-message" role="status" data-testid="hooks-status">
          {message}
        </p>
      )}
    </fieldset>
  );
}

function AddHookForm({ busy, onAdd }: { busy: boolean; onAdd: (event: HookEvent, matcher: string, command: string, timeout: number | undefined) => Promise<boolean> }) {
  const [event, setEvent] = useState<HookEvent>('PreToolUse');
  const [matcher, setMatcher] = useState('');
  const [command, setCommand] = useState('');
  const [timeout, setTimeoutSeconds] = useState('');

  const submit = (form: FormEvent): void => {
    form.preventDefault();
    const seconds = timeout.trim() === '' ? undefined : Number(timeout);
    void onAdd(event, matcher.trim(), command.trim(), seconds).then((added) => {
      if (added) {
        setCommand('');
        setMatcher('');
        setTimeoutSeconds('');
      }
    });
  };

  return (
    <form className="mcp-add" onSubmit={submit} aria-label="Add a hook" data-testid="hooks-add">
      <label>
        Event
        <select value={event} onChange={(change) => setEvent(change.target.value as HookEvent)} data-testid="hooks-add-event">
          {hookEvents.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      {toolEvents.includes(event) && (
        <label>
          Tools (matcher)
          <input value={matcher} onChange={(change) => setMatcher(change.target.value)} placeholder="run_command|propose_edit (empty: every tool)" maxLength={hookLimits.matcher} data-testid="hooks-add-matcher" />
        </label>
      )}
      <label>
        Command
        <input value={command} onChange={(change) => setCommand(change.target.value)} placeholder="~/.claude/hooks/check.sh" maxLength={hookLimits.command} required data-testid="hooks-add-command" />
      </label>
      <label>
        Time limit (s)
        <input
          type="number"
          min={1}
          max={hookLimits.maxTimeoutSeconds}
          value={timeout}
          onChange={(change) => setTimeoutSeconds(change.target.value)}
          placeholder={String(hookLimits.defaultTimeoutSeconds)}
          data-testid="hooks-add-timeout"
        />
      </label>
      <button type="submit" disabled={busy || command.trim() === ''}>
        Add hook
      </button>
    </form>
  );
}
