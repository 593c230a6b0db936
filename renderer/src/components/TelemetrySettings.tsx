/**
 * Settings → Telemetry: OpenTelemetry export of turns, model and tool calls, approvals and
 * sandbox runs over OTLP/HTTP. Off by default; content (prompts, answers, tool arguments and
 * results) only when "capture content" is on. The endpoint's headers go to the keychain and
 * are never shown again.
 */
import { useEffect, useState, type FormEvent } from 'react';
import type { TelemetrySettings as Telemetry, TelemetryStatus } from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';
import './telemetrySettings.css';

export function TelemetrySettings({ client }: { client: SophiaClient }) {
  const [telemetry, setTelemetry] = useState<Telemetry | undefined>();
  const [status, setStatus] = useState<TelemetryStatus | undefined>();
  const [headers, setHeaders] = useState('');
  const [message, setMessage] = useState<{ text: string; error?: boolean } | undefined>();

  const refresh = async (): Promise<void> => {
    const result = await client.request('telemetry.status', {});
    if (result.ok) setStatus(result.value);
  };

  useEffect(() => {
    void client.request('settings.get', {}).then((result) => {
      if (result.ok) setTelemetry(result.value.telemetry);
      else setMessage({ text: result.error.message, error: true });
    });
    void client.request('telemetry.status', {}).then((result) => {
      if (result.ok) setStatus(result.value);
    });
  }, [client]);

  const save = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (!telemetry) return;
    setMessage({ text: 'Saving…' });
    const result = await client.request('settings.set', { telemetry });
    if (!result.ok) {
      setMessage({ text: result.error.message, error: true });
      return;
    }
    setTelemetry(result.value.telemetry);
    if (headers.trim()) {
      const stored = await client.request('secrets.set', { name: 'otlp-headers', value: headers.trim() });
      // The value leaves the renderer's memory as soon as it is sent.
      setHeaders('');
      if (!stored.ok) {
        setMessage({ text: stored.error.message, error: true });
        return;
      }
    }
    setMessage({ text: result.value.telemetry.enabled ? 'Saved. The next turn is exported.' : 'Saved. Nothing is exported.' });
    await refresh();
  };

  if (!telemetry) return null;
  const set = (patch: Partial<Telemetry>): void => setTelemetry((current) => current && { ...current, ...patch });
  return (
    <form onSubmit={(event) => void save(event)} data-testid="settings-telemetry">
      <fieldset>
        <legend>Telemetry</legend>
        <p className="settings-note">
          OpenTelemetry spans (each turn, model call, tool call, approval and sandbox run, with the GenAI semantic conventions) and metrics (tokens, durations,
          cost, approvals) sent over OTLP/HTTP to your collector. Off by default. Without content capture only names, ids, counts, durations and decisions leave this
          machine: no prompt, answer, tool argument or result, file content or secret.
        </p>
        <label className="settings-check">
          <input type="checkbox" checked={telemetry.enabled} onChange={(event) => set({ enabled: event.target.checked })} data-testid="telemetry-enabled" /> Export
          telemetry
        </label>
        <label>
          OTLP endpoint (HTTP)
          <input
            type="url"
            placeholder="http://localhost:4318"
            value={telemetry.endpoint}
            onChange={(event) => set({ endpoint: event.target.value.trim() })}
            data-testid="telemetry-endpoint"
          />
        </label>
        <label>
          Headers (saved to the keychain; leave empty to keep the saved ones)
          <input
            type="password"
            autoComplete="off"
            placeholder="Authorization=Bearer%20…,x-team=platform"
            value={headers}
            onChange={(event) => setHeaders(event.target.value)}
            data-testid="telemetry-headers"
          />
        </label>
        <label className="settings-check">
          <input type="checkbox" checked={telemetry.captureContent} onChange={(event) => set({ captureContent: event.target.checked })} data-testid="telemetry-capture" />{' '}
          Capture content: prompts, answers, tool arguments and results, sandbox commands (keychain values are still cut)
        </label>
        {status && (
          <p className="settings-note" data-testid="telemetry-status">
            {status.loaded ? `Exporting: ${status.exportedSpans} spans sent.` : 'Not exporting.'}
            {status.failures > 0 && ` ${status.failures} exports failed; the last: ${status.lastFailure ?? 'unknown'}.`}
          </p>
        )}
        <div className="settings-save-row">
          <button type="submit" className="save-button">
            Save telemetry
          </button>
          {message && (
            <span className={message.error ? 'settings-message settings-error' : 'settings-message'} role="status">
              {message.text}
            </span>
          )}
        </div>
      </fieldset>
    </form>
  );
}
