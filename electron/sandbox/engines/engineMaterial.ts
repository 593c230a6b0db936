/**
 * The keys and certificates a person pastes for an engine, checked before anything is stored
 * or sent: each must be the kind of PEM or OpenSSH text its field expects and must parse
 * (Node's crypto for X.509 and PEM keys, ssh2's key parser for SSH keys), the client
 * certificate and key must belong together, and a key with a passphrase is refused (Sophia
 * has nowhere to keep the passphrase; the SSH agent is the way to use one). Error messages
 * never quote the text.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type * as Ssh2 from 'ssh2';
import type { EngineMaterial, EngineMaterialField } from '../../../shared/contract';
import { SophiaError } from '../../../shared/errors';
import { requireOnFirstUse } from '../../core/lazyRequire';

// CommonJS (a named ESM import of it fails in the built app), and loaded only when an SSH key is pasted.
const ssh2 = requireOnFirstUse<typeof Ssh2>('ssh2');

const fieldNames: Readonly<Record<EngineMaterialField, string>> = {
  ca: 'The CA certificate',
  cert: 'The client certificate',
  key: 'The client key',
  sshKey: 'The SSH key',
};

const certificateBlock = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g;
const privateKeyBlock = /^-----BEGIN ((?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY)-----\r?\n[\s\S]+\r?\n-----END \1-----$/;

function refuse(field: EngineMaterialField, why: string): never {
  throw new SophiaError('bad_request', `${fieldNames[field]} ${why}`, { field });
}

/** Only the block(s) and blank space: a text with anything else around them is not what was asked for. */
function certificates(field: EngineMaterialField, text: string): X509Certificate[] {
  const trimmed = text.trim();
  const blocks = trimmed.match(certificateBlock) ?? [];
  if (blocks.length === 0) refuse(field, 'is not a PEM certificate (a block from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----).');
  if (trimmed.replace(certificateBlock, '').trim() !== '') refuse(field, 'holds text besides its PEM certificate blocks.');
  if (blocks.length > 20) refuse(field, 'holds more than 20 certificates.');
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch {
      return refuse(field, 'has a block that is not a readable X.509 certificate.');
    }
  });
}

function expiryProblem(certificate: X509Certificate, now: number): string | undefined {
  if (Date.parse(certificate.validTo) < now) return `expired on ${certificate.validTo}.`;
  if (Date.parse(certificate.validFrom) > now) return `is not valid before ${certificate.validFrom}.`;
  return undefined;
}

function privateKey(field: EngineMaterialField, text: string) {
  const trimmed = text.trim();
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(trimmed)) {
    refuse(field, 'is protected by a passphrase; Sophia does not keep passphrases. Use a key without one for this engine, or the SSH agent.');
  }
  if (!privateKeyBlock.test(trimmed)) refuse(field, 'is not a PEM private key (a block from -----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY-----).');
  return trimmed;
}

/**
 * Checks each given field on its own (shape, parse, dates) and, when both are at hand, that
 * the client certificate and key are a pair. `now` is for tests of expiry.
 */
export function checkEngineMaterial(material: EngineMaterial, now: number = Date.now()): void {
  if (material.ca !== undefined) {
    for (const certificate of certificates('ca', material.ca)) {
      const problem = expiryProblem(certificate, now);
      if (problem) refuse('ca', problem);
    }
  }
  let client: X509Certificate | undefined;
  if (material.cert !== undefined) {
    const [first, ...rest] = certificates('cert', material.cert);
    if (!first || rest.length > 0) refuse('cert', 'must be one certificate (the CA goes in its own field).');
    const problem = expiryProblem(first, now);
    if (problem) refuse('cert', problem);
    client = first;
  }
  if (material.key !== undefined) {
    const text = privateKey('key', material.key);
    if (text.startsWith('-----BEGIN OPENSSH')) refuse('key', 'is an OpenSSH key; a TLS client key is PEM (PKCS#8, RSA or EC).');
    let key;
    try {
      key = createPrivateKey({ key: text, format: 'pem' });
    } catch {
      refuse('key', 'is not a readable private key.');
    }
    if (client && !client.checkPrivateKey(key)) refuse('key', 'does not belong to the client certificate (they are not a pair).');
  }
  if (material.sshKey !== undefined) {
    const text = privateKey('sshKey', material.sshKey);
    const parsed: unknown = ssh2().utils.parseKey(text);
    const key = Array.isArray(parsed) ? (parsed[0] as unknown) : parsed;
    if (key instanceof Error || key === undefined) {
      refuse('sshKey', /passphrase|encrypted/i.test(key instanceof Error ? key.message : '') ? 'is protected by a passphrase; use the SSH agent for a key with one.' : 'is not a readable SSH private key.');
    }
    if (!(key as { isPrivateKey(): boolean }).isPrivateKey()) refuse('sshKey', 'is a public key; paste the private key (the agent is the other way).');
  }
}

/**
 * The parts of a private key worth cutting from output besides the whole block (which the
 * redactor's PEM shape already catches): each base64 line, so a key printed in pieces or
 * wrapped differently still does not show.
 */
export function privateKeyFragments(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length >= 16 && !line.startsWith('-----') && /^[A-Za-z0-9+/=]+$/.test(line));
}
