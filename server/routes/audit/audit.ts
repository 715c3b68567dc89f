import Router from '@koa/router';
import { AuditQuery } from '../../../shared/auth.js';
import { authorize, policies } from '../../policies/index.js';
import type { AuditService } from '../../services/audit.js';
import { parse } from '../../validate.js';
import type { HubState } from '../state.js';

/** The audit log: admins only. */
export function auditRouter(deps: { audit: AuditService }) {
  const router = new Router<HubState>({ prefix: '/api/v1/audit' });
  router.get('/', async (ctx) => {
    const query = parse(AuditQuery, ctx.query);
    authorize(ctx.state.actor, policies.audit, 'read');
    ctx.body = await deps.audit.list(query);
  });
  return router;
}
