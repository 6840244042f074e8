/**
 * `effect-backoff plot`: the chart's arithmetic against the retry engine itself (Timeline),
 * its speed and responsiveness within the flags' limits, and its exit statuses
 * (issue 21 items 11, 12; issue 22 item 5).
 */
import { Timeline } from "@effect-backoff/core"
import * as CliConfig from "@effect/cli/CliConfig"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { onTestFinished } from "vitest"
import { stripAnsi } from "../src/internal/cli.js"
import type { ResolvedPolicy } from "../src/internal/flags.js"
import { policy } from "../src/internal/flags.js"
import { chart, MAX_WAITS } from "../src/internal/plot.js"
import { runCli } from "./helpers.js"

const read = (args: ReadonlyArray<string>): ResolvedPolicy =>
  Options.processCommandLine(policy("plot", "unlimited"), args, CliConfig.defaultConfig).pipe(
    Effect.map(([, , p]) => p),
    Effect.mapError((e) => new Error(stripAnsi(HelpDoc.toAnsiText(e.error)).trim())),
    Effect.provide(NodeContext.layer),
    Effect.runSync
  )

/** The waits (seconds) of one run through the real retry engine on virtual time: the reference. */
const engineWaits = (p: ResolvedPolicy, maxTries: number, jittered: boolean, seed: string) =>
  Effect.runSync(Timeline.run(
    { wait: p.wait, jitter: jittered ? p.jitter : null, maxTries, maxTime: p.maxTime ?? Infinity, logger: false },
    [Timeline.fail("failed")],
    { seed }
  )).events.filter((e) => e._tag === "Backoff").map((e) => Duration.toMillis(e.wait!) / 1000)

describe("plot's arithmetic is the retry engine's", () => {
  it.each([
    ["--wait", "expo", "--max-value", "8s"],
    ["--wait", "expo", "--jitter", "equal", "--max-time", "7.5s"],
    ["--wait", "fibo", "--jitter", "random", "--max-tries", "5"],
    ["--wait", "constant", "--interval", "2s", "--max-time", "9s"],
    ["--wait", "decay", "--decay-factor", "0.5", "--min-value", "0.1s", "--jitter", "full"],
    ["--wait", "linear", "--step", "3s", "--max-value", "10s", "--jitter", "none"],
    ["--wait", "decorrelated", "--max-value", "20s"],
    ["--wait", "decorrelated", "--max-value", "20s", "--jitter", "full", "--max-time", "30s"]
  ])("%s %s %s %s ...: every sampled wait as Timeline.run gives it, seed by seed", (...args) => {
    const p = read(args)
    const tries = 8
    const samples = 40
    const seed = 7
    const drawn = Effect.runSync(chart(p, tries, samples, seed))
    const maxTries = Math.min(p.maxTries, tries + 1)
    const line = engineWaits(p, maxTries, false, `${seed}`)
    const runs = Array.from({ length: samples }, (_, s) => engineWaits(p, maxTries, true, `${seed}:${s}`))
    const close = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
      expect(a).toHaveLength(b.length)
      a.forEach((x, i) => expect(x).toBeCloseTo(b[i]!, 7))
    }
    close(drawn.rows.map((r) => r.wait), line)
    drawn.rows.forEach((row, i) => close(row.samples, runs.flatMap((r) => i < r.length ? [r[i]!] : [])))
    const totals = runs.map((r) => r.reduce((a, b) => a + b, 0))
    expect(drawn.total.min).toBeCloseTo(Math.min(...totals), 6)
    expect(drawn.total.max).toBeCloseTo(Math.max(...totals), 6)
  })
})

describe("plot within its limits (21.11, 21.12)", () => {
  it(
    "the largest chart allowed finishes in a few seconds and never holds the event loop (so Ctrl-C acts)",
    async () => {
      const p = read(["--wait", "expo", "--max-value", "30s"])
      let last = performance.now()
      let longest = 0
      const timer = setInterval(() => {
        const now = performance.now()
        longest = Math.max(longest, now - last)
        last = now
      }, 5)
      const started = performance.now()
      try {
        const drawn = await Effect.runPromise(chart(p, 20, MAX_WAITS / 20, 42))
        expect(drawn.rows).toHaveLength(20)
      } finally {
        clearInterval(timer)
      }
      expect(performance.now() - started).toBeLessThan(10_000)
      // a signal is handled between two turns of the event loop
      expect(longest).toBeLessThan(500)
    },
    30_000
  )

  it.live(
    "--tries × --samples above the limit exits 2 naming both; --tries 1000 --samples 2000 draws",
    () =>
      Effect.gen(function*() {
        const over = yield* runCli(["plot", "--tries", "1000", "--samples", "100000"])
        expect(over.code).toBe(2)
        expect(over.stderr).toContain("--tries × --samples must be at most 2,000,000, got 1000 × 100000")
        const started = Date.now()
        const most = yield* runCli(["plot", "--tries", "1000", "--samples", "2000", "--max-value", "30s"])
        expect(most.code).toBe(0)
        expect(Date.now() - started).toBeLessThan(15_000)
        const help = yield* runCli(["plot", "--help"])
        expect(help.stdout.replace(/\s+/g, " ")).toContain("--tries × --samples at most 2,000,000")
      }),
    60_000
  )
})

describe("plot --svg (22.5)", () => {
  it.live("into a missing folder: exit 1 (an I/O error, not a bad flag) with a message naming the file", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "effect-backoff-plot-"))
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
      const file = join(dir, "missing", "plot.svg")
      const { code, stderr, stdout } = yield* runCli(["plot", "--tries", "3", "--samples", "5", "--svg", file])
      expect(code).toBe(1)
      expect(stdout).toContain("effect-backoff plot:")
      expect(stderr).toContain(`effect-backoff plot: cannot write the SVG to ${file}: no such folder`)
    }))
})
