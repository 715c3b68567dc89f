/** Room names, built in one place: the publisher and the subscribe handler must agree on them. */
export const rooms = {
  all: 'all',
  site: (siteId: string) => `site:${siteId}`,
  employee: (employeeId: string) => `employee:${employeeId}`,
};

/** The rooms an event about this site and employee reaches; a socket in several of them gets it once. */
export function roomsFor(siteId: string | null, employeeId: string | null): string[] {
  const names = [rooms.all];
  if (siteId) names.push(rooms.site(siteId));
  if (employeeId) names.push(rooms.employee(employeeId));
  return names;
}
