/**
 * Engine material is checked before it is stored or used: PEM certificates that parse and are
 * in date, a client key that is the certificate's pair, no passphrase-protected keys, SSH keys
 * that ssh2 reads as private keys. A refusal never quotes the text it refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { checkEngineMaterial, privateKeyFragments } from '../../../../electron/sandbox/engines/engineMaterial';
import { SecretRedactor } from '../../../../electron/keychain/redactor';
import { makeTestMaterial, type TestMaterial } from '../../../support/engineMaterial';

let material: TestMaterial;
beforeAll(() => {
  material = makeTestMaterial();
});

function refusal(run: () => void): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('engine material', () => {
  it('accepts a CA, a client certificate with its own key, and an OpenSSH key', () => {
    expect(() => checkEngineMaterial({ ca: material.ca, cert: material.cert, key: material.key })).not.toThrow();
    // A CA bundle of two certificates is one field.
    expect(() => checkEngineMaterial({ ca: `${material.ca}\n${material.cert}` })).not.toThrow();
    expect(() => checkEngineMaterial({ sshKey: material.sshKey })).not.toThrow();
  });

  it('refuses text of the wrong shape, a key that is not the pair, passphrases, public keys and expired certificates', () => {
    const cases: [string, () => void, RegExp][] = [
      ['not PEM', () => checkEngineMaterial({ ca: 'hello' }), /CA certificate is not a PEM certificate/],
      ['a key in the CA field', () => checkEngineMaterial({ ca: material.key }), /CA certificate is not a PEM certificate/],
      ['text around the block', () => checkEngineMaterial({ ca: `junk\n${material.ca}` }), /holds text besides/],
      ['a broken block', () => checkEngineMaterial({ ca: material.ca.replace(/\n[A-Za-z0-9+/]{10}/, '\nAAAAAAAAAA') }), /not a readable X.509 certificate/],
      ['two client certificates', () => checkEngineMaterial({ cert: `${material.cert}${material.ca}` }), /must be one certificate/],
      ['a certificate in the key field', () => checkEngineMaterial({ key: material.cert }), /client key is not a PEM private key/],
      ['an encrypted key', () => checkEngineMaterial({ key: material.encryptedKey }), /passphrase/],
      ['another key', () => checkEngineMaterial({ cert: material.cert, key: material.otherKey }), /does not belong to the client certificate/],
      ['an OpenSSH key for TLS', () => checkEngineMaterial({ key: material.sshKey }), /is an OpenSSH key/],
      ['an encrypted SSH key', () => checkEngineMaterial({ sshKey: material.encryptedSshKey }), /passphrase/],
      ['a public SSH key', () => checkEngineMaterial({ sshKey: material.sshPublicKey }), /SSH key is not a PEM private key/],
      ['an expired CA', () => checkEngineMaterial({ ca: material.ca }, Date.now() + 10 * 86_400_000), /CA certificate expired on/],
      ['an expired certificate', () => checkEngineMaterial({ cert: material.cert }, Date.now() + 10 * 86_400_000), /client certificate expired on/],
      ['a certificate not yet valid', () => checkEngineMaterial({ cert: material.cert }, Date.now() - 10 * 86_400_000), /not valid before/],
    ];
    const bodyLines = Object.values(material).flatMap((text) => privateKeyFragments(text));
    expect(bodyLines.length).toBeGreaterThan(10);
    for (const [name, run, expected] of cases) {
      const message = refusal(run);
      expect(message, name).toMatch(expected);
      for (const line of bodyLines) expect(message, name).not.toContain(line);
    }
  });

  it('gives the redactor every base64 line of a key, so a key printed in pieces is cut too', () => {
    const redactor = new SecretRedactor();
    for (const fragment of privateKeyFragments(material.sshKey)) redactor.add('engine-x-ssh-key', fragment);
    const lines = material.sshKey.trim().split('\n');
    const middle = lines[2] ?? '';
    expect(middle.length).toBeGreaterThan(16);
    expect(redactor.redact(`cat id: ${middle}`)).toBe('cat id: [redacted:engine-x-ssh-key]');
    // The whole block is cut by its PEM shape even for a redactor never told of it.
    expect(new SecretRedactor().redact(material.key)).not.toContain(material.key.split('\n')[1]);
  });
});
