/** @module How the CLI prints: human lines or one JSON object per line (`--json`), errors on stderr. */
import { ParleyError } from '@parley/protocol';

export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** One result: `human` for people, `data` for scripts. */
  result(data: Record<string, unknown>, human: string): void {
    this.stdout.write(this.json ? `${JSON.stringify(data)}\n` : `${human}\n`);
  }

  /** A side remark for people (never part of the JSON stream). */
  note(text: string): void {
    if (!this.json) this.stderr.write(`${text}\n`);
  }

  /**
   * An error of one conversation that does not fail the command (an entry refused, a group
   * broken, a lock that did not open): with --json a `{"kind":"error","conversation","code","message"}`
   * line among the results, otherwise a plain line on stderr.
   */
  conversationError(error: { conversation?: string; group?: string; code: string; message: string }): void {
    if (this.json) this.stdout.write(`${JSON.stringify({ kind: 'error', ...error })}\n`);
    else this.stderr.write(`error${error.conversation ? ` in ${error.conversation}` : ''}: ${error.code}: ${error.message}\n`);
  }

  /** How a long task is going: stderr, as one JSON object a line with --json. */
  progress(data: Record<string, unknown>, human: string): void {
    this.stderr.write(this.json ? `${JSON.stringify(data)}\n` : `${human}\n`);
  }

  error(error: unknown): void {
    const { code, message } = describeError(error);
    this.stderr.write(this.json ? `${JSON.stringify({ error: { code, message } })}\n` : `error ${code}: ${message}\n`);
  }
}

export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof ParleyError) return { code: error.code, message: error.message };
  if (error instanceof Error && 'code' in error && typeof error.code === 'string' && /^[A-Z_]+$/.test(error.code)) {
    return { code: error.code, message: error.message };
  }
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}
