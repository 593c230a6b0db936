/**
 * The Memory drawer: the header's Memory button opens it over the side panel. Its content
 * (MemoryPanel.tsx) loads the first time it is opened, so the first screen does not grow.
 */
import { lazy, Suspense } from 'react';
import type { SophiaClient } from '../client/sophiaClient';
import './memory.css';

const MemoryPanel = lazy(() => import('./MemoryPanel'));

export function MemoryButton({ open, onToggle }: { open: boolean; onToggle: () => void }) {
  return (
    <button type="button" className="header-button" aria-pressed={open} data-testid="open-memory" onClick={onToggle}>
      Memory
    </button>
  );
}

export function MemoryDrawer({ client, onClose }: { client: SophiaClient; onClose: () => void }) {
  return (
    <aside className="side-drawer memory-drawer" aria-label="Memory" data-testid="memory-drawer">
      <div className="side-drawer-head memory-drawer-head">
        <strong>Memory</strong>
        <button type="button" onClick={onClose} aria-label="Close">
          ×
        </button>
      </div>
      <Suspense fallback={<p className="memory-muted">Loading…</p>}>
        <MemoryPanel client={client} />
      </Suspense>
    </aside>
  );
}
