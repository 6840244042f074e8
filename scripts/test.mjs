// Runs the whole vitest workspace, then prints one plain closing line
// ("N passed, N failed, N skipped") that any CI log reader understands.
// Extra arguments go to vitest (e.g. a file filter).
import { spawnSync } from "node:child_process"
import { mkdirSync, readFileSync, rmSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const out = `${root}.vitest/results.json`
mkdirSync(`${root}.vitest`, { recursive: true })
rmSync(out, { force: true })

const vitest = spawnSync(
  process.execPath,
  [
    `${root}node_modules/vitest/vitest.mjs`,
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${out}`,
    ...process.argv.slice(2)
  ],
  { cwd: root, stdio: "inherit" }
)

let summary = "tests: no results were written"
try {
  const r = JSON.parse(readFileSync(out, "utf8"))
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
  summary = `tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`
} catch {
  // vitest failed before writing its report; its own output says why
}
console.log(summary)
process.exit(vitest.status ?? 1)
