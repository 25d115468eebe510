/** Vitest global setup of the web tests: Chromium is there before any of them runs (see tools.ts). */
import { CHROMIUM, requireTool } from './tools.js';

export default function setup(): void {
  requireTool(CHROMIUM);
}
