import { fileURLToPath } from "node:url"

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/`, import.meta.url))

/** Tests import the packages by name; point those names at the sources so no build is needed. */
export const alias = [
  { find: /^@effect-backoff\/core$/, replacement: `${src("core")}index.ts` },
  { find: /^@effect-backoff\/core\/(.*)$/, replacement: `${src("core")}$1.ts` },
  { find: /^@effect-backoff\/platform-node$/, replacement: `${src("platform-node")}index.ts` }
]
