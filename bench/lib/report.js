/** @module Figures and tables: percentiles, rounding, Markdown tables, and the top of a CPU profile. */
import { readFile } from 'node:fs/promises';

/** The p-th percentile (nearest rank) of `values`, sorted or not. */
export function percentile(values, p) {
  if (values.length === 0) return 0;
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((sorted.length * p) / 100) - 1))];
}

export const round = (value, digits = 1) => Number(value.toFixed(digits));
export const ratio = (value, baseline) => (baseline > 0 ? round(value / baseline, 2) : 0);

/** Prints a Markdown table: `columns` are [title, value(row)] pairs; numbers are right-aligned. */
export function printTable(columns, rows) {
  const cells = rows.map((row) => columns.map(([, value]) => String(value(row))));
  const widths = columns.map(([title], i) => Math.max(title.length, ...cells.map((row) => row[i].length)));
  const numeric = columns.map((_, i) => cells.every((row) => /^[-\d.,×%]+$/.test(row[i])));
  const line = (values) => `| ${values.map((value, i) => (numeric[i] ? value.padStart(widths[i]) : value.padEnd(widths[i]))).join(' | ')} |`;
  console.log(line(columns.map(([title]) => title)));
  console.log(`|${widths.map((width, i) => (numeric[i] ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`);
  for (const row of cells) console.log(line(row));
}

/** Prints a warning line for each run whose requests failed, or whose accepted messages were not all pushed. */
export function printErrors(runs) {
  for (const run of runs) {
    if (run.errors > 0) console.log(`  warning: ${run.label}: ${run.errors} requests failed (first: ${run.firstError}${run.serverError ? `; the server logged: ${run.serverError}` : ''})`);
    if (run.unpushed > 0) console.log(`  warning: ${run.label}: ${run.unpushed} accepted messages were not pushed within 30 s`);
  }
}

/**
 * The functions that spent the most CPU time themselves (not in what they called) in a V8 CPU
 * profile (`node --cpu-prof`), as `{ name, location, selfMs, percent }`.
 */
export async function topSelfTime(file, count = 15) {
  const profile = JSON.parse(await readFile(file, 'utf8'));
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  profile.samples.forEach((id, i) => {
    const { callFrame } = byNode.get(id);
    const key = `${callFrame.functionName || '(anonymous)'}\t${callFrame.url.replace(/^.*\/(node_modules|packages)\//, '$1/')}:${callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((sum, us) => sum + us, 0);
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, us]) => {
      const [name, location] = key.split('\t');
      return { name, location, selfMs: round(us / 1000), percent: round((100 * us) / total) };
    });
}
