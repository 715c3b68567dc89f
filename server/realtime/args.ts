/**
 * An event's arguments as a client sent them. The contract is one payload and an ack last, but a
 * client may send none, several, or no ack: the ack, when there is one, is answered whatever came
 * before it, and anything but exactly one payload becomes a payload the schema refuses.
 */
export function payloadAndAck<A>(args: unknown[]): { payload: unknown; ack: ((answer: A) => void) | null } {
  const last = args.at(-1);
  const ack = typeof last === 'function' ? (last as (answer: A) => void) : null;
  const rest = ack ? args.slice(0, -1) : args;
  return { payload: rest.length <= 1 ? rest[0] : rest, ack };
}
