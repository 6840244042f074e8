/**
 * Every program in examples/ runs: each one in a child process with tsx from the root
 * (as the README says, `npx tsx examples/<file>.ts`), which must exit 0 and print its key
 * lines. An example without an entry below still has to run and exit 0.
 * Real processes and real (short) waits, hence the generous timeouts.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const tsx = path.join(root, "node_modules", "tsx", "dist", "cli.mjs")

interface Case {
  /** Extra environment variables. */
  readonly env?: Record<string, string>
  /** Lines (or fragments of lines) the output must contain, in this order. */
  readonly expect: ReadonlyArray<string | RegExp>
}

const cases: Record<string, Case> = {
  "poll-job.ts": {
    expect: [
      "report-1 poll 1: queued 0%, next in 5ms",
      "report-1: done",
      "export-2: still running after 6 polls, giving up",
      "export-2: not done (50%), check again later"
    ]
  },
  "runtime-config.ts": {
    env: { BACKOFF_MAX_TRIES: "3", BACKOFF_FACTOR: "2 millis" },
    expect: [
      "maxTries=3 maxTime=2s factor=2ms",
      "gave up after 3 calls (Unavailable: 503)",
      "maxTries=2 maxTime=2s factor=1ms",
      "gave up after 2 calls",
      "rejected before the first call (0 calls): maxTries must be an integer >= 1, got 0",
      /configuration error \(0 calls\): .*BACKOFF_MAX_TRIES/
    ]
  },
  "metrics.ts": {
    expect: [
      /^runs: 20, calls: \d+$/m,
      /^backoff_retries_total\{target="fetchPrice"\} [1-9]\d*$/m,
      /^backoff_giveups_total\{target="fetchPrice"\} \d+$/m,
      /^backoff_successes_after_retry_total\{target="fetchPrice"\} \d+$/m,
      /^backoff_wait_seconds: count [1-9]\d*/m,
      "registered: backoff_attempts, backoff_giveups_total, backoff_retries_total, backoff_successes_after_retry_total, backoff_wait_seconds"
    ]
  },
  "tracing-console.ts": {
    expect: [
      "name: 'fetchReport'",
      "'backoff.outcome': 'success'",
      "name: 'backoff'",
      "'backoff.wait': 0.005",
      "got report q3 after 3 calls",
      "name: 'giveup'",
      "q4: gave up after 4 calls",
      "name: 'handle-request'"
    ]
  },
  "stacking.ts": {
    expect: [
      "[timeouts] try 1: Timeout, retrying in 1ms",
      "[timeouts] giving up after 2 tries: Timeout",
      "[rate-limits] try 1: Timeout, retrying in 10ms",
      "[rate-limits] try 2: RateLimited, retrying in 10ms",
      "response after 6 calls"
    ]
  },
  "testing-with-timeline.ts": {
    expect: [
      "TestClock at 6s: 3 calls, still waiting",
      "TestClock at 7s: \"config v2\" after 4 calls",
      "1.200s  Backoff #2  wait 2.000s",
      "Timeline, always failing: gives up after 5 calls at 15.000s",
      "all checks passed"
    ]
  }
}

const run = (file: string, env: Record<string, string> = {}) =>
  new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>((resolve) => {
    const start = Date.now()
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env }
    for (const key of Object.keys(childEnv)) {
      if (key.startsWith("BACKOFF_") && !(key in env)) delete childEnv[key]
    }
    execFile(
      process.execPath,
      [tsx, path.join("examples", file)],
      { cwd: root, env: childEnv, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
        resolve({ code, stdout, stderr, ms: Date.now() - start })
      }
    )
  })

const exampleFiles = fs.readdirSync(path.join(root, "examples")).filter((f) => f.endsWith(".ts")).sort()

describe.concurrent("examples", () => {
  it("the examples named by the docs exist", () => {
    expect(exampleFiles).toEqual(expect.arrayContaining(Object.keys(cases)))
  })

  for (const file of exampleFiles) {
    it(`examples/${file} runs and exits 0`, async () => {
      const spec = cases[file]
      const { code, stderr, stdout } = await run(file, spec?.env)
      expect(code, `exit code of examples/${file}\n${stdout}\n${stderr}`).toBe(0)
      let rest = stdout
      for (const expected of spec?.expect ?? []) {
        const match = typeof expected === "string"
          ? { index: rest.indexOf(expected), length: expected.length }
          : (() => {
            const m = expected.exec(rest)
            return m === null ? { index: -1, length: 0 } : { index: m.index, length: m[0].length }
          })()
        expect(match.index, `examples/${file} prints ${String(expected)} (in order)\n--- output ---\n${stdout}`)
          .toBeGreaterThanOrEqual(0)
        rest = rest.slice(match.index + match.length)
      }
    }, 120_000)
  }
})
