#!/usr/bin/env node
// Runs every program in examples/ against the BUILT packages (packages/*/dist, so run
// `pnpm build` first), the way a user's program would import them. The test suite runs the
// same programs against the sources (packages/core/test/examples.test.ts, which also checks
// what they print); this catches what only the build gets wrong. Each example must exit 0.
// Extra arguments: example file names to run (default: all).
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(fileURLToPath(new URL("..", import.meta.url)))
const tsx = join(root, "node_modules", "tsx", "dist", "cli.mjs")
const dist = (pkg, file) => join(root, "packages", pkg, "dist", file)

for (const pkg of ["core", "platform-node"]) {
  if (!existsSync(dist(pkg, "index.js"))) {
    console.error(`run-examples: packages/${pkg}/dist/index.js is missing: run \`pnpm build\` first`)
    process.exit(1)
  }
}

// the package names point at the build output instead of the sources (tsconfig.base.json)
const cache = join(root, "node_modules", ".cache", "effect-backoff")
mkdirSync(cache, { recursive: true })
const tsconfig = join(cache, "tsconfig.examples-dist.json")
writeFileSync(
  tsconfig,
  JSON.stringify(
    {
      extends: join(root, "tsconfig.base.json"),
      compilerOptions: {
        paths: {
          "@effect-backoff/core": [dist("core", "index.js")],
          "@effect-backoff/core/*": [dist("core", "*.js")],
          "@effect-backoff/platform-node": [dist("platform-node", "index.js")]
        }
      }
    },
    null,
    2
  )
)

const env = { ...process.env }
for (const key of Object.keys(env)) if (key.startsWith("BACKOFF_")) delete env[key]

const wanted = process.argv.slice(2)
const files = readdirSync(join(root, "examples"))
  .filter((f) => f.endsWith(".ts") && (wanted.length === 0 || wanted.includes(f)))
  .sort()
const failed = []
for (const file of files) {
  const start = Date.now()
  const r = spawnSync(process.execPath, [tsx, "--tsconfig", tsconfig, join("examples", file)], {
    cwd: root,
    env,
    encoding: "utf8",
    timeout: 120_000
  })
  const ms = Date.now() - start
  if (r.status === 0) {
    console.log(`ok   examples/${file} (${ms} ms)`)
  } else {
    failed.push(file)
    console.log(`FAIL examples/${file} (exit ${r.status ?? r.signal}, ${ms} ms)\n${r.stdout}${r.stderr}`)
  }
}
// (not an "N passed, N failed" line: CI reads that one as the test count)
if (failed.length > 0) {
  console.log(`run-examples: ${failed.length} of ${files.length} examples failed: ${failed.join(", ")}`)
} else if (files.length > 0) {
  console.log(`run-examples: all ${files.length} examples ran against the build and exited 0`)
} else console.error("run-examples: no example ran")
process.exitCode = failed.length > 0 || files.length === 0 ? 1 : 0
