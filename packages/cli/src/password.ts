/** @module Reading passwords: PARLEY_PASSWORD / PARLEY_NEW_PASSWORD, --password-stdin, or a hidden prompt. */
import { createInterface } from 'node:readline';
import { ErrorCode, ParleyError } from '@parley/protocol';

export interface PasswordSource {
  env: NodeJS.ProcessEnv;
  fromStdin: boolean;
  stdin: NodeJS.ReadStream;
  stderr: NodeJS.WriteStream;
}

let stdinLines: Promise<string[]> | undefined;

/** Reads all of stdin once; the first line is the password, the second (for passwd) the new one. */
function readStdinLines(stdin: NodeJS.ReadStream): Promise<string[]> {
  stdinLines ??= new Promise((resolve, reject) => {
    let text = '';
    stdin.setEncoding('utf8');
    stdin.on('data', (chunk: string) => (text += chunk));
    stdin.on('end', () => resolve(text.split(/\r?\n/)));
    stdin.on('error', reject);
  });
  return stdinLines;
}

export async function readPassword(source: PasswordSource, which: 'current' | 'new', prompt: string, confirm = false): Promise<string> {
  const fromEnv = which === 'current' ? source.env.PARLEY_PASSWORD : source.env.PARLEY_NEW_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (source.fromStdin) {
    const line = (await readStdinLines(source.stdin))[which === 'current' ? 0 : 1];
    if (!line) throw new ParleyError(ErrorCode.BAD_INPUT, `no ${which === 'current' ? '' : 'new '}password on standard input`);
    return line;
  }
  if (!source.stdin.isTTY) {
    const variable = which === 'current' ? 'PARLEY_PASSWORD' : 'PARLEY_NEW_PASSWORD';
    throw new ParleyError(ErrorCode.BAD_INPUT, `no password: set ${variable}, use --password-stdin, or run in a terminal`);
  }
  const first = await promptHidden(source, prompt);
  if (confirm && (await promptHidden(source, 'Repeat password: ')) !== first) {
    throw new ParleyError(ErrorCode.BAD_INPUT, 'the passwords do not match');
  }
  return first;
}

/**
 * The new password where there is no current one (`recover`): PARLEY_NEW_PASSWORD; with
 * --password-stdin the second line as for passwd, or the only line; else a prompt, twice.
 */
export async function readNewPassword(source: PasswordSource, prompt: string): Promise<string> {
  if (!source.env.PARLEY_NEW_PASSWORD && source.fromStdin) {
    const [first, second] = await readStdinLines(source.stdin);
    const line = second || first;
    if (!line) throw new ParleyError(ErrorCode.BAD_INPUT, 'no new password on standard input');
    return line;
  }
  return readPassword(source, 'new', prompt, true);
}

function promptHidden(source: PasswordSource, prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: source.stdin, output: source.stderr, terminal: true });
    // Echo nothing while the password is typed.
    (rl as unknown as { _writeToOutput: (text: string) => void })._writeToOutput = (text: string) => {
      if (text.includes(prompt)) source.stderr.write(prompt);
    };
    rl.question(prompt, (answer) => {
      rl.close();
      source.stderr.write('\n');
      resolve(answer);
    });
  });
}
