import fc from 'fast-check';
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import type { Knex } from '../../server/db/knex.js';

/** How long any request, raw exchange or socket ack may take before it counts as a hang. */
export const ANSWER_MS = 5000;

// ---------------------------------------------------------------- JSON as a hostile client writes it

/** A JSON token written as is: numbers JSON.stringify cannot write (1e400, 20 digits) or nesting too deep to build. */
class Raw {
  constructor(readonly text: string) {}
}

/** A JSON object written key by key, so repeated keys and an own "__proto__" reach the server. */
class Pairs {
  constructor(readonly entries: Array<[string, unknown]>) {}
}

/** JSON text; lone surrogates come out as \uD800-style escapes, as JSON.stringify writes them. */
export function jsonText(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Pairs) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(jsonText).join(',')}]`;
  if (v !== null && typeof v === 'object') return jsonText(new Pairs(Object.entries(v)));
  return JSON.stringify(v) ?? 'null';
}

/** The value a socket client would hold after reading that JSON (own "__proto__" keys included). */
export const toValue = (v: unknown): unknown => JSON.parse(jsonText(v));

// ---------------------------------------------------------------- characters

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const char = (cp: number) => (cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp));

const CONTROL = [...range(0, 0x1f), 0x7f, ...range(0x80, 0x9f)];
const FORMAT = [0xad, 0x600, 0x61c, 0x6dd, 0x70f, 0x180e, ...range(0x200b, 0x200f), ...range(0x202a, 0x202e), ...range(0x2060, 0x2064), ...range(0x2066, 0x206f), 0xfeff, 0xfff9, 0xfffa, 0xfffb, 0x110bd, 0x1d173, 0xe0001, 0xe0041];
const SEPARATORS = [0x2028, 0x2029];
/** Cc, Cf, Cs, Co, Cn, Zl, Zp: what an id may not hold anywhere. */
const FORBIDDEN_IN_ID = /[\p{C}\p{Zl}\p{Zp}]/u;

/** One code point (or lone surrogate) that no id may contain. */
const idPoisonChar: fc.Arbitrary<string> = fc
  .oneof(
    fc.constantFrom(...CONTROL),
    fc.constantFrom(...FORMAT),
    fc.integer({ min: 0xd800, max: 0xdfff }),
    fc.constantFrom(...SEPARATORS),
    // Private use and unassigned code points, drawn from the whole range.
    fc.integer({ min: 0x80, max: 0x10ffff }).filter((cp) => (cp < 0xd800 || cp > 0xdfff) && FORBIDDEN_IN_ID.test(String.fromCodePoint(cp))),
  )
  .map(char);

/** What free text (names, statuses) may not hold: control characters and lone surrogates. */
const textPoisonChar: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(...CONTROL), fc.integer({ min: 0xd800, max: 0xdfff })).map(char);

const insertAt = (s: string, c: string, at: number) => s.slice(0, at) + c + s.slice(at);

/** `base` made into an id that breaks the id rules: a forbidden character anywhere, surrounding space, blank or too long. */
export function poisonId(base: string, maxLength = 64): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(idPoisonChar, fc.nat()).map(([c, i]) => insertAt(base, c, i % (base.length + 1))) },
    { weight: 1, arbitrary: fc.constantFrom(' ', '\u00a0', '\u3000', '\u2003', '\t').chain((ws) => fc.constantFrom(ws + base, base + ws)) },
    { weight: 1, arbitrary: fc.constantFrom('', base.padEnd(maxLength + 1, 'x'), base.padEnd(maxLength * 8, 'y')) },
  );
}

/** `base` (2+ characters) with a control character or lone surrogate inside it, where trimming cannot remove it. */
export function poisonText(base: string): fc.Arbitrary<string> {
  return fc.tuple(textPoisonChar, fc.integer({ min: 1, max: base.length - 1 })).map(([c, i]) => insertAt(base, c, i));
}

const hostileUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...'aZ09-_.~ /\\%?#&=+"\'<>;:@*,$[]{}') },
  { weight: 2, arbitrary: idPoisonChar },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constantFrom('😀', 'é', 'e\u0301', 'ß', 'İ', 'ﬀ', '𝔘', '\u00a0', '\u3000', '中', 'ا') },
);

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: hostileUnit, maxLength: 40 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '', ' ', '\ud800', '\udfff', 'a\ud800b', '\udc00\ud800', '\u0000', 'E1\u0000', '\u0007', '\u007f', '\u0085', '\u202e', 'S1\u202e', '\u200b', 'E1\u200b',
      '\ufeff', '\u2028', '\ue000', '\u0378', ' E1', 'E1 ', '__proto__', 'constructor', 'prototype', 'toString', 'null', 'NaN', '-1', '1e400',
      "'; DROP TABLE sites; --", '../../etc/passwd', '%00', '%ED%A0%80', '\\u0000', '=cmd|x', 'S1', 'E1',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 65, max: 70_000 }).map((n) => 'x'.repeat(n)) },
);

const numberTokens = ['1e400', '-1e400', '-0', '1e-400', '123456789012345678901234567890', '9007199254740993', '-9007199254740993', '1E+2', '0.1e1', '4.0'];

const deepNesting = fc
  .tuple(fc.integer({ min: 50, max: 2000 }), fc.boolean())
  .map(([d, arr]) => new Raw(arr ? '['.repeat(d) + ']'.repeat(d) : '{"a":'.repeat(d) + '1' + '}'.repeat(d)));

const prototypeKeys = fc
  .constantFrom('__proto__', 'constructor', 'prototype')
  .map((k) => new Pairs([[k, new Pairs([['polluted', true], ['prototype', new Pairs([['polluted', true]])]])]]));

/** A value of the wrong kind or a hostile one: what goes where a real field's value should be. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(0, -1, 2 ** 31, 2 ** 53, Number.MAX_VALUE),
      fc.constantFrom(...numberTokens.map((t) => new Raw(t))),
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}) },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: prototypeKeys },
);

export type Fields = Record<string, fc.Arbitrary<unknown>>;

/**
 * An object with the route's real keys (each usually present, usually valid, else hostile), sometimes
 * with junk keys added. Several field sets: one of them, for bodies of more than one shape.
 */
export function objectOf(fields: Fields | Fields[]): fc.Arbitrary<Pairs> {
  if (Array.isArray(fields)) return fc.oneof(...fields.map((f) => objectOf(f)));
  const entries = Object.entries(fields).map(([k, valid]) =>
    fc.option(
      fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: hostileValue }).map((v): [string, unknown] => [k, v]),
      { freq: 4, nil: undefined },
    ),
  );
  const junkKey = fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', ...Object.keys(fields)));
  const junk = fc.oneof(
    { weight: 6, arbitrary: fc.constant([] as Array<[string, unknown]>) },
    { weight: 1, arbitrary: fc.array(fc.tuple(junkKey, hostileValue), { minLength: 1, maxLength: 2 }) },
  );
  return fc.tuple(fc.tuple(...entries), junk).map(([real, extra]) => new Pairs([...real.filter((e) => e !== undefined), ...extra]));
}

// ---------------------------------------------------------------- URLs and headers

function utf8Units(s: string): number[] {
  const bytes: number[] = [];
  // for…of walks code points; a lone surrogate comes out alone and is written as its 3-byte (WTF-8) form.
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) bytes.push(cp);
    else if (cp < 0x800) bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return bytes;
}

/** Percent-encodes every byte outside the unreserved set; lone surrogates too (as %ED%A0%80, which no decoder accepts). */
export const pct = (s: string) =>
  utf8Units(s)
    .map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');

/** s as its UTF-8 bytes, one latin1 character per byte: how node:http puts raw non-ASCII into a request line or header. */
const rawUtf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
/** What node:http will send in a header value (it refuses CR, LF, NUL and other controls). */
const headerSafe = (s: string) => rawUtf8(s).replace(/[^\t\x20-\x7e\x80-\xff]/g, '');
/** What node:http will send in a request target. */
const targetSafe = (s: string) => s.replace(/[^\x21-\xff]/g, '');

const junkEncodings = ['%', '%%', '%0', '%zz', '%00', '%ED%A0%80', '%ED%BF%BF', '%FF', '%C0%AF', '%C0%80', '%F4%90%80%80', '%2F', '%2e%2e', '%2E', '%E2%80%AE', '%E2%80%8B', '%EF%BB%BF', '%C2%85', '%0A', '%20', '+', '..', '.'];

/** A path segment: a valid id, or junk percent-encoding, encoded slashes and dots, hostile text, raw UTF-8, very long. */
function segment(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  // Raw UTF-8 in a request target is refused by Node's parser before the hub sees it, so it stays rare.
  const piece = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...junkEncodings) },
    { weight: 4, arbitrary: hostileString.map(pct) },
    { weight: 1, arbitrary: fc.constantFrom('é', '😀', '中', 'İ').map(rawUtf8) },
    { weight: 2, arbitrary: fc.constantFrom(';', '@', ':id', '*', "'", '"', '<script>', '\\', '!', '$', '(', ')') },
    { weight: 3, arbitrary: valid },
  );
  return fc.oneof(
    { weight: 3, arbitrary: valid.map(pct) },
    { weight: 4, arbitrary: fc.array(piece, { minLength: 1, maxLength: 4 }).map((p) => p.join('')) },
    { weight: 1, arbitrary: fc.integer({ min: 65, max: 12_000 }).map((n) => 'z'.repeat(n)) },
  );
}

/** A query string of real keys (valid or hostile values), junk keys, repeated keys and broken percent-encoding. */
function queryString(fields: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const keys = Object.keys(fields);
  const realPair = keys.length
    ? fc.constantFrom(...keys).chain((k) => fc.oneof({ weight: 3, arbitrary: fields[k]!.map(pct) }, { weight: 2, arbitrary: segment(fields[k]!) }).map((v) => `${k}=${v}`))
    : fc.constant('x=1');
  const junkPair = fc.oneof(
    fc.tuple(fc.oneof(hostileString.map(pct), fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', '', 'a[b]', ...keys.map((k) => `${k}[]`))), segment(fc.constant('v'))).map(([k, v]) => `${k}=${v}`),
    fc.constantFrom(...junkEncodings, '=', '==', '&', 'a=b=c', ...keys),
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?=', '?%', '?#x', '??') },
    {
      weight: 8,
      arbitrary: fc
        .array(fc.oneof({ weight: keys.length ? 4 : 1, arbitrary: realPair }, { weight: 1, arbitrary: junkPair }), { minLength: 1, maxLength: 5 })
        .map((pairs) => `?${pairs.join('&')}`),
    },
  );
}

const otherHeader = fc.oneof(
  fc.tuple(fc.constant('x-forwarded-for'), fc.constantFrom('1.2.3.4, ::1', 'junk', '999.999.999.999', '')),
  fc.tuple(fc.constant('accept-encoding'), fc.constantFrom('gzip, br', 'bogus', '*;q=0', 'identity;q=0')),
  fc.tuple(fc.constant('accept-charset'), fc.constantFrom('utf-16', 'bogus')),
  fc.tuple(fc.constant('cookie'), fc.constantFrom('a=b; __proto__=x', '=;=;')),
  fc.tuple(fc.constantFrom('origin', 'referer', 'user-agent', 'x-request-id'), hostileString.map(headerSafe)),
  fc.tuple(fc.constant('expect'), fc.constantFrom('100-continue', 'bogus')),
);

/** Accept, Idempotency-Key and one other header, each sometimes odd: very long, unicode, blank, contradictory. */
const hostileHeaders: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      accept: fc.oneof(
        fc.constantFrom('application/json', 'text/csv', '*/*', 'text/csv;q=0.1, application/json;q=0.2', 'text/html', 'garbage/////', '', ';;;', 'application/json;q=abc'),
        fc.integer({ min: 100, max: 8000 }).map((n) => `text/csv, ${'x'.repeat(n)}`),
        hostileString.map(headerSafe),
      ),
      'idempotency-key': fc.oneof(
        fc.uuid(),
        fc.constantFrom('', ' ', 'k'.repeat(255), 'k'.repeat(256), 'k'.repeat(10_000), rawUtf8('ключ-😀-\u202e'), rawUtf8('\ud800')),
        hostileString.map(headerSafe),
      ),
      other: otherHeader,
    },
    { requiredKeys: [] },
  )
  .map(({ other, ...h }) => {
    const headers: Record<string, string> = { ...h };
    if (other) headers[other[0]] = other[1];
    return headers;
  });

// ---------------------------------------------------------------- bodies

const contentTypes = [
  'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON', 'application/json; charset=latin1', 'application/json; charset=bogus',
  'application/json; charset=utf-16le', 'application/json, text/plain', 'text/plain', 'text/json', 'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x', 'application/vnd.api+json', 'application/csp-report', '*/*', 'application/*', ';', '', 'x'.repeat(2000),
];

type Coding = { header?: string; compress?: 'gzip' | 'deflate' | 'br' };
const codings: fc.Arbitrary<Coding> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({}) },
  { weight: 2, arbitrary: fc.constantFrom('identity', 'bogus', 'gzip', 'deflate', 'br', 'gzip, br', 'GZIP', 'x-gzip', '', 'compress', 'zstd', 'identity, gzip').map((header) => ({ header })) },
  { weight: 1, arbitrary: fc.constantFrom('gzip', 'deflate', 'br').map((c) => ({ header: c, compress: c as Coding['compress'] })) },
);

function compress(body: Buffer, how: Coding['compress']): Buffer {
  if (how === 'gzip') return zlib.gzipSync(body);
  if (how === 'deflate') return zlib.deflateSync(body);
  if (how === 'br') return zlib.brotliCompressSync(body);
  return body;
}

const malformedText = fc.oneof(
  fc.constantFrom(
    '', ' ', '{', '}', '[', '{"a":', '{"a":1,}', "{'a':1}", '{a:1}', 'NaN', 'Infinity', 'undefined', '{"a":1}{"a":2}', '{"a":1} x', '\u0000', '{"a":"\\ud800',
    '{"a":"\\u12"}', '{"a":"\\x41"}', '{"a":01}', '{"a":1.}', '{"a":.5}', '{"a":+1}', '{"a":"\t"}', '{"a":"line\nbreak"}', '{"a":"\u0000"}', '/* c */ {}',
    '\ufeff{}', '[1,]', ',', '"', 'tru', '{"__proto__":', '"a string"', '42', 'null', 'true',
  ),
  fc.tuple(fc.jsonValue(), fc.nat()).map(([v, n]) => {
    const text = jsonText(v);
    return text.slice(0, n % (text.length + 1));
  }),
);

type BodyValue = { kind: 'json'; value: unknown } | { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Uint8Array };

/** For a route with these body fields: mostly its real keys with hostile values, else random JSON, broken JSON, raw bytes, a huge body. */
function bodyValue(fields: Fields | Fields[]): fc.Arbitrary<BodyValue> {
  const obj = objectOf(fields);
  return fc.oneof(
    { weight: 10, arbitrary: obj.map((value) => ({ kind: 'json' as const, value })) },
    { weight: 1, arbitrary: fc.array(obj, { maxLength: 3 }).map((value) => ({ kind: 'json' as const, value })) },
    { weight: 2, arbitrary: fc.oneof(fc.jsonValue(), hostileValue).map((value) => ({ kind: 'json' as const, value })) },
    { weight: 2, arbitrary: malformedText.map((text) => ({ kind: 'text' as const, text })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'bytes' as const, bytes })) },
    { weight: 1, arbitrary: fc.constantFrom('{"name":"', '["').map((open) => ({ kind: 'text' as const, text: `${open}${'x'.repeat(1_100_000)}` })) },
  );
}

type Body = { bytes: Buffer; headers: Record<string, string> };

/** A body as sent: its text, in some charset, maybe compressed or falsely claiming compression, under some content type. */
function body(fields: Fields | Fields[]): fc.Arbitrary<Body> {
  return fc
    .record({
      value: bodyValue(fields),
      charset: fc.oneof({ weight: 20, arbitrary: fc.constant('utf8' as const) }, { weight: 1, arbitrary: fc.constantFrom('utf16le' as const, 'latin1' as const) }),
      type: fc.oneof({ weight: 12, arbitrary: fc.constant<string | undefined>('application/json') }, { weight: 1, arbitrary: fc.constantFrom<string | undefined>(undefined, ...contentTypes) }),
      coding: codings,
    })
    .map(({ value, charset, type, coding }) => {
      const plain =
        value.kind === 'bytes' ? Buffer.from(value.bytes) : Buffer.from(value.kind === 'json' ? jsonText(value.value) : value.text, charset);
      const headers: Record<string, string> = {};
      if (type !== undefined) headers['content-type'] = type;
      if (coding.header !== undefined) headers['content-encoding'] = coding.header;
      return { bytes: compress(plain, coding.compress), headers };
    });
}

/** A JSON body with the given headers, for cases built by hand. */
export const jsonBody = (value: unknown, headers: Record<string, string> = {}): Body => ({
  bytes: Buffer.from(jsonText(value)),
  headers: { 'content-type': 'application/json', ...headers },
});

// ---------------------------------------------------------------- requests

/** How a request's framing is broken when it goes over a raw socket instead of node:http. */
type Framing =
  | 'length-too-long'
  | 'length-too-short'
  | 'length-not-a-number'
  | 'two-lengths'
  | 'length-and-chunked'
  | 'bad-chunks'
  | 'bare-lf'
  | 'http-1.0'
  | 'no-host'
  | 'junk-header-line'
  | 'pipelined-junk';

const framings: Framing[] = [
  'length-too-long', 'length-too-short', 'length-not-a-number', 'two-lengths', 'length-and-chunked', 'bad-chunks', 'bare-lf', 'http-1.0', 'no-host', 'junk-header-line', 'pipelined-junk',
];

export type HttpCase = { method: string; target: string; headers: Record<string, string>; body?: Buffer; framing?: Framing };

export type RouteSpec = {
  method: string;
  /** With `:id` where a path parameter goes. */
  path: string;
  ids?: fc.Arbitrary<string>;
  query?: Record<string, fc.Arbitrary<string>>;
  body?: Fields | Fields[];
};

/** One time in `n`, a value; otherwise undefined. */
const rarely = <T>(arb: fc.Arbitrary<T>, n: number) => fc.oneof({ weight: 1, arbitrary: arb }, { weight: n - 1, arbitrary: fc.constant(undefined) });

const pathMangling = fc.constantFrom((p: string) => `${p}/`, (p: string) => `/${p}`, (p: string) => p.toUpperCase(), (p: string) => `${p};x=1`, (p: string) => `${p}/..`, (p: string) => p.replace('/v1/', '/v1%2F'), (p: string) => `${p}%00`);

/** Generated requests for one route: its real shape most of the time, hostile in every part. */
export function httpCases(spec: RouteSpec): fc.Arbitrary<HttpCase> {
  const path = spec.path.includes(':id') ? segment(spec.ids ?? fc.constant('x')).map((id) => spec.path.replace(':id', id)) : fc.constant(spec.path);
  const bodyArb = spec.body
    ? fc.oneof({ weight: 20, arbitrary: body(spec.body) }, { weight: 1, arbitrary: fc.constant(undefined) })
    : rarely(body({ id: fc.constant('x') }), 15);
  return fc
    .record({
      method: fc.oneof({ weight: 19, arbitrary: fc.constant(spec.method) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND') }),
      path,
      mangle: rarely(pathMangling, 15),
      query: queryString(spec.query ?? {}),
      headers: hostileHeaders,
      body: bodyArb,
      framing: rarely(fc.constantFrom(...framings), 20),
    })
    .map(({ method, path, mangle, query, headers, body, framing }) => ({
      method,
      target: targetSafe((mangle ? mangle(path) : path) + query),
      headers: { ...headers, ...body?.headers },
      body: body?.bytes,
      framing,
    }));
}

/** What came back: every status line seen (a raw exchange can hold several), or why nothing did. */
export type Outcome = { statuses: number[]; failure?: string; text: string };

/** The request each pooled connection carried last: a connection the server drops is explained by what came before. */
const lastOnConnection = new WeakMap<net.Socket, HttpCase>();

/** One request over keep-alive node:http, answered within ANSWER_MS or counted as a hang. */
export function send(agent: http.Agent, port: number, c: HttpCase): Promise<Outcome> {
  if (c.framing) return sendRaw(port, c);
  return new Promise((resolve) => {
    let previous: HttpCase | undefined;
    // node:http sends a GET's body without Content-Length unless told, and the server would read it as the next request.
    const headers = c.body ? { ...c.headers, 'content-length': String(c.body.length) } : c.headers;
    const req = http.request(
      { agent, host: '127.0.0.1', port, method: c.method, path: c.target, headers, signal: AbortSignal.timeout(ANSWER_MS) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ statuses: [res.statusCode!], text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => resolve({ statuses: [res.statusCode!], failure: `response cut off: ${err.message}`, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('socket', (socket) => {
      previous = lastOnConnection.get(socket);
      lastOnConnection.set(socket, c);
    });
    req.on('error', (err) => {
      const why = err.name === 'AbortError' ? `no answer within ${ANSWER_MS} ms` : `no answer: ${err.message}`;
      resolve({ statuses: [], failure: previous ? `${why}\nthe connection's previous request was:\n${describeCase(previous)}` : why, text: '' });
    });
    req.end(c.body);
  });
}

function rawRequest(c: HttpCase): Buffer {
  const body = c.body ?? Buffer.alloc(0);
  const eol = c.framing === 'bare-lf' ? '\n' : '\r\n';
  const version = c.framing === 'http-1.0' ? 'HTTP/1.0' : 'HTTP/1.1';
  const lines = [`${c.method} ${c.target} ${version}`];
  if (c.framing !== 'no-host') lines.push('Host: 127.0.0.1');
  for (const [k, v] of Object.entries(c.headers)) lines.push(`${k}: ${v}`);
  lines.push('Connection: close');
  let payload = body;
  switch (c.framing) {
    case 'length-too-long':
      lines.push(`Content-Length: ${body.length + 1 + (body.length % 997)}`);
      break;
    case 'length-too-short':
      lines.push(`Content-Length: ${Math.floor(body.length / 2)}`);
      break;
    case 'length-not-a-number':
      lines.push(`Content-Length: ${['abc', '-1', '1.5', '0x10', '99999999999999999999', '1, 2', ''][body.length % 7]}`);
      break;
    case 'two-lengths':
      lines.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
      break;
    case 'length-and-chunked':
      lines.push(`Content-Length: ${body.length}`, 'Transfer-Encoding: chunked');
      break;
    case 'bad-chunks':
      lines.push('Transfer-Encoding: chunked');
      payload = Buffer.concat([Buffer.from(`${(body.length + 7).toString(16)}\r\n`), body, Buffer.from('\r\nzz\r\n')]);
      break;
    case 'junk-header-line':
      lines.push('no colon here', ' folded: continuation', 'bad name: x', 'x-nul: a\u0000b');
      break;
    default:
      lines.push(`Content-Length: ${body.length}`);
  }
  const head = Buffer.from(lines.join(eol) + eol + eol, 'latin1');
  const extra = c.framing === 'pipelined-junk' ? Buffer.from('\u0000\u0001GARBAGE / HTTP/9.9\r\n\r\n', 'latin1') : Buffer.alloc(0);
  return Buffer.concat([head, payload, extra]);
}

/**
 * The request with broken framing over a plain TCP socket, then our end of the stream closed: the
 * server must answer (any number of status lines, none a 5xx) or close, within ANSWER_MS.
 */
function sendRaw(port: number, c: HttpCase): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const signal = AbortSignal.timeout(ANSWER_MS);
    const finish = (failure?: string) => {
      signal.onabort = null;
      const text = Buffer.concat(chunks).toString('latin1').replaceAll('\r\n', '\n');
      const statuses = [...text.matchAll(/^HTTP\/1\.[01] (\d{3}) /gm)].map((m) => Number(m[1]));
      resolve({ statuses, failure, text });
    };
    signal.onabort = () => {
      socket.destroy();
      finish(`neither answered nor closed within ${ANSWER_MS} ms`);
    };
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => finish());
    socket.end(rawRequest(c));
  });
}

/** A request, short enough to read in a report: method, target, headers and body (escaped, cut at 300 characters). */
export function describeCase(c: HttpCase): string {
  const target = c.target.length > 300 ? `${c.target.slice(0, 300)}…(${c.target.length} chars)` : c.target;
  const head = [`${c.method} ${target}${c.framing ? ` [framing: ${c.framing}]` : ''}`];
  for (const [k, v] of Object.entries(c.headers)) head.push(`  ${k}: ${JSON.stringify(v.length > 120 ? `${v.slice(0, 120)}…(${v.length})` : v)}`);
  if (c.body) {
    const text = c.body.toString('utf8');
    head.push(`  body (${c.body.length} bytes): ${JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}…` : text)}`);
  }
  return head.join('\n');
}

// ---------------------------------------------------------------- running cases

export type Failure<C> = { case: C; problem: string };

/**
 * Runs cases `concurrency` at a time; `check` answers a problem or null. Stops starting new cases
 * once `maxFailures` are found, so a route that hangs costs one timeout, not a thousand.
 */
export async function sweep<C>(cases: C[], check: (c: C) => Promise<string | null>, opts: { concurrency: number; maxFailures: number }): Promise<Array<Failure<C>>> {
  const failures: Array<Failure<C>> = [];
  let next = 0;
  const worker = async () => {
    while (next < cases.length && failures.length < opts.maxFailures) {
      const c = cases[next++]!;
      const problem = await check(c);
      if (problem) failures.push({ case: c, problem });
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return failures;
}

/**
 * Failures as a report, grouped by the first line of their problem: how many, and the shortest
 * reproduction of each (the rest of the problem's lines follow it).
 */
export function report<C>(failures: Array<Failure<C>>, show: (c: C) => string, seed: number): string {
  const groups = new Map<string, Array<{ text: string; detail: string }>>();
  for (const f of failures) {
    const [kind = '', ...detail] = f.problem.split('\n');
    const group = groups.get(kind) ?? groups.set(kind, []).get(kind)!;
    group.push({ text: show(f.case), detail: detail.join('\n') });
  }
  const lines = [...groups].map(([kind, cases]) => {
    const shortest = cases.sort((a, b) => a.text.length - b.text.length)[0]!;
    const detail = shortest.detail ? `\n${shortest.detail.replace(/^/gm, '    ')}` : '';
    return `- ${kind} (${cases.length} case(s)); shortest:\n${shortest.text.replace(/^/gm, '    ')}${detail}`;
  });
  return `${failures.length} failing case(s) (fast-check seed ${seed}; rerun with HOSTILE_SEED=${seed}):\n${lines.join('\n')}`;
}

// ---------------------------------------------------------------- the database

const TABLES = ['sites', 'employees', 'records', 'events', 'checkins', 'event_seq'];

/** Row count and a digest of every row of each table the hub writes, plus the seq high-water marks. */
export async function snapshot(db: Knex): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const table of TABLES) {
    const { rows } = await db.raw(`SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS digest FROM ${table} t`);
    out[table] = rows[0];
  }
  const { rows } = await db.raw(
    'SELECT (SELECT max(seq) FROM events) AS events, (SELECT max(seq) FROM checkins) AS checkins, (SELECT max(seq) FROM records) AS records, (SELECT value FROM event_seq) AS event_seq',
  );
  out.maxSeq = rows[0];
  return out;
}
