/** Keys and certificates made for a test with openssl and ssh-keygen, in a throwaway folder. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestMaterial {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** A key that is not the client certificate's. */
  readonly otherKey: string;
  /** The client key protected by a passphrase. */
  readonly encryptedKey: string;
  readonly sshKey: string;
  readonly encryptedSshKey: string;
  readonly sshPublicKey: string;
}

export function makeTestMaterial(): TestMaterial {
  const dir = mkdtempSync(path.join(tmpdir(), 'sophia-engine-material-'));
  const run = (command: string, args: string[]): void => void execFileSync(command, args, { cwd: dir, stdio: 'ignore', timeout: 30_000 });
  const read = (name: string): string => readFileSync(path.join(dir, name), 'utf8');
  try {
    run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test-ca']);
    run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'key.pem', '-out', 'client.csr', '-subj', '/CN=client']);
    run('openssl', ['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'cert.pem', '-days', '2']);
    run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other.pem']);
    run('openssl', ['pkcs8', '-topk8', '-in', 'key.pem', '-out', 'encrypted.pem', '-passout', 'pass:a-passphrase']);
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', 'id_ed25519']);
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'a-passphrase', '-C', 'test', '-f', 'id_encrypted']);
    return {
      ca: read('ca.pem'),
      cert: read('cert.pem'),
      key: read('key.pem'),
      otherKey: read('other.pem'),
      encryptedKey: read('encrypted.pem'),
      sshKey: read('id_ed25519'),
      encryptedSshKey: read('id_encrypted'),
      sshPublicKey: read('id_ed25519.pub'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
