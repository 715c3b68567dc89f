import { pino } from 'pino';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../server/db/embedded.js';
import { migrate } from '../../server/db/liquibase.js';
import { queryOnce, withDatabase } from '../../server/db/admin.js';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Once per run: find PostgreSQL (DATABASE_URL, else an embedded one), migrate a template database
 * with the real Liquibase changelog, and let each test file clone it (CREATE DATABASE … TEMPLATE).
 */
let embedded: EmbeddedDatabase | null = null;
let embeddedDir = '';
let adminUrl = '';
let template = '';

export async function mochaGlobalSetup() {
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' });
  if (process.env.DATABASE_URL) {
    adminUrl = process.env.DATABASE_URL;
  } else {
    embeddedDir = path.join(os.tmpdir(), `hub-test-pg-${process.pid}`);
    embedded = await startEmbeddedPostgres(embeddedDir, 20000 + (process.pid % 20000), logger, { ownProcessGroup: false });
    adminUrl = embedded.url;
  }
  template = `hub_tpl_${process.pid}`;
  await queryOnce(adminUrl, `DROP DATABASE IF EXISTS ${template}`);
  await queryOnce(adminUrl, `CREATE DATABASE ${template}`);
  await migrate(withDatabase(adminUrl, template), logger);
  process.env.HUB_TEST_ADMIN_URL = adminUrl;
  process.env.HUB_TEST_TEMPLATE = template;
}

export async function mochaGlobalTeardown() {
  await queryOnce(adminUrl, `DROP DATABASE IF EXISTS ${template} WITH (FORCE)`).catch(() => {});
  await embedded?.stop();
  // A run's embedded cluster is its own (62 MB); nothing reuses it.
  if (embeddedDir) await fs.rm(embeddedDir, { recursive: true, force: true });
}
