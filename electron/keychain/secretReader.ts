/**
 * How the main process reads a credential it needs (a model key, the GitHub token, Snowflake
 * and Pulumi secrets): by name, from the OS keychain. Never for a renderer.
 */
import type { SecretName } from '../../shared/contract';

export interface SecretReader {
  get(name: SecretName): Promise<string | undefined>;
}
