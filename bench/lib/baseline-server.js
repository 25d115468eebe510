#!/usr/bin/env node
// The baseline relay (./baseline.js) in its own process, so its CPU and memory are measured apart
// from the load generators'. Argument: the URL of another relay to link to, if any. Prints
// "baseline listening on URL"; SIGTERM stops it.
import { startBaselineServer } from './baseline.js';

const server = await startBaselineServer();
if (process.argv[2]) await server.link(process.argv[2]);
process.stdout.write(`baseline listening on ${server.url}\n`);
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
