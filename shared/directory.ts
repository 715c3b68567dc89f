import { z } from 'zod';
import { Id, NON_EMPTY, PageQuery, Text } from './schemas.js';

/**
 * An IANA zone name the runtime's ICU knows (aliases such as Europe/Kyiv included, which
 * Intl.supportedValuesOf leaves out). It must start with a letter: newer runtimes also accept
 * offsets like "+01:00", which PostgreSQL reads with the opposite sign.
 */
export const TimeZone = z.string().refine((tz) => {
  if (!/^[A-Za-z]/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Europe/Berlin or UTC');

const Name = Text(200);
/** A badge is printed or encoded on a card: the same printable, trimmed rules as an id. */
export const Badge = Id;
export const Pin = z.string().regex(/^\d{4,12}$/, 'must be 4 to 12 digits');
const Timestamp = z.string();

/** The `:id` of a resource path, held to the same rules as an id in a body. */
export const PathParams = z.object({ id: Id });

/**
 * Where a site is and how far from it punches count: `off` judges nothing, `flag` stores a punch from
 * outside marked `geofence: "outside"`, `reject` refuses it (outside_geofence) and one without a location
 * (location_required). A punch's reported accuracy counts in its favour.
 */
export const Geofence = z.strictObject({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  radiusMeters: z.number().positive().max(100_000),
  mode: z.enum(['off', 'flag', 'reject']),
});
export type Geofence = z.infer<typeof Geofence>;

export const Site = z.object({
  id: Id,
  name: z.string(),
  timeZone: z.string(),
  active: z.boolean(),
  geofence: Geofence.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Site = z.infer<typeof Site>;

export const SiteCreate = z.strictObject({ id: Id, name: Name, timeZone: TimeZone.default('UTC'), geofence: Geofence.nullable().optional() });
export type SiteCreate = z.infer<typeof SiteCreate>;

export const SiteUpdate = z
  .strictObject({ name: Name.optional(), timeZone: TimeZone.optional(), active: z.boolean().optional(), geofence: Geofence.nullable().optional() })
  .refine(...NON_EMPTY);
export type SiteUpdate = z.infer<typeof SiteUpdate>;

export const SiteListQuery = PageQuery.extend({ active: z.stringbool().optional() });
export type SiteListQuery = z.infer<typeof SiteListQuery>;

/** The PIN itself never leaves the hub: callers only learn whether one is set. */
export const Employee = z.object({
  id: Id,
  name: z.string(),
  siteId: Id.nullable(),
  badge: z.string().nullable(),
  hasPin: z.boolean(),
  active: z.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Employee = z.infer<typeof Employee>;

export const EmployeeCreate = z.strictObject({
  id: Id,
  name: Name,
  siteId: Id.optional(),
  badge: Badge.optional(),
  pin: Pin.optional(),
});
export type EmployeeCreate = z.infer<typeof EmployeeCreate>;

/** null clears a field: siteId unassigns, badge frees the badge, pin removes the PIN. */
export const EmployeeUpdate = z
  .strictObject({
    name: Name.optional(),
    siteId: Id.nullable().optional(),
    badge: Badge.nullable().optional(),
    pin: Pin.nullable().optional(),
    active: z.boolean().optional(),
  })
  .refine(...NON_EMPTY);
export type EmployeeUpdate = z.infer<typeof EmployeeUpdate>;

export const EmployeeListQuery = PageQuery.extend({ siteId: Id.optional(), active: z.stringbool().optional() });
export type EmployeeListQuery = z.infer<typeof EmployeeListQuery>;

export const BadgeParams = z.object({ badge: Badge });

/** A kiosk's badge look-up: whose badge, and whether to ask for a PIN (`hasPin`). */
export const BadgeLookup = z.object({ employeeId: Id, name: z.string(), siteId: Id.nullable(), hasPin: z.boolean(), active: z.boolean() });
export type BadgeLookup = z.infer<typeof BadgeLookup>;
