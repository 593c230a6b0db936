/**
 * The log sources the person named in Settings, and reading one for `read_logs`. Sources are
 * added, replaced and removed only through the person's channels (`logSources.*`, audited);
 * the tool reads by name and can neither add one nor widen one. A file source is checked when
 * saved (it exists, Sophia may read it, it is outside the workspace and Sophia's data folder)
 * and again at every read, since the workspace or a link may have changed since. Everything
 * read is redacted of known secret values before the filter and before anyone sees it.
 */
import type Docker from 'dockerode';
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Handlers } from '../../shared/handlers';
import { missingCase, SophiaError } from '../../shared/errors';
import { logSourceLimits, logSourceTarget, type LogSource, type LogSourceField } from '../../shared/logSources';
import { expandHome } from '../core/folderListing';
import { createLogger } from '../log';
import { createDockerClient } from '../sandbox/dockerClient';
import type { SandboxService } from '../sandbox/sandbox';
import { readCommandSource } from './commandLogs';
import { checkContainer, readDockerSource } from './dockerLogs';
import { isInside, readFileSource, realSourcePath } from './fileLogs';
import { compileFilter, formatLogOutput, LogQueryError, logReadLimits, parseWindow, type LogQuery } from './logQuery';

const log = createLogger('logSources');

export interface LogSourceServiceOptions {
  /** The saved sources (Settings), and how to save the list. */
  readonly sources: () => readonly LogSource[];
  readonly saveSources: (sources: LogSource[]) => void;
  /** The open workspace ('' when none): sources may not be inside it, and commands mount it read-only. */
  readonly workspace: () => string;
  /** Sophia's data folder (its databases, the MCP endpoint's token): never a log source. */
  readonly dataDir: string;
  readonly sandbox: SandboxService;
  /** The local Docker engine; created on the first Docker source by default. */
  readonly docker?: () => Docker;
  /** Cuts known secret values. */
  readonly redact: (text: string) => string;
  /** The clock (tests). */
  readonly now?: () => number;
}

/** What `read_logs` asks. */
export interface ReadLogsRequest {
  readonly source: string;
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly grep?: string | undefined;
  readonly fixed?: boolean | undefined;
  readonly tail?: number | undefined;
}

function refusal(field: LogSourceField, message: string, code: 'bad_request' | 'refused' = 'bad_request'): SophiaError {
  return new SophiaError(code, message, { field });
}

async function realOrUndefined(folder: string): Promise<string | undefined> {
  if (!folder) return undefined;
  return realpath(folder).catch(() => undefined);
}

export class LogSourceService {
  readonly #options: LogSourceServiceOptions;
  #docker: Docker | undefined;

  constructor(options: LogSourceServiceOptions) {
    this.#options = options;
  }

  get #dockerClient(): Docker {
    this.#docker ??= this.#options.docker?.() ?? createDockerClient();
    return this.#docker;
  }

  list(): LogSource[] {
    return [...this.#options.sources()];
  }

  names(): string[] {
    return this.list().map((source) => source.name);
  }

  /** Adds a source, or replaces the one with its name (names compare without case), once checked. */
  async save(input: LogSource): Promise<LogSource[]> {
    const checked = await this.#checked(input);
    const others = this.list().filter((source) => source.name.toLowerCase() !== checked.name.toLowerCase());
    if (others.length >= logSourceLimits.sources) throw refusal('name', `There are already ${others.length} log sources; remove one first.`);
    const next = [...others, checked].sort((a, b) => a.name.localeCompare(b.name));
    this.#options.saveSources(next);
    log.info('log source saved', { name: checked.name, kind: checked.kind });
    return next;
  }

  remove(name: string): LogSource[] {
    const current = this.list();
    const next = current.filter((source) => source.name.toLowerCase() !== name.trim().toLowerCase());
    if (next.length === current.length) throw new SophiaError('bad_request', `There is no log source named ${name.slice(0, 64)}.`, { field: 'name' });
    this.#options.saveSources(next);
    return next;
  }

  async #checked(source: LogSource): Promise<LogSource> {
    switch (source.kind) {
      case 'file':
        return { ...source, path: await this.#checkedPath(source.path) };
      case 'docker':
        await checkContainer(this.#dockerClient, source.container);
        return source;
      case 'command':
        return source;
      default:
        return missingCase(source);
    }
  }

  /** `~` expanded and absolute (the path as chosen, a link kept a link); refused unless a readable file or folder outside the workspace and the data folder. */
  async #checkedPath(raw: string): Promise<string> {
    const expanded = expandHome(raw.trim());
    if (!path.isAbsolute(expanded)) throw refusal('path', `The path must be absolute (or start with ~): ${raw.slice(0, 300)} is not.`);
    const chosen = path.resolve(expanded);
    const shown = chosen.slice(0, 300);
    let real: string;
    try {
      real = await realpath(chosen);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw refusal('path', `${shown} does not exist. Check the path, or create the log first.`);
      if (code === 'EACCES' || code === 'EPERM') throw refusal('path', `Sophia may not open ${shown} (permission denied).`);
      throw refusal('path', `Could not open ${shown}${code ? ` (${code})` : ''}.`);
    }
    const info = await stat(real);
    if (!info.isFile() && !info.isDirectory()) throw refusal('path', `${shown} is neither a file nor a folder.`);
    try {
      await access(real, info.isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK);
    } catch {
      throw refusal('path', `Sophia may not read ${shown} (permission denied).`);
    }
    this.#refuseConfined(real, await realOrUndefined(this.#options.workspace()), await realOrUndefined(this.#options.dataDir), 'path', shown);
    return chosen;
  }

  #refuseConfined(real: string, workspace: string | undefined, dataDir: string | undefined, field: LogSourceField, shown: string): void {
    if (workspace && isInside(workspace, real)) {
      throw refusal(field, `${shown} is inside the workspace. The agent reads workspace files with read_file (under its rules); a log source is for logs outside it.`, 'refused');
    }
    if (dataDir && (isInside(dataDir, real) || isInside(real, dataDir))) {
      throw refusal(field, `${shown} holds Sophia's own data folder (its databases and tokens), which is never a log source.`, 'refused');
    }
  }

  /** Reads a source for `read_logs`: the header and the lines, or a failure in words. */
  async read(request: ReadLogsRequest, signal: AbortSignal): Promise<{ ok: boolean; output: string }> {
    const source = this.list().find((candidate) => candidate.name.toLowerCase() === request.source.trim().toLowerCase());
    if (!source) {
      const names = this.names();
      return {
        ok: false,
        output:
          names.length === 0
            ? `There is no log source named "${request.source.slice(0, 64)}": none are set up. The person adds log sources in Settings → Log sources; ask them to.`
            : `There is no log source named "${request.source.slice(0, 64)}". The sources are: ${names.join(', ')}.`,
      };
    }
    try {
      const now = this.#options.now?.() ?? Date.now();
      const query: LogQuery = {
        window: parseWindow(request, now),
        filter: compileFilter(request.grep, request.fixed === true),
        tail: Math.min(request.tail ?? logReadLimits.defaultTail, logReadLimits.maxTail),
        redact: this.#options.redact,
        signal,
        now,
      };
      const result = await this.#readSource(source, query);
      return { ok: true, output: this.#options.redact(formatLogOutput(source, query, result)) };
    } catch (error) {
      if (error instanceof LogQueryError || error instanceof SophiaError) return { ok: false, output: `read_logs ${source.name}: ${this.#options.redact(error.message)}` };
      log.error('reading a log source failed', { name: source.name, kind: source.kind, error });
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      return { ok: false, output: `read_logs ${source.name}: could not read ${logSourceTarget(source).slice(0, 300)}${code ? ` (${code})` : ''}.` };
    }
  }

  async #readSource(source: LogSource, query: LogQuery) {
    switch (source.kind) {
      case 'file': {
        const real = await realSourcePath(source.path).catch((error: NodeJS.ErrnoException) => {
          throw new LogQueryError(`${source.path} ${error.code === 'ENOENT' ? 'does not exist any more' : `cannot be opened (${error.code ?? 'error'})`}.`);
        });
        const workspace = await realOrUndefined(this.#options.workspace());
        // Checked again: the workspace may have moved over the log, or a link changed, since the source was saved.
        try {
          this.#refuseConfined(real, workspace, await realOrUndefined(this.#options.dataDir), 'path', source.path);
        } catch (error) {
          throw new LogQueryError(error instanceof Error ? error.message : String(error));
        }
        return readFileSource(real, query, workspace);
      }
      case 'docker':
        return readDockerSource(this.#dockerClient, source.container, query);
      case 'command':
        return readCommandSource(this.#options.sandbox, source.command, this.#options.workspace(), query);
      default:
        return missingCase(source);
    }
  }
}

export function logSourceHandlers(service: LogSourceService): Pick<Handlers, 'logSources.list' | 'logSources.save' | 'logSources.remove'> {
  return {
    'logSources.list': () => ({ sources: service.list() }),
    'logSources.save': async (input) => ({ sources: await service.save(input) }),
    'logSources.remove': (input) => ({ sources: service.remove(input.name) }),
  };
}
