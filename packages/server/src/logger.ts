/** @module Structured logs. Fields that could ever carry secrets are redacted as a second line of defence. */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'parley' },
    redact: {
      paths: ['password', '*.password', 'body', '*.body', 'key', '*.key', 'privateKey', '*.privateKey', 'payload', '*.payload', 'keyPackage', '*.keyPackage'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
