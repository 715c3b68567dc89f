import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponseObject } from 'zod-openapi';
import { api, TAGS, type ErrorStatus, type Operation } from './api.js';
import { AuditEntry, CreatedToken, Me, SESSION_COOKIE, Token, User } from './auth.js';
import { BadgeLookup, Employee, Site } from './directory.js';
import { DailyReportRow, TimesheetRow } from './reports.js';
import { Assignment, Holiday, Leave, Shift } from './schedule.js';
import { Checkin, CheckinInput, ErrorResponse, ExpectedEntry, FieldIssue, LegacyRecord, PresenceEntry } from './schemas.js';

const ERRORS: Record<ErrorStatus, string> = {
  400: 'Bad input; nothing was written. Also `invalid_json`, `incomplete_body`.',
  401: '`unauthenticated`: no credentials, or malformed, unknown, revoked or expired ones.',
  403: '`forbidden`: the role or sites do not allow it, or a cookie-authenticated change from a foreign origin.',
  404: 'Not found.',
  409: 'Conflicts with what is stored; nothing was written.',
  410: 'Gone: what was asked for is no longer kept.',
  422: 'Well-formed, but its content breaks the rules; nothing was written.',
  429: 'Too many; retry after Retry-After.',
  503: '`unavailable`: a dependency is down; retry after Retry-After.',
};

const errorAnswer = (description: string): ZodOpenApiResponseObject => ({ description, content: { 'application/json': { schema: ErrorResponse } } });

/** Whatever else any route may answer, in the same envelope. */
const DEFAULT = errorAnswer(
  'Any other error, in the same envelope: `method_not_allowed` (405), `request_timeout` (408), `payload_too_large` (413), `unsupported_media_type` (415), `rate_limited` (429, with Retry-After), `unavailable` or `overloaded` (503, with Retry-After).',
);

/** Named in the document (components) rather than spelled out at each use. */
const COMPONENTS = {
  Checkin,
  CheckinInput,
  Site,
  Employee,
  BadgeLookup,
  PresenceEntry,
  ExpectedEntry,
  TimesheetRow,
  DailyReportRow,
  Shift,
  Assignment,
  Holiday,
  Leave,
  Token,
  CreatedToken,
  User,
  Me,
  AuditEntry,
  LegacyRecord,
  Error: ErrorResponse,
  FieldIssue,
};

/** "POST /api/v1/sites/{id}/deactivate" → "postSitesByIdDeactivate". */
function operationId(method: string, path: string): string {
  const words = path
    .replace(/^\/api\/v1\//, '/')
    .split(/[/.-]/)
    .filter(Boolean)
    .map((w) => (w.startsWith('{') ? `By${w.slice(1, -1)}` : w));
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

function operation(method: string, path: string, op: Operation): ZodOpenApiOperationObject {
  const responses: Record<string, ZodOpenApiResponseObject> = {};
  for (const [status, answer] of Object.entries(op.answers)) responses[status] = answer;
  const errors: Partial<Record<ErrorStatus, string>> = op.open ? { ...op.errors } : { 401: '', ...op.errors };
  for (const [status, codes] of Object.entries(errors)) {
    responses[status] ??= errorAnswer([ERRORS[Number(status) as ErrorStatus], codes].filter(Boolean).join(' '));
  }
  responses.default = DEFAULT;
  const access = op.open ? 'Open: needs no credentials.' : op.who ? `Who: ${op.who}` : 'Who: anyone authenticated.';
  return {
    operationId: operationId(method, path),
    tags: [op.tag],
    summary: op.summary,
    description: [op.description, access].filter(Boolean).join('\n\n'),
    ...(op.open ? { security: [] } : {}),
    requestParams: Object.fromEntries(Object.entries({ path: op.params, query: op.query, header: op.headers }).filter(([, schema]) => schema)),
    ...(op.body ? { requestBody: { required: true, content: { [op.bodyType ?? 'application/json']: { schema: op.body } } } } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the hub's REST API, from the contract in ./api.ts. */
export function createOpenApiDocument(opts: { version: string }) {
  const paths: ZodOpenApiPathsObject = {};
  for (const [key, op] of Object.entries(api) as Array<[string, Operation]>) {
    const [method, path] = key.split(' ') as [string, string];
    paths[path] = { ...paths[path], [method.toLowerCase()]: operation(method, path, op) };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Attendance hub',
      version: opts.version,
      description:
        'Kiosks check people in and out, dashboards watch live (Socket.IO on the same port; see the README), REST callers create, search and report. Errors are `{"error":{code,message,details?}}` with a stable `code`, but the older API’s routes keep their own shapes. Lists page with `after` and `limit` and answer `{"data":[…],"next":…}`.',
    },
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    // Any one of them will do, unless an operation says it is open.
    security: [{ apiToken: [] }, { jwt: [] }, { session: [] }],
    paths,
    components: {
      schemas: COMPONENTS,
      securitySchemes: {
        apiToken: { type: 'http', scheme: 'bearer', description: 'An API token (`ahub_…`), made by an admin: `POST /api/v1/tokens` or `npm run token`.' },
        jwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'With single sign-on set up (AUTH_JWT_ISSUER, AUTH_JWT_JWKS_URL): a JWT from that issuer.' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: SESSION_COOKIE,
          description: 'The cookie `POST /api/v1/auth/login` sets. A change made with it (not GET, HEAD, OPTIONS) must come from the hub’s own origin or one in CORS_ORIGINS.',
        },
      },
    },
  });
}
