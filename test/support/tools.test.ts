/** Finding or installing the test suites' programs, each branch on a fake machine. */
import { describe, expect, it } from 'vitest';
import { CHROMIUM, ensureTool, SLOWHTTPTEST, ToolMissingError, type Host } from './tools.js';

/** A machine with these executables and this much of apt; records what was run and said. */
function fakeHost(options: { env?: Record<string, string>; executables?: string[]; root?: boolean; aptGet?: boolean; packageLists?: boolean; aptFails?: (args: readonly string[]) => string | undefined } = {}) {
  const executables = new Set(options.executables ?? []);
  let packageLists = options.packageLists ?? true;
  const ran: string[] = [];
  const said: string[] = [];
  const host: Host = {
    env: options.env ?? {},
    isExecutable: (path) => executables.has(path),
    isRoot: () => options.root ?? false,
    hasAptGet: () => options.aptGet ?? true,
    hasPackageLists: () => packageLists,
    aptGet: (args) => {
      ran.push(`apt-get ${args.join(' ')}`);
      const failure = options.aptFails?.(args);
      if (failure !== undefined) return { status: 100, output: `Reading package lists...\n${failure}\n` };
      if (args[0] === 'update') packageLists = true;
      if (args[0] === 'install' && packageLists) executables.add(`/usr/bin/${args.at(-1)}`);
      return { status: 0, output: '' };
    },
    say: (line) => said.push(line),
  };
  return { host, ran, said };
}

function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ToolMissingError) return error.message;
    throw error;
  }
  throw new Error('expected ToolMissingError');
}

describe('ensureTool', () => {
  it('uses the executable named by the variable, before the default path', () => {
    const { host, ran } = fakeHost({ env: { PARLEY_CHROMIUM: '/opt/chrome/chrome' }, executables: ['/opt/chrome/chrome', '/usr/bin/chromium'], root: true });
    expect(ensureTool(CHROMIUM, host)).toBe('/opt/chrome/chrome');
    expect(ran).toEqual([]);
  });

  it('refuses a variable that names no executable, rather than falling back or installing', () => {
    const { host, ran } = fakeHost({ env: { PARLEY_CHROMIUM: '/nonexistent' }, executables: ['/usr/bin/chromium'], root: true });
    const line = failure(() => ensureTool(CHROMIUM, host));
    expect(line).toBe('PARLEY_CHROMIUM=/nonexistent is not an executable file: point it at Chromium, or unset it to use /usr/bin/chromium');
    expect(ran).toEqual([]);
  });

  it("uses Debian's path when the variable is unset", () => {
    const { host, ran, said } = fakeHost({ executables: ['/usr/bin/slowhttptest'], root: true });
    expect(ensureTool(SLOWHTTPTEST, host)).toBe('/usr/bin/slowhttptest');
    expect([...ran, ...said]).toEqual([]);
  });

  it('installs the Debian package as root, saying so in one line', () => {
    const { host, ran, said } = fakeHost({ root: true });
    expect(ensureTool(CHROMIUM, host)).toBe('/usr/bin/chromium');
    expect(ran).toEqual(['apt-get install -y chromium']);
    expect(said).toEqual(["Chromium is needed by the web tests: installing Debian's chromium with apt-get (set PARLEY_CHROMIUM to use another)"]);
  });

  it('updates empty package lists before installing', () => {
    const { host, ran } = fakeHost({ root: true, packageLists: false });
    expect(ensureTool(SLOWHTTPTEST, host)).toBe('/usr/bin/slowhttptest');
    expect(ran).toEqual(['apt-get update', 'apt-get install -y slowhttptest']);
  });

  it('refreshes stale package lists once when the install fails, then retries', () => {
    let attempts = 0;
    const { host, ran } = fakeHost({ root: true, aptFails: (args) => (args[0] === 'install' && ++attempts === 1 ? 'E: Failed to fetch chromium_120.deb  404  Not Found' : undefined) });
    expect(ensureTool(CHROMIUM, host)).toBe('/usr/bin/chromium');
    expect(ran).toEqual(['apt-get install -y chromium', 'apt-get update', 'apt-get install -y chromium']);
  });

  it("stops with apt-get's own last line when the install fails", () => {
    const { host } = fakeHost({ root: true, aptFails: (args) => (args[0] === 'install' ? 'E: Unable to locate package chromium' : undefined) });
    expect(failure(() => ensureTool(CHROMIUM, host))).toBe(
      "`apt-get install -y chromium` failed (exit 100: E: Unable to locate package chromium): fix that and run it yourself, or set PARLEY_CHROMIUM to Chromium's path",
    );
  });

  it('names the command to run when it may not install (not root)', () => {
    const { host, ran } = fakeHost({ root: false });
    const line = failure(() => ensureTool(CHROMIUM, host));
    expect(line).toBe('Chromium is needed by the web tests and is not at /usr/bin/chromium: run `sudo apt-get install -y chromium`, or set PARLEY_CHROMIUM to its path');
    expect(line).not.toContain('\n');
    expect(ran).toEqual([]);
  });

  it('asks for the variable on a machine without apt-get', () => {
    const { host, ran } = fakeHost({ root: true, aptGet: false });
    expect(failure(() => ensureTool(SLOWHTTPTEST, host))).toBe('slowhttptest is needed by the slowloris scenario and is not at /usr/bin/slowhttptest: install it and set PARLEY_SLOWHTTPTEST to its path');
    expect(ran).toEqual([]);
  });
});
