import { ConsoleLogger, Logger, type LogLevel } from '@nestjs/common';

const LOG_FORMATS = ['text', 'json'] as const;

/** Nest's console logger writing every level to stderr: stdout belongs to the MCP stdio transport. */
class StderrLogger extends ConsoleLogger {
  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _stream?: 'stdout' | 'stderr',
    errorStack?: unknown,
    params?: Record<string, unknown>,
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack, params);
  }
}

/**
 * Every log line of the process as operators read it: text, coloured only on a terminal (and never
 * with NO_COLOR), or with LOG_FORMAT=json one JSON object per line for log collectors. `stream` is
 * where the lines go (stderr for the stdio gateway). Call it once the settings file is loaded.
 */
export function setUpLogging(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): void {
  const format = env.LOG_FORMAT || 'text';
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    process.stderr.write(`LOG_FORMAT=${format}: must be one of ${LOG_FORMATS.join(', ')}\n`);
    process.exit(1);
  }
  const json = format === 'json';
  const options = { json, colors: !json && stream.isTTY === true && !env.NO_COLOR };
  Logger.overrideLogger(stream === process.stderr ? new StderrLogger(options) : new ConsoleLogger(options));
}
