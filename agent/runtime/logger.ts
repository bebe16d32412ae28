import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level?: LogLevel;
  /** JSON lines when true; human lines when false. Default: JSON unless the destination is a TTY. */
  json?: boolean;
  /** Where lines go; default stdout. */
  destination?: NodeJS.WritableStream & { isTTY?: boolean; fd?: number };
  name?: string;
}

/**
 * The one place loggers are made. Components take `logger.child({ component: 'raft' })`.
 * Pretty output is written synchronously in-process (no worker thread), so lines are never
 * lost on a fast exit.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const dest = opts.destination ?? process.stdout;
  const json = opts.json ?? !dest.isTTY;
  const level: LevelWithSilent = opts.level ?? 'info';
  const base = { name: opts.name ?? 'herald' };
  if (json) {
    return pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, dest);
  }
  return pino({ level, base }, prettyStream(dest));
}

/** The human-readable output: a stream that takes pino's JSON lines and writes them to `dest`. */
export function prettyStream(dest: NodeJS.WritableStream & { isTTY?: boolean }): NodeJS.WritableStream {
  return pretty({
    destination: dest,
    colorize: Boolean(dest.isTTY),
    sync: true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname,name',
    messageFormat: '{if component}[{component}] {end}{msg}',
    hideObject: false,
  });
}

/** A logger that writes nothing; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
