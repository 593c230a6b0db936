/**
 * `npm run audit:verify` (and `npm run audit:export -- FILE`): checks the audit log's hash
 * chain and signed head outside the app, reading the head key and the log's anchor (count
 * and head hash) from the OS keychain, and optionally exports the log as JSON Lines. Exit
 * codes: 0 verified, 1 damaged (an edited chain, a missing or unsigned head where the log has
 * had a signed one, a wiped log or an older copy, a recorded finding), 2 no log found or bad
 * usage, 3 the chain is intact but the head could not be vouched for (no key to check it, or
 * a log that was never signed).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultDataDir } from '../core/dataDir';
import { OsKeychain } from '../keychain/keychain';
import { loadAuditHeadKey } from './auditKey';
import { exportAuditJsonLines, keychainAnchorStore, openAuditReadOnly, verifyAuditDatabase, type AuditAnchor } from './auditLog';

const usage = 'usage: auditVerify [--data-dir DIR | --db FILE] [--export FILE.jsonl]';

/** The Electron app keeps its data under userData; the browser host under defaultDataDir(). */
function candidateFiles(): string[] {
  const home = os.homedir();
  const electronUserData =
    process.platform === 'darwin'
      ? path.join(home, 'Library', 'Application Support', 'sophia')
      : process.platform === 'win32'
        ? path.join(process.env['APPDATA'] ?? path.join(home, 'AppData', 'Roaming'), 'sophia')
        : path.join(process.env['XDG_CONFIG_HOME'] ?? path.join(home, '.config'), 'sophia');
  return [...new Set([defaultDataDir(), electronUserData])].map((dir) => path.join(dir, 'audit.db'));
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(argv: string[]): Promise<number> {
  let files: string[] | undefined;
  let exportTo: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = argv[i + 1];
    if ((arg === '--db' || arg === '--data-dir' || arg === '--export') && !value) {
      say(usage);
      return 2;
    }
    if (arg === '--db') files = [path.resolve(value!)];
    else if (arg === '--data-dir') files = [path.join(path.resolve(value!), 'audit.db')];
    else if (arg === '--export') exportTo = path.resolve(value!);
    else {
      say(usage);
      return 2;
    }
    i += 1;
  }
  const found = (files ?? candidateFiles()).filter((file) => existsSync(file));
  if (found.length === 0) {
    say(`No audit log found (looked for ${(files ?? candidateFiles()).join(', ')}).`);
    return 2;
  }

  const keychain = new OsKeychain();
  const { key, problem: keyProblem } = loadAuditHeadKey(keychain, { create: false });
  const anchorOf = (file: string): AuditAnchor | null | undefined => {
    if (!key) return undefined;
    try {
      return keychainAnchorStore(keychain, file).read();
    } catch {
      return undefined;
    }
  };

  let worst = 0;
  let damaged = false;
  for (const file of found) {
    const db = openAuditReadOnly(file);
    try {
      const result = verifyAuditDatabase(db, key, anchorOf(file));
      const head = db.prepare<[], { mac: string | null }>('SELECT mac FROM audit_head WHERE id = 1').get();
      const headUnchecked = result.ok && key === undefined && (head?.mac ?? null) !== null;
      const neverSigned = result.ok && !result.headSigned;
      say(`${file}: ${result.message}`);
      if (headUnchecked) say(`  The head is signed, but its key could not be read (${keyProblem ?? 'unknown'}), so a cut-off tail or rebuilt log was not checked.`);
      say(JSON.stringify({ file, ...result, headChecked: !headUnchecked && key !== undefined }));
      if (exportTo) {
        const target = found.length > 1 ? exportTo.replace(/(\.jsonl)?$/, `-${found.indexOf(file) + 1}.jsonl`) : exportTo;
        const count = await exportAuditJsonLines(db, target);
        say(`  exported ${count} entries to ${target}`);
      }
      if (!result.ok) damaged = true;
      else if (headUnchecked || neverSigned) worst = 3;
    } finally {
      db.close();
    }
  }
  // Damage in any log outranks a head that could not be checked in another.
  return damaged ? 1 : worst;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`audit verify failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
