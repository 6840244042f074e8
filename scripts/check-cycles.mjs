#!/usr/bin/env node
// The import rules of packages/*/src (see CONTRIBUTING.md, "Imports"), checked with madge:
//   1. no import cycles, type-only imports included (`import type` counts: a cycle of types
//      is still a cycle a reader has to untangle);
//   2. a module under src/internal/ never imports a public module of its own package (a
//      src/*.ts file), not even for a type: public modules import internal ones, never the
//      other way round. A type both sides need lives in internal/ (the public module
//      re-exports it). Another package's public entry point (`@effect-backoff/core`) is fine.
// Also fails when a relative import cannot be resolved, so that a resolver problem cannot
// hide an edge. Exit code 1 on any finding.
import madge from "madge"
import { readdirSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const packagesDir = join(root, "packages")
const sources = readdirSync(packagesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => join(packagesDir, d.name, "src"))

const result = await madge(sources, {
  baseDir: root,
  fileExtensions: ["ts"],
  tsConfig: join(root, "tsconfig.base.json"),
  // count `import type` edges too
  detectiveOptions: { ts: { skipTypeImports: false }, tsx: { skipTypeImports: false } }
})

const graph = result.obj()
const files = Object.keys(graph)
const problems = []

// 1. cycles
for (const cycle of result.circular()) {
  problems.push(`import cycle: ${[...cycle, cycle[0]].join(" -> ")}`)
}

// 2. internal modules never import their own package's public modules
const parts = (file) => {
  const m = /^packages\/([^/]+)\/src\/(.*)$/.exec(file)
  return m === null ? undefined : { pkg: m[1], path: m[2] }
}
for (const [from, deps] of Object.entries(graph)) {
  const f = parts(from)
  if (f === undefined || !f.path.startsWith("internal/")) continue
  for (const to of deps) {
    const t = parts(to)
    // another package (platform-node -> @effect-backoff/core resolves to core/src) is fine
    if (t === undefined || t.pkg !== f.pkg || t.path.startsWith("internal/")) continue
    problems.push(`internal imports public: ${from} -> ${to} (move what it needs into internal/)`)
  }
}

// unresolved relative imports would silently drop edges
for (const skipped of result.warnings().skipped) {
  if (skipped.startsWith(".")) problems.push(`unresolved import: ${skipped}`)
}

if (files.length === 0) problems.push("no source files found: the check checked nothing")

if (problems.length > 0) {
  for (const p of problems) console.error(`check-cycles: ${p}`)
  console.error(`check-cycles: ${problems.length} problem(s) in ${files.length} modules`)
  process.exitCode = 1
} else {
  console.log(`check-cycles: ${files.length} modules of ${sources.map((s) => relative(root, s)).join(", ")}: no cycles`)
}
