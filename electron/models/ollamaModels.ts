/**
 * The models an Ollama server has, through the `ollama` client's `list()` (GET /api/tags):
 * what the Settings picker offers and what its connection test reports. Like the chat
 * provider, it talks only to a server on this machine; any other host is refused up front.
 */
import { SophiaError } from '../../shared/errors';
import { isLoopbackUrl } from './endpoints';

export interface OllamaModel {
  readonly name: string;
  readonly size: number;
  readonly parameterSize: string;
}

/** A server that does not answer in this long is reported as unreachable. */
const listTimeoutMs = 5000;

export async function listOllamaModels(host: string, timeoutMs = listTimeoutMs): Promise<OllamaModel[]> {
  if (!isLoopbackUrl(host)) {
    throw new SophiaError('refused', `Sophia talks only to an Ollama server on this machine; ${host} is not. Use http://127.0.0.1:11434 (Ollama's default).`);
  }
  // Loaded on first use, like the chat provider: the app does not load it at start.
  const { Ollama } = await import('ollama');
  const client = new Ollama({ host, fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }) });
  let listed: Awaited<ReturnType<typeof client.list>>;
  try {
    listed = await client.list();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    throw new SophiaError(
      'unavailable',
      timedOut
        ? `The Ollama server at ${host} did not answer within ${timeoutMs / 1000} s. Is it running (\`ollama serve\`)?`
        : `Could not reach Ollama at ${host}: ${reason.slice(0, 300)}. Start it with \`ollama serve\`, or check the address.`,
    );
  }
  const models = Array.isArray(listed.models) ? listed.models : [];
  return models
    .filter((model) => typeof model.name === 'string')
    .map((model) => ({
      name: model.name,
      size: typeof model.size === 'number' && model.size >= 0 ? model.size : 0,
      parameterSize: typeof model.details?.parameter_size === 'string' ? model.details.parameter_size.slice(0, 40) : '',
    }));
}
