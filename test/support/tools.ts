/**
 * @module The programs some test suites drive (Chromium for the web tests, slowhttptest for
 * `npm run test:dos`), found or installed before any test runs, so a fresh machine needs nothing
 * but the README's command and a missing program is one clear line, never a failure deep inside
 * a test. Where to look: the tool's variable, else Debian's path, else (as root, with apt-get)
 * Debian's package is installed; else the run stops naming the command to run.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface Tool {
  /** Its name in messages. */
  title: string;
  /** What needs it, in messages. */
  neededBy: string;
  /** The environment variable that names its executable, overriding the default path. */
  variable: string;
  /** Where Debian's package puts it. */
  defaultPath: string;
  aptPackage: string;
}

export const CHROMIUM: Tool = { title: 'Chromium', neededBy: 'the web tests', variable: 'PARLEY_CHROMIUM', defaultPath: '/usr/bin/chromium', aptPackage: 'chromium' };
export const SLOWHTTPTEST: Tool = { title: 'slowhttptest', neededBy: 'the slowloris scenario', variable: 'PARLEY_SLOWHTTPTEST', defaultPath: '/usr/bin/slowhttptest', aptPackage: 'slowhttptest' };

/** What `ensureTool` may look at and do on this machine (faked in its test). */
export interface Host {
  env: Readonly<Record<string, string | undefined>>;
  isExecutable(path: string): boolean;
  isRoot(): boolean;
  hasAptGet(): boolean;
  /** False on a fresh Debian image, whose package lists are empty until `apt-get update`. */
  hasPackageLists(): boolean;
  /** Runs apt-get; its exit status, and what it printed in case it failed. */
  aptGet(args: readonly string[]): { status: number; output: string };
  say(line: string): void;
}

/** The tool is missing and could not be installed; the message is the one line to show. */
export class ToolMissingError extends Error {}

/** The tool's executable, installing it with apt-get when allowed; throws ToolMissingError. */
export function ensureTool(tool: Tool, host: Host): string {
  const named = host.env[tool.variable];
  if (named) {
    if (host.isExecutable(named)) return named;
    throw new ToolMissingError(`${tool.variable}=${named} is not an executable file: point it at ${tool.title}, or unset it to use ${tool.defaultPath}`);
  }
  if (host.isExecutable(tool.defaultPath)) return tool.defaultPath;
  const install = `apt-get install -y ${tool.aptPackage}`;
  if (!host.hasAptGet()) {
    throw new ToolMissingError(`${tool.title} is needed by ${tool.neededBy} and is not at ${tool.defaultPath}: install it and set ${tool.variable} to its path`);
  }
  if (!host.isRoot()) {
    throw new ToolMissingError(`${tool.title} is needed by ${tool.neededBy} and is not at ${tool.defaultPath}: run \`sudo ${install}\`, or set ${tool.variable} to its path`);
  }
  host.say(`${tool.title} is needed by ${tool.neededBy}: installing Debian's ${tool.aptPackage} with apt-get (set ${tool.variable} to use another)`);
  const update = () => check(host.aptGet(['update']), 'apt-get update', tool);
  let updated = false;
  if (!host.hasPackageLists()) {
    update();
    updated = true;
  }
  let installed = host.aptGet(['install', '-y', tool.aptPackage]);
  // Stale package lists name versions the mirror no longer has: refresh them once and retry.
  if (installed.status !== 0 && !updated) {
    update();
    installed = host.aptGet(['install', '-y', tool.aptPackage]);
  }
  check(installed, install, tool);
  if (!host.isExecutable(tool.defaultPath)) {
    throw new ToolMissingError(`${install} succeeded but ${tool.defaultPath} is not there: set ${tool.variable} to ${tool.title}'s path`);
  }
  return tool.defaultPath;
}

function check(result: { status: number; output: string }, command: string, tool: Tool): void {
  if (result.status === 0) return;
  const lastLine = result.output.trim().split('\n').at(-1)?.trim() ?? '';
  throw new ToolMissingError(`\`${command}\` failed (exit ${result.status}${lastLine ? `: ${lastLine}` : ''}): fix that and run it yourself, or set ${tool.variable} to ${tool.title}'s path`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const APT_LISTS = '/var/lib/apt/lists';

export const thisMachine: Host = {
  env: process.env,
  isExecutable,
  isRoot: () => process.getuid?.() === 0,
  hasAptGet: () => (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && isExecutable(join(dir, 'apt-get'))),
  hasPackageLists: () => {
    try {
      return readdirSync(APT_LISTS).some((name) => name.includes('_Packages'));
    } catch {
      return false;
    }
  },
  aptGet: (args) => {
    const result = spawnSync('apt-get', ['-q', ...args], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: result.status ?? 1, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? result.error.message : ''}` };
  },
  say: (line) => process.stdout.write(`${line}\n`),
};

/**
 * For a vitest global setup: the tool's path, also put in its variable for the test workers
 * (which inherit this process's environment); or the one line saying what to do, and exit.
 */
export function requireTool(tool: Tool, host: Host = thisMachine): string {
  try {
    const path = ensureTool(tool, host);
    process.env[tool.variable] = path;
    return path;
  } catch (error) {
    if (!(error instanceof ToolMissingError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
