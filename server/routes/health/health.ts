import Router from '@koa/router';
import { AppError } from '../../errors.js';
import type { HealthService } from '../../services/health.js';

/**
 * Probes for orchestrators and load balancers, open to anyone like the older API's health routes (and
 * beside them: these are about the node, not the API, so they are not versioned). Live: the process
 * serves at all. Ready: this node should be sent traffic.
 */
export function probesRouter(deps: { health: HealthService }) {
  const router = new Router({ prefix: '/health' });

  router.get('/live', (ctx) => {
    ctx.body = { data: { live: true } };
  });

  router.get('/ready', async (ctx) => {
    const readiness = await deps.health.ready();
    if (!readiness.ready) {
      throw new AppError(503, 'not_ready', readiness.draining ? 'this node is shutting down' : 'a dependency of this node does not answer', readiness);
    }
    ctx.body = { data: readiness };
  });

  return router;
}
