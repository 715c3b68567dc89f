// Knex ships no types for its dialect classes; the hub extends the PostgreSQL one (server/db/knex.ts).
declare module 'knex/lib/dialects/postgres/index.js' {
  import type { Knex } from 'knex';
  const PgClient: typeof Knex.Client;
  export default PgClient;
}
