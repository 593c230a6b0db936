/**
 * Outside MCP servers in Settings: add and remove servers, see each one's tools with their
 * risk and pin state, pin a tool for the open workspace (offered only up to medium risk) or
 * unpin it. Everything here applies at once through its own channel, checked and audited by
 * the main process; the Settings form's Save does not touch it.
 */
import { useEffect, useState, type FormEvent } from 'react';
import type { OutsideServerView, OutsideServersView, OutsideToolView, RequestInput } from '../../../shared/contract';
import { outsideMcpServer, type OutsideMcpServer } from '../../../shared/mcp';
import type { SophiaClient } from '../client/sophiaClient';
import '../safety/safety.css';
import './mcpSettings.css';

type ChangeChannel = 'mcp.refresh' | 'mcp.addServer' | 'mcp.removeServer' | 'mcp.pin' | 'mcp.unpin';

export function McpSettings({ client }: { client: SophiaClient }) {
  const [view, setView] = useState<OutsideServersView | undefined>();
  const [message, setMessage] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void client.request('mcp.servers', {}).then((result) => {
      if (result.ok) setView(result.value);
      else setMessage(result.error.message);
    });
  }, [client]);

  const change = async <C extends ChangeChannel>(channel: C, input: RequestInput<C>, done: string): Promise<boolean> => {
    setBusy(true);
    const result = await client.request(channel, input);
    setBusy(false);
    if (!result.ok) {
      setMessage(result.error.message);
      return false;
    }
    setView(result.value);
    setMessage(done);
    return true;
  };

  return (
    <fieldset className="mcp-settings" data-testid="settings-mcp" aria-busy={busy}>
      <legend>MCP servers</legend>
      <p className="settings-message">
        Outside servers whose tools the agent may use. Every outside tool asks before it runs until you pin it for this workspace; pinning is offered only up to
        medium risk, and a pin lapses when the server changes the tool. Changes here apply at once.
      </p>
      {view && view.servers.length === 0 && <p className="settings-message">No outside servers yet.</p>}
      {view?.servers.map((server) => (
        <OutsideServer
          key={server.server.id}
          view={server}
          workspaceOpen={view.workspace !== ''}
          busy={busy}
          onRemove={() => void change('mcp.removeServer', { id: server.server.id }, `Removed ${server.server.id}.`)}
          onPin={(tool) => void change('mcp.pin', { tool: tool.name }, `Pinned ${tool.remoteName}: it runs without asking in this workspace until its definition changes.`)}
          onUnpin={(tool) => void change('mcp.unpin', { tool: tool.name }, `Unpinned ${tool.remoteName}: it asks before every call.`)}
        />
      ))}
      {view && view.servers.length > 0 && (
        <button type="button" disabled={busy} onClick={() => void change('mcp.refresh', {}, 'Checked the servers again.')}>
          Check again
        </button>
      )}
      <AddServerForm busy={busy} onAdd={(server) => change('mcp.addServer', { server }, `Added ${server.id}.`)} />
      {message && (
        <p className="settings-message" role="status" data-testid="mcp-status">
          {message}
        </p>
      )}
    </fieldset>
  );
}

function transportSummary(server: OutsideMcpServer): string {
  switch (server.transport) {
    case 'stdio':
      return [server.command, ...server.args].join(' ') + (server.envNames.length > 0 ? ` (gets ${server.envNames.join(', ')})` : ' (gets no variables of yours)');
    case 'http':
      return server.url;
    default: {
      const unknown: never = server;
      return String(unknown);
    }
  }
}

function stateLabel(view: OutsideServerView): string {
  switch (view.state) {
    case 'connected':
      return `connected, ${view.tools.length} ${view.tools.length === 1 ? 'tool' : 'tools'}`;
    case 'connecting':
      return 'connecting…';
    case 'error':
      return 'not reached';
    default: {
      const unknown: never = view.state;
      return String(unknown);
    }
  }
}

function OutsideServer({
  view,
  workspaceOpen,
  busy,
  onRemove,
  onPin,
  onUnpin,
}: {
  view: OutsideServerView;
  workspaceOpen: boolean;
  busy: boolean;
  onRemove: () => void;
  onPin: (tool: OutsideToolView) => void;
  onUnpin: (tool: OutsideToolView) => void;
}) {
  const { server } = view;
  return (
    <section className="mcp-server" data-testid={`mcp-server-${server.id}`} aria-label={`MCP server ${server.id}`}>
      <header className="mcp-server-head">
        <strong>{server.id}</strong>
        <span className={`mcp-state mcp-state-${view.state}`} data-testid="mcp-server-state">
          {stateLabel(view)}
        </span>
        <button type="button" disabled={busy} onClick={onRemove}>
          Remove
        </button>
      </header>
      <code className="mcp-server-command">{transportSummary(server)}</code>
      {view.message && (
        <p className="mcp-server-error" role="alert">
          {view.message}
        </p>
      )}
      {view.tools.length > 0 && (
        <ul className="mcp-tools" aria-label={`Tools of ${server.id}`}>
          {view.tools.map((tool) => (
            <li key={tool.name} className="mcp-tool" data-testid={`mcp-tool-${tool.name}`}>
              <span className={`risk-badge risk-${tool.risk}`}>{tool.risk}</span>
              <span className="mcp-tool-text">
                <code>{tool.remoteName}</code>
                {/* The server's own words: an untrusted hint, shown as plain text. */}
                <span className="mcp-tool-description">{tool.description}</span>
              </span>
              <PinControl tool={tool} workspaceOpen={workspaceOpen} busy={busy} onPin={() => onPin(tool)} onUnpin={() => onUnpin(tool)} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function PinControl({ tool, workspaceOpen, busy, onPin, onUnpin }: { tool: OutsideToolView; workspaceOpen: boolean; busy: boolean; onPin: () => void; onUnpin: () => void }) {
  if (tool.pinned) {
    return (
      <span className="mcp-pin">
        <span className="mcp-pinned">Pinned</span>
        <button type="button" disabled={busy} onClick={onUnpin} aria-label={`Unpin ${tool.remoteName}`}>
          Unpin
        </button>
      </span>
    );
  }
  if (tool.pinOffered) {
    return (
      <span className="mcp-pin">
        <button type="button" disabled={busy} onClick={onPin} aria-label={`Pin ${tool.remoteName}`}>
          Pin
        </button>
      </span>
    );
  }
  return <span className="mcp-pin mcp-asks">{workspaceOpen ? `Asks every time (${tool.risk} risk)` : 'Asks every time (open a workspace to pin)'}</span>;
}

/** Splits "A, B C" into names; the schema says which are not variable names. */
function names(text: string): string[] {
  return text.split(/[\s,]+/).filter((name) => name !== '');
}

function AddServerForm({ busy, onAdd }: { busy: boolean; onAdd: (server: OutsideMcpServer) => Promise<boolean> }) {
  const [id, setId] = useState('');
  const [transport, setTransport] = useState<OutsideMcpServer['transport']>('stdio');
  const [command, setCommand] = useState('');
  const [args, setArgs] = useState('');
  const [envNames, setEnvNames] = useState('');
  const [url, setUrl] = useState('');
  const [problem, setProblem] = useState<string | undefined>();

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const candidate =
      transport === 'stdio'
        ? { id: id.trim(), transport, command: command.trim(), args: args.split('\n').filter((line) => line.trim() !== ''), envNames: names(envNames) }
        : { id: id.trim(), transport, url: url.trim() };
    const parsed = outsideMcpServer.safeParse(candidate);
    if (!parsed.success) {
      setProblem(parsed.error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; '));
      return;
    }
    setProblem(undefined);
    if (await onAdd(parsed.data)) {
      setId('');
      setCommand('');
      setArgs('');
      setEnvNames('');
      setUrl('');
    }
  };

  return (
    <form className="mcp-add" onSubmit={(event) => void submit(event)} aria-label="Add an MCP server">
      <label>
        Name (lower-case letters and digits)
        <input value={id} onChange={(event) => setId(event.target.value)} placeholder="files" autoComplete="off" spellCheck={false} />
      </label>
      <label>
        <input type="radio" name="mcp-transport" checked={transport === 'stdio'} onChange={() => setTransport('stdio')} /> Command (stdio)
      </label>
      <label>
        <input type="radio" name="mcp-transport" checked={transport === 'http'} onChange={() => setTransport('http')} /> URL (Streamable HTTP)
      </label>
      {transport === 'stdio' ? (
        <>
          <label>
            Command
            <input value={command} onChange={(event) => setCommand(event.target.value)} placeholder="/usr/local/bin/my-mcp-server" autoComplete="off" spellCheck={false} />
          </label>
          <label>
            Arguments (one per line)
            <textarea value={args} onChange={(event) => setArgs(event.target.value)} rows={3} spellCheck={false} />
          </label>
          <label>
            Environment variables it may receive (names)
            <input value={envNames} onChange={(event) => setEnvNames(event.target.value)} placeholder="empty: none of yours (it still gets PATH, HOME and the like)" autoComplete="off" spellCheck={false} />
          </label>
        </>
      ) : (
        <label>
          URL
          <input value={url} onChange={(event) => setUrl(event.target.value)} placeholder="http://127.0.0.1:3000/mcp" autoComplete="off" spellCheck={false} />
        </label>
      )}
      <button type="submit" disabled={busy}>
        Add server
      </button>
      {problem && (
        <p className="mcp-server-error" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}
