#!/usr/bin/env node
// effect-backoff benchmarks: `pnpm bench` (full, under 10 minutes on 2 cores) or
// `pnpm bench --quick` (under 2 minutes). See docs/performance.md.
//
//   node bench/run.mjs [--quick] [--only=success,retryVirtual,...] [--no-build]
//
// 1. Compiles @effect-backoff/core from packages/core/src with its own tsconfig.build.json
//    into bench/node_modules/.cache/core (a snapshot private to this run: edits to the
//    source or a clean of packages/core/dist during the run change nothing), so every
//    worker imports compiled JavaScript with plain `node`, no loader in the way.
//    `--no-build` reuses the last snapshot.
// 2. For each scenario, runs every implementation in its own fresh Node process
//    (bench/worker.mjs), several processes each, rounds interleaved (A B C, B C A, ...),
//    one process at a time. Each process warms up, then takes samples; its value is the
//    median of its samples, and the reported value is the median across processes.
// 3. Checks that every implementation did the same work (calls, sleeps, virtual time),
//    prints a table and writes bench/results/latest.json.
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { connect, createServer } from "node:net"
import { cpus, loadavg } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const BENCH = dirname(fileURLToPath(import.meta.url))
const ROOT = join(BENCH, "..")
const argv = process.argv.slice(2)
const quick = argv.includes("--quick")
const noBuild = argv.includes("--no-build")
const only = argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",")

const EFFECT = ["ours", "ours+handlers", "effect-loop", "effect-raw"]
const PEERS = ["p-retry", "cockatiel", "exponential-backoff", "async-retry", "await"]
// processes per implementation: the ratio scenarios get more; --quick runs the
// real-timer scenarios once per implementation
// policies as Schedules: the same policy through Backoff.retry, Effect.retry, and an
// Effect combinator on top (slow path)
const POLICY = ["ours-schedule", "effect-ours", "ours-intersect"]
const GROUPS = [
  { scenario: "success", impls: [...EFFECT, ...POLICY, ...PEERS], processes: quick ? 2 : 3 },
  { scenario: "retryVirtual", impls: [...EFFECT, ...POLICY], processes: quick ? 2 : 4 },
  { scenario: "retryReal1ms", impls: [...EFFECT, ...PEERS], processes: quick ? 1 : 3 },
  { scenario: "retryReal0ms", impls: [...EFFECT, ...PEERS], processes: quick ? 1 : 3 },
  { scenario: "heap", impls: EFFECT, processes: quick ? 2 : 3 },
  // p-retry and async-retry have no full jitter (their `randomize` multiplies by [1, 2])
  {
    scenario: "scaleReal",
    impls: ["ours", "effect-loop", "effect-raw", "cockatiel", "exponential-backoff", "await"],
    processes: quick ? 1 : 3
  },
  // retry budgets: the same policy with and without one, in the same run
  { scenario: "budgetSuccess", impls: ["ours", "ours+budget", "ours+redis"], processes: quick ? 2 : 3 },
  { scenario: "budgetRetry", impls: ["ours", "ours+budget"], processes: quick ? 2 : 3 },
  { scenario: "budgetRetryRedis", impls: ["ours", "ours+redis"], processes: quick ? 1 : 3 },
  // circuit breakers: closed on the success path (in the loop, and around the bare call),
  // and a rejection against a bare Effect.fail
  { scenario: "breakerSuccess", impls: ["ours", "ours+breaker"], processes: quick ? 2 : 3 },
  { scenario: "breakerCall", impls: ["bare", "bare+breaker"], processes: quick ? 2 : 3 },
  { scenario: "breakerReject", impls: ["fail", "breaker-reject"], processes: quick ? 2 : 3 }
].filter((g) => only === undefined || only.includes(g.scenario))

const METRICS = {
  success: { unit: "ns/op", kind: "ns", title: "1. success path, per call" },
  retryVirtual: { unit: "ns/retry", kind: "ns", title: "2. retry on virtual time (fails 9x, 1 ms waits), per retry" },
  retryReal1msCpu: {
    unit: "ns CPU/retry",
    kind: "ns",
    title: "3a. real timers, fails 3x with 1 ms waits: CPU per retry"
  },
  retryReal1msWall: {
    unit: "ns/op",
    kind: "ns",
    title: "3a. real timers, fails 3x with 1 ms waits: wall time per operation"
  },
  retryReal0msCpu: { unit: "ns CPU/retry", kind: "ns", title: "3b. real timers, fails 3x with 0 waits: CPU per retry" },
  retryReal0msWall: {
    unit: "ns/op",
    kind: "ns",
    title: "3b. real timers, fails 3x with 0 waits: wall time per operation"
  },
  heapPerInflight: {
    unit: "bytes/op",
    kind: "bytes",
    title: "4a. 100,000 operations parked in a 60 s virtual wait: heap per in-flight operation"
  },
  scaleRealLoopDelayP99: {
    unit: "ns",
    kind: "ns",
    title: "4b. 10,000 concurrent operations on real timers, full jitter: event-loop delay p99"
  },
  scaleRealPeakRss: {
    unit: "bytes",
    kind: "bytes",
    title: "4b. 10,000 concurrent operations on real timers: peak RSS of the process"
  },
  scaleRealCpu: {
    unit: "ns CPU/retry",
    kind: "ns",
    title: "4b. 10,000 concurrent operations on real timers: CPU per retry"
  },
  scaleRealWall: {
    unit: "ns",
    kind: "ns",
    title: "4b. 10,000 concurrent operations on real timers: wall time of the batch"
  },
  budgetSuccess: {
    unit: "ns/op",
    kind: "ns",
    title: "5a. retry budget: success path, per call (ours vs ours+budget vs ours+redis)"
  },
  budgetRetry: {
    unit: "ns/retry",
    kind: "ns",
    title: "5b. retry budget in memory: retry on virtual time (fails 9x, 1 ms waits), per retry"
  },
  budgetRetryRedisCpu: {
    unit: "ns CPU/retry",
    kind: "ns",
    title: "5c. Redis budget on loopback, fails 3x with 0 waits: CPU per retry"
  },
  breakerSuccess: {
    unit: "ns/op",
    kind: "ns",
    title: "6a. circuit breaker, closed: success path of the retry loop, per call (ours vs ours+breaker)"
  },
  breakerCall: {
    unit: "ns/op",
    kind: "ns",
    title: "6b. circuit breaker, closed: the bare call vs breaker.execute(call), per call"
  },
  breakerReject: {
    unit: "ns/op",
    kind: "ns",
    title: "6c. circuit breaker, isolated: a rejection vs a bare Effect.fail, per call (both under Effect.either)"
  },
  budgetRetryRedisWall: {
    unit: "ns/retry",
    kind: "ns",
    title: "5c. Redis budget on loopback, fails 3x with 0 waits: wall time per retry (the round trip)"
  }
}

/** ours ÷ effect-raw must be ≤ 1.0 on these (the others are reported, timer-bound). */
const RAW_TARGETS = [
  "success",
  "retryVirtual",
  "heapPerInflight",
  "retryReal1msCpu",
  "retryReal0msCpu",
  "retryReal0msWall",
  "scaleRealCpu"
]

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const die = (message) => {
  process.stderr.write(`\nbench: ${message}\n`)
  process.exit(1)
}

// ------------------------------------------------------------------------------------------
// 1. Build the core package.
// ------------------------------------------------------------------------------------------
const started = Date.now()
const CORE = join(BENCH, "node_modules", ".cache", "core")
if (!noBuild) {
  process.stdout.write("compiling @effect-backoff/core (tsc -p packages/core/tsconfig.build.json) ... ")
  rmSync(CORE, { recursive: true, force: true })
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc")
  const build = spawnSync(
    process.execPath,
    [
      tsc,
      "-p",
      join(ROOT, "packages/core/tsconfig.build.json"),
      "--outDir",
      CORE,
      "--declaration",
      "false",
      "--declarationMap",
      "false",
      "--sourceMap",
      "false"
    ],
    { cwd: ROOT, encoding: "utf8" }
  )
  if (build.status !== 0) {
    process.stdout.write("type errors (JavaScript emitted anyway):\n")
    process.stdout.write(build.stdout + build.stderr)
  } else {
    process.stdout.write("done\n")
  }
}
if (!existsSync(join(CORE, "index.js"))) die(`${join(CORE, "index.js")} is missing: run without --no-build`)

// ------------------------------------------------------------------------------------------
// 2. Run the workers.
// ------------------------------------------------------------------------------------------
// ours+redis loads RedisRetryBudget from the platform-node sources through tsx (its core
// import resolves to the sources; the retry loop is the snapshot's, as for `ours`)
const TSX = pathToFileURL(createRequire(join(ROOT, "package.json")).resolve("tsx")).href
const runWorker = (scenario, impl) =>
  new Promise((resolve) => {
    const redis = impl === "ours+redis"
    const child = spawn(
      process.execPath,
      [
        ...(redis ? ["--import", TSX] : []),
        "--expose-gc",
        "--max-old-space-size=4096",
        join(BENCH, "worker.mjs"),
        "--scenario",
        scenario,
        "--impl",
        impl,
        ...(quick ? ["--quick"] : [])
      ],
      {
        cwd: BENCH,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          EFFECT_BACKOFF_CORE: pathToFileURL(join(CORE, "index.js")).href,
          ...(redis
            ? {
              EFFECT_BACKOFF_REDIS_MODULE:
                pathToFileURL(join(ROOT, "packages/platform-node/src/RedisRetryBudget.ts")).href,
              EFFECT_BACKOFF_REDIS_URL: redisServer?.url ?? "",
              TSX_TSCONFIG_PATH: join(ROOT, "tsconfig.json")
            }
            : {})
        }
      }
    )
    let out = ""
    let err = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (err += d))
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "))
      if (code !== 0 || line === undefined) die(`${scenario} / ${impl} failed (exit ${code}):\n${err}${out}`)
      resolve(JSON.parse(line.slice("RESULT ".length)))
    })
  })

// a loopback redis-server (persistence off) for the ours+redis processes
const startRedis = async () => {
  const binary = existsSync("/usr/bin/redis-server")
    ? "/usr/bin/redis-server"
    : spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).stdout?.trim()
  if (!binary) die("the Redis budget scenarios need a redis-server binary (Debian: apt-get install redis-server)")
  const port = await new Promise((resolve) => {
    const s = createServer()
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port
      s.close(() => resolve(p))
    })
  })
  const child = spawn(binary, ["--save", "", "--appendonly", "no", "--port", String(port), "--bind", "127.0.0.1"], {
    stdio: "ignore"
  })
  const ping = () =>
    new Promise((resolve) => {
      const socket = connect(port, "127.0.0.1")
      const done = (ok) => {
        socket.destroy()
        resolve(ok)
      }
      socket.setTimeout(200, () => done(false))
      socket.on("error", () => done(false))
      socket.on("connect", () => socket.write("PING\r\n"))
      socket.on("data", (d) => done(d.toString().startsWith("+PONG")))
    })
  for (let i = 0; i < 200 && !(await ping()); i++) await new Promise((r) => setTimeout(r, 10))
  child.unref() // run.mjs exits when its work is done; the "exit" handler stops the server
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill("SIGTERM") }
}
const redisServer = GROUPS.some((g) => g.impls.includes("ours+redis")) ? await startRedis() : undefined
process.on("exit", () => redisServer?.stop())

const values = {} // metric -> impl -> per-process values
const workerSeconds = { wall: 0, cpu: 0 }
const work = {} // scenario -> impl -> work per operation
const loadBefore = loadavg()
for (const group of GROUPS) {
  const t0 = Date.now()
  process.stdout.write(`${group.scenario}: `)
  for (let round = 0; round < group.processes; round++) {
    // interleave: each round starts one implementation later
    const order = group.impls.map((_, i) => group.impls[(i + round) % group.impls.length])
    for (const impl of order) {
      const r = await runWorker(group.scenario, impl)
      for (const [metric, value] of Object.entries(r.metrics)) {
        ;((values[metric] ??= {})[impl] ??= []).push(value)
      }
      const seen = (work[group.scenario] ??= {})[impl]
      const same = (a, b) => a.calls === b.calls && a.sleeps === b.sleeps && a.virtualMs === b.virtualMs
      if (seen !== undefined && !same(seen, r.work)) {
        die(
          `${group.scenario} / ${impl}: processes did different work: ${JSON.stringify(seen)} vs ${
            JSON.stringify(r.work)
          }`
        )
      }
      work[group.scenario][impl] = r.work
      workerSeconds.wall += r.process.wallSeconds
      workerSeconds.cpu += r.process.cpuSeconds
      process.stdout.write(".")
    }
  }
  // both sides did the same work: every implementation made the same calls and the same
  // sleeps (Effect: seen by the clock, with the same total duration; Promise: timers armed).
  // The one allowed difference: peers that arm a setTimeout(0) for a zero wait.
  const reference = work[group.scenario].ours ?? work[group.scenario][group.impls[0]]
  for (const impl of group.impls) {
    const w = work[group.scenario][impl]
    if (w.calls !== reference.calls) {
      die(`${group.scenario}: ${impl} made ${w.calls} calls per operation, ours ${reference.calls}`)
    }
    const timerOnZeroWait = group.scenario === "retryReal0ms" &&
      ["cockatiel", "exponential-backoff", "async-retry"].includes(impl)
    if (!timerOnZeroWait && w.sleeps !== reference.sleeps) {
      die(`${group.scenario}: ${impl} slept ${w.sleeps} times per operation, ours ${reference.sleeps}`)
    }
    if (w.virtualMs !== null && w.virtualMs !== reference.virtualMs) {
      die(`${group.scenario}: ${impl} slept ${w.virtualMs} ms per operation, ours ${reference.virtualMs}`)
    }
  }
  process.stdout.write(` ${((Date.now() - t0) / 1000).toFixed(0)} s\n`)
}

// ------------------------------------------------------------------------------------------
// 3. Aggregate, check, print, write.
// ------------------------------------------------------------------------------------------
const scenarios = {}
for (const [metric, byImpl] of Object.entries(values)) {
  scenarios[metric] = {}
  for (const [impl, xs] of Object.entries(byImpl)) scenarios[metric][impl] = median(xs)
}
const ratio = (metric, baseline, impl = "ours") => {
  const s = scenarios[metric]
  return s?.[impl] !== undefined && s?.[baseline] !== undefined ? s[impl] / s[baseline] : null
}
const ratios = {
  success: ratio("success", "effect-raw"),
  retryVirtual: ratio("retryVirtual", "effect-raw"),
  heapPerInflight: ratio("heapPerInflight", "effect-raw"),
  successVsLoop: ratio("success", "effect-loop"),
  retryVsLoop: ratio("retryVirtual", "effect-loop"),
  heapVsLoop: ratio("heapPerInflight", "effect-loop"),
  // policies as Schedules (issue: the policy is a Schedule)
  scheduleSuccessVsOptions: ratio("success", "ours", "ours-schedule"),
  scheduleRetryVsOptions: ratio("retryVirtual", "ours", "ours-schedule"),
  effectRetryOursVsRaw: ratio("retryVirtual", "effect-raw", "effect-ours"),
  effectSuccessOursVsRaw: ratio("success", "effect-raw", "effect-ours"),
  intersectRetryVsSchedule: ratio("retryVirtual", "ours-schedule", "ours-intersect"),
  intersectSuccessVsSchedule: ratio("success", "ours-schedule", "ours-intersect")
}
const vs = (metric, impl, baseline = "ours") => {
  const s = scenarios[metric]
  return s?.[impl] !== undefined && s?.[baseline] !== undefined ? s[impl] / s[baseline] : null
}
ratios.budgetSuccess = vs("budgetSuccess", "ours+budget")
ratios.budgetRetry = vs("budgetRetry", "ours+budget")
ratios.redisBudgetSuccess = vs("budgetSuccess", "ours+redis")
ratios.breakerSuccess = vs("breakerSuccess", "ours+breaker")
ratios.breakerCall = vs("breakerCall", "bare+breaker", "bare")
ratios.breakerReject = vs("breakerReject", "breaker-reject", "fail")
const redisRoundTrip =
  scenarios.budgetRetryRedisWall?.["ours+redis"] !== undefined && scenarios.budgetRetryRedisWall?.ours !== undefined
    ? scenarios.budgetRetryRedisWall["ours+redis"] - scenarios.budgetRetryRedisWall.ours
    : null
const targets = [
  ...RAW_TARGETS.filter((m) => scenarios[m] !== undefined).map((m) => ({
    target: `${m}: ours <= 1.0x effect-raw`,
    ratio: ratio(m, "effect-raw"),
    limit: 1
  })),
  { target: "success: ours <= 3x effect-loop", ratio: ratios.successVsLoop, limit: 3 },
  { target: "retryVirtual: ours <= 2x effect-loop", ratio: ratios.retryVsLoop, limit: 2 },
  { target: "heapPerInflight: ours <= 1.2x effect-loop", ratio: ratios.heapVsLoop, limit: 1.2 },
  { target: "success: Backoff.retry(policy) <= 1.2x onException", ratio: ratios.scheduleSuccessVsOptions, limit: 1.2 },
  {
    target: "retryVirtual: Backoff.retry(policy) <= 1.2x onException",
    ratio: ratios.scheduleRetryVsOptions,
    limit: 1.2
  },
  {
    target: "retryVirtual: Effect.retry(our policy) <= 1.0x Effect.retry(Effect's)",
    ratio: ratios.effectRetryOursVsRaw,
    limit: 1
  },
  { target: "budgetSuccess: ours+budget <= 1.1x ours", ratio: ratios.budgetSuccess, limit: 1.1 },
  { target: "budgetRetry: ours+budget <= 1.2x ours", ratio: ratios.budgetRetry, limit: 1.2 },
  { target: "budgetSuccess: ours+redis <= 1.2x ours", ratio: ratios.redisBudgetSuccess, limit: 1.2 },
  { target: "breakerSuccess: ours+breaker <= 1.1x ours", ratio: ratios.breakerSuccess, limit: 1.1 }
].filter((t) => t.ratio !== null).map((t) => ({ ...t, met: t.ratio <= t.limit }))

const fmt = (kind, v) => {
  if (kind === "bytes") return v >= 1 << 20 ? `${(v / (1 << 20)).toFixed(1)} MB` : `${v.toFixed(0)} B`
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} ms`
  if (v >= 1e3) return `${(v / 1e3).toFixed(2)} µs`
  return `${v.toFixed(0)} ns`
}
const pad = (s, n) => String(s).padEnd(n)
const lpad = (s, n) => String(s).padStart(n)
let table = ""
for (const [metric, byImpl] of Object.entries(scenarios)) {
  const { kind, title, unit } = METRICS[metric]
  table += `\n${title} [${unit}]\n`
  table += `  ${pad("implementation", 22)}${lpad("median", 11)}${lpad("min", 11)}${lpad("max", 11)}${
    lpad("x loop", 9)
  }${lpad("x raw", 9)}\n`
  for (const [impl, v] of Object.entries(byImpl)) {
    const xs = values[metric][impl]
    const vsLoop = byImpl["effect-loop"] ? (v / byImpl["effect-loop"]).toFixed(2) : ""
    const vsRaw = byImpl["effect-raw"] ? (v / byImpl["effect-raw"]).toFixed(2) : ""
    table += `  ${pad(impl, 22)}${lpad(fmt(kind, v), 11)}${lpad(fmt(kind, Math.min(...xs)), 11)}${
      lpad(fmt(kind, Math.max(...xs)), 11)
    }${lpad(vsLoop, 9)}${lpad(vsRaw, 9)}\n`
  }
}
table += "\nratios (ours / baseline, medians of this run)\n"
for (const [k, v] of Object.entries(ratios)) table += `  ${pad(k, 18)}${v === null ? "n/a" : v.toFixed(3)}\n`
if (redisRoundTrip !== null) {
  table += `  ${pad("redis round trip", 18)}${fmt("ns", redisRoundTrip)} per retry (wall, ours+redis − ours)\n`
}
table += "\ntargets\n"
for (const t of targets) table += `  ${t.met ? "met   " : "MISSED"} ${pad(t.target, 48)}${t.ratio.toFixed(3)}\n`
process.stdout.write(table)

const version = (pkg) => {
  try {
    const dir = realpathSync(join(BENCH, "node_modules", pkg))
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version
  } catch {
    return null
  }
}
const git = (...a) => spawnSync("git", a, { cwd: ROOT, encoding: "utf8" }).stdout?.trim() || null
const result = {
  generatedAt: new Date().toISOString(),
  quick,
  durationSeconds: Math.round((Date.now() - started) / 1000),
  // wall and CPU seconds of all worker processes: on a busy machine the CPU seconds tell
  // how long the run would take on an idle one
  workerSeconds: { wall: Math.round(workerSeconds.wall), cpu: Math.round(workerSeconds.cpu) },
  environment: {
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? "unknown"}`,
    loadavgBefore: loadBefore,
    loadavgAfter: loadavg()
  },
  packages: {
    "@effect-backoff/core": {
      version: JSON.parse(readFileSync(join(ROOT, "packages/core/package.json"), "utf8")).version,
      commit: git("rev-parse", "HEAD"),
      uncommittedChanges: (git("status", "--porcelain", "packages/core/src") ?? "") !== ""
    },
    effect: version("effect"),
    "p-retry": version("p-retry"),
    cockatiel: version("cockatiel"),
    "exponential-backoff": version("exponential-backoff"),
    "async-retry": version("async-retry")
  },
  method: {
    processesPerImplementation: Object.fromEntries(GROUPS.map((g) => [g.scenario, g.processes])),
    value: "median across processes of each process's median sample",
    quick
  },
  units: Object.fromEntries(Object.keys(scenarios).map((m) => [m, METRICS[m].unit])),
  scenarios,
  processes: values,
  work,
  ratios,
  redisRoundTripPerRetryNs: redisRoundTrip,
  targets
}
mkdirSync(join(BENCH, "results"), { recursive: true })
writeFileSync(join(BENCH, "results", "latest.json"), JSON.stringify(result, null, 2) + "\n")
process.stdout.write(
  `\nwrote bench/results/latest.json (${result.durationSeconds} s; workers ${result.workerSeconds.wall} s wall, ${result.workerSeconds.cpu} s CPU; load ${
    loadBefore[0].toFixed(1)
  } -> ${loadavg()[0].toFixed(1)})\n`
)
