import type { ReportTable } from './suite.ts';

/** Formats rows as aligned columns: text left, numbers right, two spaces between, a rule under the headers. */
export function formatTable(table: ReportTable): string {
  const { headers, rows, numeric } = table;
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    widths
      .map((width, column) => {
        const cell = cells[column] ?? '';
        return numeric[column] === true ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** 123456.7 → "123,457". */
export function formatInteger(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
