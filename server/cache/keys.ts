/** Every cache key the hub uses, built in one place so writers and readers cannot drift apart. */
export const cacheKeys = {
  latestRecord: (employeeId: string) => `record:latest:${employeeId}`,
  presence: (siteId: string) => `presence:${siteId}`,
};
