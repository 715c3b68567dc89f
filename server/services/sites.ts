import type { Site, SiteCreate, SiteListQuery, SiteUpdate } from '../../shared/directory.js';
import type { Scope, Who } from '../auth/actor.js';
import { inTransaction, type Knex } from '../db/knex.js';
import { AppError, NotFoundError } from '../errors.js';
import { requireReach } from '../policies/index.js';
import { appendAudit } from '../repositories/audit.js';
import { findSite, insertSite, listSites, updateSite } from '../repositories/sites.js';

export type SiteService = ReturnType<typeof createSiteService>;

export function createSiteService(deps: { db: Knex }) {
  const { db } = deps;

  function found(site: Site | undefined, id: string): Site {
    if (!site) throw new NotFoundError('site_not_found', `no site with id ${id}`);
    return site;
  }

  /** A change and its audit entry, in one transaction. */
  const change = (id: string, patch: SiteUpdate, who: Who, action: string) =>
    inTransaction(db, async (trx) => {
      const site = found(await updateSite(trx, id, patch), id);
      await appendAudit(trx, [{ who, action, entity: 'site', entityId: id, changes: patch }]);
      return site;
    });

  return {
    async create(input: SiteCreate, who: Who): Promise<Site> {
      return inTransaction(db, async (trx) => {
        const site = await insertSite(trx, input);
        if (!site) throw new AppError(409, 'site_exists', `a site with id ${input.id} already exists`);
        await appendAudit(trx, [{ who, action: 'create', entity: 'site', entityId: site.id, changes: input }]);
        return site;
      });
    },
    async get(id: string, scope: Scope): Promise<Site> {
      requireReach(scope, id, `site ${id} is not one of yours`);
      return found(await findSite(db, id), id);
    },
    /** The sites in reach. */
    list: (query: SiteListQuery, scope: Scope) => listSites(db, query, scope),
    update: (id: string, patch: SiteUpdate, who: Who) => change(id, patch, who, 'update'),
    /** Idempotent: deactivating an inactive site answers it as it is now. */
    deactivate: (id: string, who: Who) => change(id, { active: false }, who, 'deactivate'),
  };
}
