#!/usr/bin/env node
// The tail-latency and throttle figures: `pnpm bench:tail`. Not a test (real time, about
// 80 seconds, bounded: each phase has a fixed number of calls or a fixed duration).
//
// A loopback HTTP server (in this process) plays one of two scenarios; the client runs
// in its own process (bench/tail-worker.ts, the Node client through NodeHttpBackoff.layer):
//
// 1. "tail": every request answers after a latency drawn from a seeded PRNG (mulberry32,
//    reset to the same seed for each mode): log-normal around MEDIAN ms (σ = 0.15), and
//    for 5% of requests 20× that. The client sends CALLS calls at RATE per second with no
//    hedge, a fixed-delay hedge and a p95 hedge (Backoff.latencyQuantile(0.95)); the
//    figures are the client's p50, p99 and p99.9 latency and the extra load (requests the
//    server received ÷ calls made).
// 2. "capacity": the server accepts (200) at most 30% of the offered rate (a token bucket
//    refilled at 0.3 × the client's rate, 100 ms of burst) and answers 503 to the rest.
//    The client sends calls at a steady rate for a fixed time with and without an
//    AdaptiveThrottle (K = 2); the figure is the load the server receives per call made,
//    against the SRE book's K × accepts.
//
// Prints a table and pass/fail lines, and writes bench/results/tail.json.
//
//   node bench/tail.mjs [--rate=250] [--calls=4000] [--seed=7] [--only=no hedge,throttle]
import { spawn } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import * as http from "node:http"
import { createRequire } from "node:module"
import { cpus, loadavg } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const BENCH = dirname(fileURLToPath(import.meta.url))
const ROOT = join(BENCH, "..")
const option = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const num = (name, fallback) => Number(option(name) ?? fallback)

const SEED = num("seed", 7)
const MEDIAN = 10 // ms
const SIGMA = 0.15
const SLOW_SHARE = 0.05
const SLOW_FACTOR = 20
const ACCEPT_SHARE = 0.3
const K = 2
const PLAN = {
  seed: SEED,
  tail: {
    rate: num("rate", 150),
    warmup: 300,
    calls: num("calls", 3000),
    rounds: 6,
    fixedDelayMillis: 30,
    quantile: 0.95
  },
  throttle: { rate: 200, warmupMillis: 5000, measureMillis: 10_000, k: K, windowMillis: 10_000 }
}
// what the figures must show
const HEDGED_P99_AT_MOST = 0.5 // × the unhedged p99
const THROTTLE_TOLERANCE = 0.15 // throttled load within ±15% of K × accepts

const tsx = pathToFileURL(createRequire(join(ROOT, "package.json")).resolve("tsx")).href

const mulberry32 = (seed) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The server; `state` is what the client set through /__control and what was counted. */
const startServer = () =>
  new Promise((resolve) => {
    const state = {
      scenario: "tail",
      phase: "idle",
      random: mulberry32(SEED),
      // counted in the measured phase, per mode (the client names it; by default the scenario)
      mode: undefined,
      counts: {},
      // capacity scenario: a token bucket
      tokens: 0,
      refillPerMs: 0,
      burst: 0,
      last: 0
    }
    const latency = () => {
      // Box-Muller from two draws, then one draw for the slow tail
      const u1 = state.random() || 1e-12
      const u2 = state.random()
      const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
      const slow = state.random() < SLOW_SHARE
      return MEDIAN * Math.exp(SIGMA * z) * (slow ? SLOW_FACTOR : 1)
    }
    const server = http.createServer((req, res) => {
      req.resume()
      const u = new URL(req.url ?? "/", "http://x")
      if (u.pathname === "/__control") {
        const q = u.searchParams
        if (q.has("scenario")) {
          state.scenario = q.get("scenario")
          state.counts = {}
          const rate = Number(q.get("rate") ?? 0)
          state.refillPerMs = (ACCEPT_SHARE * rate) / 1000
          state.burst = Math.max(1, ACCEPT_SHARE * rate * 0.1)
          state.tokens = state.burst
          state.last = performance.now()
        }
        if (q.has("seed")) state.random = mulberry32(Number(q.get("seed")))
        if (q.has("mode")) state.mode = q.get("mode")
        if (q.has("phase")) state.phase = q.get("phase")
        res.end("ok")
        return
      }
      const counted = state.phase === "measure"
      const key = state.mode ?? state.scenario
      const count = state.counts[key] ??= { requests: 0, accepted: 0, aborted: 0 }
      if (counted) count.requests++
      if (state.scenario === "capacity") {
        const now = performance.now()
        state.tokens = Math.min(state.burst, state.tokens + (now - state.last) * state.refillPerMs)
        state.last = now
        if (state.tokens >= 1) {
          state.tokens -= 1
          if (counted) count.accepted++
          res.end("ok")
        } else {
          res.writeHead(503)
          res.end("overloaded")
        }
        return
      }
      const timer = setTimeout(() => {
        if (!res.destroyed) res.end("ok")
      }, latency())
      res.on("close", () => {
        if (!res.writableFinished) {
          clearTimeout(timer)
          if (counted) count.aborted++
        }
      })
    })
    server.keepAliveTimeout = 30_000
    server.listen(0, "127.0.0.1", () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        state,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })

/** Nearest rank: the smallest sample with at least q of the samples at or below it. */
const quantile = (sorted, q) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]

const main = async () => {
  const server = await startServer()
  const env = { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, "tsconfig.json") }
  if (option("only") !== undefined) env.TAIL_ONLY = option("only")
  const child = spawn(process.execPath, [
    "--import",
    tsx,
    join(BENCH, "tail-worker.ts"),
    server.url,
    JSON.stringify(PLAN)
  ], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
    env
  })
  const started = Date.now()
  const loadBefore = loadavg()
  const runs = []
  let buffer = ""
  // a mode's line arrives after its last call: the server's counts are read at once
  child.stdout.on("data", (d) => {
    buffer += d
    let nl
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      if (line.trim() === "") continue
      const r = JSON.parse(line)
      const { requests, accepted, aborted } = server.state.counts[r.mode] ?? { requests: 0, accepted: 0, aborted: 0 }
      if (r.latencies !== undefined) {
        const sorted = Float64Array.from(r.latencies).sort()
        runs.push({
          kind: "tail",
          mode: r.mode,
          calls: r.calls,
          requests,
          abortedLosers: aborted,
          load: requests / r.calls,
          p50: quantile(sorted, 0.5),
          p99: quantile(sorted, 0.99),
          p999: quantile(sorted, 0.999),
          max: sorted[sorted.length - 1]
        })
      } else {
        runs.push({
          kind: "throttle",
          mode: r.mode,
          calls: r.calls,
          rejectedLocally: r.throttled,
          requests,
          accepted,
          load: requests / r.calls,
          acceptsPerCall: accepted / r.calls,
          kTimesAccepts: (K * accepted) / r.calls
        })
      }
    }
  })
  const code = await new Promise((resolve) => child.on("close", resolve))
  await server.close()
  if (code !== 0) throw new Error(`tail-worker exited with ${code}`)
  const seconds = (Date.now() - started) / 1000

  const ms = (x) => `${x.toFixed(1)} ms`
  const tail = runs.filter((r) => r.kind === "tail")
  const throttle = runs.filter((r) => r.kind === "throttle")
  if (tail.length > 0) {
    console.log(
      `\nTail: ${PLAN.tail.calls} calls at ${PLAN.tail.rate}/s; latency log-normal around ${MEDIAN} ms, ${
        SLOW_SHARE * 100
      }% of requests ${SLOW_FACTOR}×`
    )
    console.log("| mode | p50 | p99 | p99.9 | max | requests / calls |")
    console.log("|---|---:|---:|---:|---:|---:|")
    for (const r of tail) {
      console.log(
        `| ${r.mode} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.p999)} | ${ms(r.max)} | ${r.load.toFixed(3)} |`
      )
    }
  }
  if (throttle.length > 0) {
    console.log(
      `\nThrottle: ${PLAN.throttle.rate} calls/s for ${PLAN.throttle.measureMillis / 1000} s (after ${
        PLAN.throttle.warmupMillis / 1000
      } s), the backend accepts ${ACCEPT_SHARE * 100}% of the offered rate; K = ${K}`
    )
    console.log("| mode | calls | rejected locally | backend requests | accepted | load / call | K × accepts / call |")
    console.log("|---|---:|---:|---:|---:|---:|---:|")
    for (const r of throttle) {
      console.log(
        `| ${r.mode} | ${r.calls} | ${r.rejectedLocally} | ${r.requests} | ${r.accepted} | ${r.load.toFixed(3)} | ${
          r.kTimesAccepts.toFixed(3)
        } |`
      )
    }
  }

  const checks = []
  const base = tail.find((r) => r.mode === "no hedge")
  for (const r of tail.filter((r) => r.mode !== "no hedge")) {
    if (base === undefined) break
    checks.push({
      check: `${r.mode}: p99 ${ms(r.p99)} at most ${HEDGED_P99_AT_MOST} × the unhedged p99 ${ms(base.p99)}`,
      pass: r.p99 <= HEDGED_P99_AT_MOST * base.p99
    })
    checks.push({
      check: `${r.mode}: extra load ${((r.load - 1) * 100).toFixed(1)}% at most 2 × the slow share + 5% (${
        (2 * SLOW_SHARE * 100 + 5).toFixed(0)
      }%)`,
      pass: r.load - 1 <= 2 * SLOW_SHARE + 0.05
    })
  }
  if (base !== undefined) {
    checks.push({ check: `no hedge: one request per call (${base.load.toFixed(3)})`, pass: base.load === 1 })
  }
  const free = throttle.find((r) => r.mode === "no throttle")
  const held = throttle.find((r) => r.mode === "throttle")
  if (free !== undefined) {
    checks.push({
      check: `no throttle: the backend receives every call (${free.load.toFixed(3)} per call)`,
      pass: free.load === 1
    })
  }
  if (held !== undefined) {
    const target = held.kTimesAccepts
    checks.push({
      check: `throttle: load ${held.load.toFixed(3)} per call within ±${THROTTLE_TOLERANCE * 100}% of K × accepts ${
        target.toFixed(3)
      }`,
      pass: Math.abs(held.load - target) <= THROTTLE_TOLERANCE * target
    })
    if (free !== undefined) {
      checks.push({
        check: `throttle: accepts kept (${held.acceptsPerCall.toFixed(3)} per call, without ${
          free.acceptsPerCall.toFixed(3)
        }, within 10%)`,
        pass: held.acceptsPerCall >= 0.9 * free.acceptsPerCall
      })
    }
  }
  console.log("")
  for (const c of checks) console.log(`${c.pass ? "pass" : "FAIL"}: ${c.check}`)
  console.log(
    `\n${seconds.toFixed(0)} s; load average ${loadBefore[0].toFixed(1)} -> ${
      loadavg()[0].toFixed(1)
    } on ${cpus().length} cores`
  )

  const out = {
    date: new Date().toISOString(),
    node: process.version,
    cores: cpus().length,
    loadavgBefore: loadBefore,
    loadavgAfter: loadavg(),
    seconds,
    server: {
      medianMillis: MEDIAN,
      sigma: SIGMA,
      slowShare: SLOW_SHARE,
      slowFactor: SLOW_FACTOR,
      acceptShare: ACCEPT_SHARE
    },
    plan: PLAN,
    runs,
    checks
  }
  mkdirSync(join(BENCH, "results"), { recursive: true })
  writeFileSync(join(BENCH, "results", "tail.json"), `${JSON.stringify(out, null, 2)}\n`)
  console.log("wrote bench/results/tail.json")
  if (checks.some((c) => !c.pass)) process.exitCode = 1
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
