/**
 * The agent's log fan-out: one pino logger writes every line (at `trace`) into the hub; the
 * hub passes lines at or above the configured level to the primary output (stdout, JSON or
 * human) and lines at or above each monitor's level to that monitor (`herald monitor`).
 * Because levels are checked here, the primary level can change at run time (reload) and a
 * monitor can ask for `debug` while the agent logs at `info`.
 *
 * Contract: writing a line never blocks and never throws. A monitor whose consumer falls
 * behind by more than its byte budget is dropped (its `onDrop` is called) instead of slowing
 * the agent down.
 */
import { pino, type Logger } from 'pino';
import { prettyStream, type LogLevel } from './logger.js';

const LEVEL_NUM: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };
const LEVEL_NAME: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'ERROR' };

/** Consul's monitor levels (`err` = error). */
export function parseLogLevel(s: string): LogLevel | undefined {
  const l = s.toLowerCase();
  if (l === 'err') return 'error';
  return l in LEVEL_NUM ? (l as LogLevel) : undefined;
}

export interface MonitorOptions {
  level: LogLevel;
  /** JSON lines (as logged) instead of Consul-like text lines. */
  json?: boolean;
  /** Receives each line (with its trailing newline); returns false when the consumer is full. */
  write(line: string): boolean;
  /** Bytes the consumer may fall behind by before the monitor is dropped. */
  pendingBytes(): number;
  maxPendingBytes?: number;
  /** Called once when the hub drops this monitor (slow consumer, or closeAll). */
  onDrop(reason: string): void;
}

interface Monitor extends MonitorOptions {
  min: number;
  max: number;
}

export class LogHub {
  private min: number;
  private readonly monitors = new Set<Monitor>();
  private readonly primary: { write(s: string): unknown };

  constructor(opts: { level: LogLevel; json: boolean; destination: NodeJS.WritableStream & { isTTY?: boolean } }) {
    this.min = LEVEL_NUM[opts.level];
    this.primary = opts.json ? opts.destination : prettyStream(opts.destination);
  }

  /** A logger writing through this hub. Its own level is `trace`; the hub filters. */
  logger(name = 'herald'): Logger {
    return pino({ level: 'trace', base: { name }, timestamp: pino.stdTimeFunctions.isoTime }, { write: (s: string) => this.write(s) });
  }

  /** The level of the primary output (reload changes it). */
  setLevel(level: LogLevel): void {
    this.min = LEVEL_NUM[level];
  }

  /** Adds a monitor; returns a function that removes it (without calling onDrop). */
  subscribe(o: MonitorOptions): () => void {
    const m: Monitor = { ...o, min: LEVEL_NUM[o.level], max: o.maxPendingBytes ?? 512 * 1024 };
    this.monitors.add(m);
    return () => this.monitors.delete(m);
  }

  get monitorCount(): number {
    return this.monitors.size;
  }

  /** Drops every monitor (agent shutdown), so open monitor requests end. */
  closeAll(reason = 'agent shutting down'): void {
    for (const m of [...this.monitors]) this.drop(m, reason);
  }

  write(line: string): void {
    const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 30);
    if (level >= this.min) {
      try {
        this.primary.write(line);
      } catch {
        // The primary output failing must not take the agent down.
      }
    }
    if (this.monitors.size === 0) return;
    let text: string | undefined;
    for (const m of [...this.monitors]) {
      if (level < m.min) continue;
      if (m.pendingBytes() > m.max) {
        this.drop(m, 'monitor: consumer too slow; dropped');
        continue;
      }
      const out = m.json ? line : (text ??= formatText(line, level));
      try {
        m.write(out.endsWith('\n') ? out : `${out}\n`);
      } catch {
        this.drop(m, 'monitor: write failed');
      }
    }
  }

  private drop(m: Monitor, reason: string): void {
    if (!this.monitors.delete(m)) return;
    try {
      m.onDrop(reason);
    } catch {
      // ignore
    }
  }
}

/** Consul-like text: `2024-01-02T03:04:05.678Z [INFO]  component: message key=value`. */
function formatText(line: string, level: number): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, msg, component, level: _l, name: _n, pid: _p, hostname: _h, ...rest } = rec;
  const lvl = `[${LEVEL_NAME[level] ?? 'INFO'}]`.padEnd(7);
  const extra = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${String(time ?? new Date().toISOString())} ${lvl} ${component ? `${String(component)}: ` : ''}${String(msg ?? '')}${extra ? ` ${extra}` : ''}\n`;
}
