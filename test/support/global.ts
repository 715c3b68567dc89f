import { pino } from 'pino';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../server/db/embedded.js';
import { migrate } from '../../server/db/liquibase.js';
import { query, withDatabase } from './pg.js';
import os from 'node:os';
import path from 'node:path';

/**
 * Once per run: find PostgreSQL (DATABASE_URL, else an embedded one), migrate a template database
 * with the real Liquibase changelog, and let each test file clone it (CREATE DATABASE … TEMPLATE).
 */
let embedded: EmbeddedDatabase | null = null;
let adminUrl = '';
let template = '';

export async function mochaGlobalSetup() {
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' });
  if (process.env.DATABASE_URL) {
    adminUrl = process.env.DATABASE_URL;
  } else {
    const dir = path.join(os.tmpdir(), `hub-test-pg-${process.pid}`);
    embedded = await startEmbeddedPostgres(dir, 20000 + (process.pid % 20000), logger);
    adminUrl = embedded.url;
  }
  template = `hub_tpl_${process.pid}`;
  await admin(`DROP DATABASE IF EXISTS ${template}`);
  await admin(`CREATE DATABASE ${template}`);
  await migrate(withDatabase(adminUrl, template), logger);
  process.env.HUB_TEST_ADMIN_URL = adminUrl;
  process.env.HUB_TEST_TEMPLATE = template;
}

export async function mochaGlobalTeardown() {
  await admin(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`).catch(() => {});
  await embedded?.stop();
}

async function admin(sql: string) {
  await query(adminUrl, sql);
}
