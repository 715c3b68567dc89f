import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { makeEmployee, makeSite } from './support/factories.js';
import { api, startTwoNodes, type TestHub, type TwoNodes } from './support/hub.js';
import { recordDashboard, until, type Recorder } from './support/live.js';

/**
 * The adapter never awaits its publishes, so a publish ioredis had queued while Redis was away would be
 * rejected, unhandled, once its retries ran out (half a minute in), and that ends a hub process. The
 * hub announces only while Redis is ready, so during an outage nothing is handed to the adapter's
 * clients at all. (Mocha swallows unhandled rejections, so the test listens for them itself.)
 */
describe('a Redis outage', function () {
  this.timeout(60_000);
  let nodes: TwoNodes | undefined;
  let a: TestHub;
  let b: TestHub;
  let dash: Recorder;

  before(async function () {
    nodes = await startTwoNodes(
      this,
      'outage',
      async (db) => {
        await makeSite(db, { id: 'S1' });
        for (let i = 0; i < 10; i++) await makeEmployee(db, { id: `O${i}`, siteId: 'S1' });
      },
      { ownRedis: true },
    );
    ({ a, b } = nodes);
    dash = recordDashboard(b, { sites: ['S1'] });
  });
  after(async () => {
    dash?.client.close();
    await nodes?.stop();
  });

  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  beforeEach(() => process.on('unhandledRejection', onRejection));
  afterEach(() => process.off('unhandledRejection', onRejection));

  const adapterClients = () => [a, b].flatMap((hub) => [hub.redis!.pub, hub.redis!.sub]);

  /**
   * The commands handed to these clients while they were not connected. ioredis keeps such commands in
   * its offline queue, a private field; every command passes through the public sendCommand first.
   */
  function commandsWhileOffline(clients: Redis[]): string[] {
    const queued: string[] = [];
    for (const client of clients) {
      const send = client.sendCommand.bind(client);
      client.sendCommand = (command, stream) => {
        if (client.status !== 'ready') queued.push(`${command.name} (${client.status})`);
        return send(command, stream);
      };
    }
    return queued;
  }

  it('queues nothing for Redis, keeps both nodes serving, and the other node catches up when Redis is back', async () => {
    await until(() => dash.acks.length === 1);
    const queued = commandsWhileOffline(adapterClients());
    await nodes!.ownRedis!.stop();
    await until(() => adapterClients().every((c) => c.status !== 'ready'), 10_000, 'both nodes to see Redis go');

    const during = [];
    for (let i = 0; i < 10; i++) during.push(await api(a, 'POST', '/api/v1/checkins', { employeeId: `O${i}`, type: 'in' }));
    assert.ok(during.every((r) => r.status === 201), 'check-ins are taken while Redis is away');
    for (const hub of [a, b]) assert.equal((await api(hub, 'GET', '/api/v1/attendance/health')).status, 200);
    assert.deepEqual(queued, [], 'nothing was queued for Redis, so nothing is left to reject');

    await nodes!.ownRedis!.start();
    const expected = (await nodes!.tdb.db('events').where('site_id', 'S1').orderBy('seq').pluck('seq')) as number[];
    await until(() => dash.seqs().length >= expected.length, 15_000, 'the dashboard on the other node to catch up');
    assert.deepEqual(dash.seqs(), expected);
    assert.deepEqual(rejections, [], 'no unhandled rejection');
  });
});
