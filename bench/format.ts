// Small helpers shared by the benchmarks: Markdown tables and readable numbers.

/** A Markdown table; columns whose header starts with '>' are right-aligned (the '>' is dropped). */
export function markdownTable(headers: string[], rows: (string | number)[][]): string {
  const right = headers.map((h) => h.startsWith('>'));
  const names = headers.map((h) => (h.startsWith('>') ? h.slice(1) : h));
  const lines = [
    `| ${names.join(' | ')} |`,
    `|${right.map((r) => (r ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(String).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** 1234567 → "1,234,567"; fractions keep `digits` places. */
export function num(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return String(x);
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** 1024 → "1 KB", 100 → "100 B" (sizes of messages, as in the tables' labels). */
export function sizeLabel(bytes: number): string {
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KB`;
  return `${bytes} B`;
}

/** Progress goes to stderr so stdout carries only the Markdown. */
export function progress(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}
