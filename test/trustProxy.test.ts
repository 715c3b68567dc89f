import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Knex } from '../server/db/knex.js';
import { createKioskClient, type KioskClient } from '../shared/client.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { api, useTestHub } from './support/hub.js';

/**
 * TRUST_PROXY: behind that many reverse proxies the client's address is the X-Forwarded-For entry the
 * outermost one appended, for REST and sockets alike (the audit log, per-address limits); what a
 * client writes there itself never counts, and with the default 0 the header is ignored.
 */
const seed = async (db: Knex) => {
  await makeSite(db, { id: 'S1' });
  await makeEmployee(db, { id: 'E1', siteId: 'S1' });
};

// As nginx forwards it: what the client claimed, then the address nginx saw.
const CLAIMED = '198.51.100.7';
const SEEN_BY_PROXY = '203.0.113.9';
const FORWARDED = `${CLAIMED}, ${SEEN_BY_PROXY}`;

describe('TRUST_PROXY', () => {
  for (const [trustProxy, expected] of [
    ['0', '127.0.0.1'],
    ['1', SEEN_BY_PROXY],
    ['2', CLAIMED],
  ] as const) {
    describe(`TRUST_PROXY=${trustProxy}`, () => {
      const t = useTestHub({ seed, env: { TRUST_PROXY: trustProxy } });
      let kiosk: KioskClient | undefined;
      after(() => kiosk?.close());

      it(`audits a REST write and a socket check-in as coming from ${expected}`, async () => {
        const requestId = `trust-proxy-${trustProxy}-${process.pid}`;
        const site = await api(t.hub, 'POST', '/api/v1/sites', { id: `P${trustProxy}`, name: 'Proxied', timeZone: 'UTC' }, { 'x-forwarded-for': FORWARDED, 'x-request-id': requestId });
        assert.equal(site.status, 201, site.text);

        kiosk = createKioskClient({ url: t.hub.url, token: t.hub.adminToken, socket: { transports: ['websocket'], extraHeaders: { 'x-forwarded-for': FORWARDED } } });
        const eventId = randomUUID();
        await kiosk.checkin({ employeeId: 'E1', type: 'in', eventId });

        const log = await api(t.hub, 'GET', '/api/v1/audit?limit=500');
        assert.equal(log.status, 200, log.text);
        const entries: Array<{ requestId: string | null; entityId: string; ip: string | null }> = log.body.data;
        assert.equal(entries.find((e) => e.requestId === requestId)?.ip, expected, 'REST');
        assert.equal(entries.find((e) => e.entityId === eventId)?.ip, expected, 'socket');
      });
    });
  }

  describe('per-address rate limit behind one proxy', () => {
    const t = useTestHub({ env: { TRUST_PROXY: '1', RATE_LIMIT_PER_IP: '3', RATE_LIMIT_WINDOW_SECONDS: '3600' } });

    it('counts each client the proxy reports on its own, whatever the client claims', async () => {
      const health = (client: string, claimed = '') =>
        api(t.hub, 'GET', '/api/v1/attendance/health', undefined, { 'x-forwarded-for': claimed ? `${claimed}, ${client}` : client });
      // A different first entry each time: the client's own claim must not buy it a fresh budget.
      const first = [];
      for (let i = 0; i < 4; i++) first.push((await health('192.0.2.1', `10.0.0.${i}`)).status);
      assert.deepEqual(first, [200, 200, 200, 429]);
      assert.equal((await health('192.0.2.2')).status, 200, 'another client behind the same proxy still has its own budget');
    });
  });
});
