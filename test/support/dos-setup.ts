/** Vitest global setup of `npm run test:dos`: slowhttptest is there before any scenario runs (see tools.ts). */
import { requireTool, SLOWHTTPTEST } from './tools.js';

export default function setup(): void {
  requireTool(SLOWHTTPTEST);
}
