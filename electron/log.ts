/**
 * One logger per module, JSON lines on stderr. Product code never uses `console`.
 * Secrets never reach a log: callers pass identifiers, not values.
 */
const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = Exclude<keyof typeof levels, 'silent'>;

function threshold(): number {
  const configured = process.env['SOPHIA_LOG_LEVEL'];
  if (configured && configured in levels) return levels[configured as keyof typeof levels];
  return levels.info;
}

/** Cuts known secret values from every line (the secret store installs it at startup). */
const redactors = new Set<(line: string) => string>();

export function addLogRedactor(redact: (line: string) => string): () => void {
  redactors.add(redact);
  return () => redactors.delete(redact);
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

function describe(value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;
}

export function createLogger(module: string): Logger {
  const write = (level: Level, message: string, fields?: Record<string, unknown>): void => {
    if (levels[level] < threshold()) return;
    const entry: Record<string, unknown> = { t: new Date().toISOString(), level, module, message };
    if (fields) for (const [key, value] of Object.entries(fields)) entry[key] = describe(value);
    let line = JSON.stringify(entry);
    for (const redact of redactors) line = redact(line);
    process.stderr.write(`${line}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
