import { Transform } from 'node:stream';

/** Rows in, one JSON array out, written as the rows arrive; with `key`, wrapped as `{"<key>":[…]}`. */
export function jsonArray(key?: string): Transform {
  const open = key === undefined ? '[' : `{${JSON.stringify(key)}:[`;
  const close = key === undefined ? ']' : ']}';
  let first = true;
  return new Transform({
    writableObjectMode: true,
    transform(row, _enc, done) {
      done(null, (first ? open : ',') + JSON.stringify(row));
      first = false;
    },
    flush(done) {
      done(null, first ? open + close : close);
    },
  });
}
