// Runs a Parley server in its own process with the options given as JSON (argv[2]), for tests
// that measure the server apart from its clients (test/dos). Uses the built packages (tsc -b).
// Prints the same two lines as `parley serve`; SIGTERM shuts down gracefully.
import { createLogger, startServer } from '@parley/server';

const options = JSON.parse(process.argv[2] ?? '{}');
const server = await startServer({ ...options, logger: createLogger(options.logLevel ?? 'warn', process.stderr) });
process.stdout.write(`parley listening on ${server.url}\nserver key ${server.fingerprint}\n`);
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
