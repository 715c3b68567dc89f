// swagger-ui-dist ships no types; the hub needs only where its files are (server/routes/docs/docs.ts).
declare module 'swagger-ui-dist/absolute-path.js' {
  /** The folder of the installed swagger-ui-dist package. */
  export default function getAbsoluteFSPath(): string;
}
