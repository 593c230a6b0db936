/**
 * Picking a folder on the machine Sophia runs on. In the desktop app: the system's own folder
 * dialog (`host.pickFolder`). In the browser: the host's folders, listed by the host
 * (`host.listFolders`: names of directories only), starting at the home folder.
 */
import { useState } from 'react';
import type { FolderListing } from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';

export function FolderPicker({ client, start, onPick, label = 'Choose a folder…' }: { client: SophiaClient; start?: string; onPick: (path: string) => void; label?: string }) {
  const [listing, setListing] = useState<FolderListing | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const list = async (path: string | undefined): Promise<void> => {
    setBusy(true);
    const result = await client.request('host.listFolders', path ? { path } : {});
    setBusy(false);
    if (result.ok) {
      setListing(result.value);
      setError(undefined);
    } else {
      setError(result.error.message);
    }
  };

  const open = async (): Promise<void> => {
    setError(undefined);
    if (client.transport === 'electron') {
      const result = await client.request('host.pickFolder', start ? { defaultPath: start } : {});
      if (!result.ok) setError(result.error.message);
      else if (result.value.path) onPick(result.value.path);
      return;
    }
    // Where the person already is, else home; a start that no longer exists falls back to home.
    const result = await client.request('host.listFolders', start ? { path: start } : {});
    if (result.ok) setListing(result.value);
    else await list(undefined);
  };

  if (!listing) {
    return (
      <span className="folder-picker">
        <button type="button" onClick={() => void open()} data-testid="folder-picker-open">
          {label}
        </button>
        {error && (
          <span className="field-error" role="alert">
            {error}
          </span>
        )}
      </span>
    );
  }
  return (
    <div className="folder-browser" role="group" aria-label="Folders on this machine" data-testid="folder-browser">
      <div className="folder-browser-path">
        <code data-testid="folder-browser-path">{listing.path}</code>
      </div>
      <div className="folder-browser-actions">
        <button type="button" disabled={busy || listing.parent === null} onClick={() => listing.parent && void list(listing.parent)}>
          Up
        </button>
        <button type="button" disabled={busy} onClick={() => void list(listing.home)}>
          Home
        </button>
        <button
          type="button"
          className="primary-button"
          onClick={() => {
            onPick(listing.path);
            setListing(undefined);
          }}
        >
          Use this folder
        </button>
        <button type="button" onClick={() => setListing(undefined)}>
          Cancel
        </button>
      </div>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <ul className="folder-list" aria-label="Sub-folders">
        {listing.folders.length === 0 && <li className="settings-note">No sub-folders.</li>}
        {listing.folders.map((folder) => (
          <li key={folder.path}>
            <button type="button" className="folder-entry" disabled={busy} onClick={() => void list(folder.path)}>
              📁 {folder.name}
            </button>
          </li>
        ))}
      </ul>
      {listing.truncated && <p className="settings-note">This folder has more entries than are listed; type the path instead if yours is not here.</p>}
    </div>
  );
}
