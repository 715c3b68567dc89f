import type { Site, SiteCreate, SiteListQuery, SiteUpdate } from '../../shared/directory.js';
import type { Knex } from '../db/knex.js';
import { AppError, NotFoundError } from '../errors.js';
import { findSite, insertSite, listSites, updateSite } from '../repositories/sites.js';

export type SiteService = ReturnType<typeof createSiteService>;

export function createSiteService(deps: { db: Knex }) {
  const { db } = deps;

  function found(site: Site | undefined, id: string): Site {
    if (!site) throw new NotFoundError('site_not_found', `no site with id ${id}`);
    return site;
  }

  return {
    async create(input: SiteCreate): Promise<Site> {
      const site = await insertSite(db, input);
      if (!site) throw new AppError(409, 'site_exists', `a site with id ${input.id} already exists`);
      return site;
    },
    get: async (id: string) => found(await findSite(db, id), id),
    list: (query: SiteListQuery) => listSites(db, query),
    update: async (id: string, patch: SiteUpdate) => found(await updateSite(db, id, patch), id),
    /** Idempotent: deactivating an inactive site answers it as it is now. */
    deactivate: async (id: string) => found(await updateSite(db, id, { active: false }), id),
  };
}
