import { stringify } from 'csv-stringify';
import type { Context } from 'koa';
import { pipeline, Readable } from 'node:stream';
import { jsonArray } from './jsonArray.js';

/**
 * Rows as JSON (`{"data":[…]}`) or CSV, by `format` or else the Accept header. Streamed as they are
 * read, a page at a time: a large report or export is never held whole. A database error mid-stream
 * reaches the last stream, where Koa logs it and cuts the response.
 */
export function streamRows<R>(ctx: Context, format: 'json' | 'csv' | undefined, rows: AsyncGenerator<R>, columns: string[], filename: string): void {
  ctx.vary('Accept');
  const wantsCsv = format ? format === 'csv' : ctx.accepts('application/json', 'text/csv') === 'text/csv';
  if (!wantsCsv) {
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = pipeline(Readable.from(rows), jsonArray('data'), () => {});
    return;
  }
  ctx.attachment(filename);
  ctx.type = 'text/csv; charset=utf-8';
  ctx.body = pipeline(Readable.from(rows), csv(columns), () => {});
}

/**
 * Rows in, RFC 4180 CSV out (CRLF, quoted where needed), with a header row. Lists are joined with ';'
 * and objects written as JSON. Cells that a spreadsheet would run as a formula (a name starting with
 * '=') get a leading "'".
 */
function csv(columns: string[]) {
  return stringify({
    header: true,
    columns,
    record_delimiter: 'windows',
    escape_formulas: true,
    cast: { object: (value) => (Array.isArray(value) ? value.join(';') : JSON.stringify(value)) },
  });
}
