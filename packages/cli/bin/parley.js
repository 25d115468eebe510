#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by the workspace's `prepare` step.
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv.slice(2));
