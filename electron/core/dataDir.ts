import os from 'node:os';
import path from 'node:path';

/**
 * Where Sophia keeps its databases when no host says otherwise (the browser host; Electron
 * uses its userData folder): `SOPHIA_DATA_DIR`, else the platform's per-user data folder.
 */
export function defaultDataDir(): string {
  const configured = process.env['SOPHIA_DATA_DIR'];
  if (configured) return path.resolve(configured);
  const home = os.homedir();
  switch (process.platform) {
    case 'darwin':
      return path.join(home, 'Library', 'Application Support', 'Sophia');
    case 'win32':
      return path.join(process.env['APPDATA'] ?? path.join(home, 'AppData', 'Roaming'), 'Sophia');
    default:
      return path.join(process.env['XDG_DATA_HOME'] ?? path.join(home, '.local', 'share'), 'sophia');
  }
}
