// One implementation, one scenario, one fresh process. Started by run.mjs:
//   node --expose-gc bench/worker.mjs --scenario <name> --impl <name> [--quick]
// Prints one line `RESULT {json}` with the per-process value(s) and the work done per
// operation (calls, sleeps, virtual time, timers). Every batch checks its own work against
// the scenario's expectation and the process exits non-zero on any mismatch.
import { monitorEventLoopDelay } from "node:perf_hooks"
import { parseArgs } from "node:util"

const { values: args } = parseArgs({
  options: {
    scenario: { type: "string" },
    impl: { type: "string" },
    quick: { type: "boolean", default: false }
  }
})
const scenarioName = args.scenario
const impl = args.impl
const quick = args.quick

if (typeof globalThis.gc !== "function") throw new Error("run the worker with node --expose-gc")
const gc = () => {
  globalThis.gc()
  globalThis.gc()
}

// Count the timers every side arms (Effect's clock, the peers and the floor all call the
// global setTimeout at the time they sleep). Installed before any library is imported.
let timers = 0
const realSetTimeout = globalThis.setTimeout
globalThis.setTimeout = function countedSetTimeout(...a) {
  timers++
  return realSetTimeout(...a)
}

const EFFECT = [
  "ours",
  "ours+handlers",
  "effect-loop",
  "effect-raw",
  "ours-schedule",
  "effect-ours",
  "ours-intersect",
  "ours+budget",
  "ours+redis",
  "ours+breaker",
  "bare",
  "bare+breaker",
  "fail",
  "breaker-reject"
]
const isEffect = EFFECT.includes(impl)

/**
 * A full GC, then a pause: V8 sweeps and frees concurrently after a GC, on other threads
 * whose CPU time process.cpuUsage() counts, so a sample starting at once would pay for it.
 */
const settle = async () => {
  gc()
  await new Promise((resolve) => realSetTimeout(resolve, 20))
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const fail = (message) => {
  process.stderr.write(`WORK CHECK FAILED [${scenarioName} / ${impl}]: ${message}\n`)
  process.exit(2)
}

const expectEqual = (what, actual, expected) => {
  if (actual !== expected) fail(`${what}: expected ${expected}, got ${actual}`)
}

// ---------------------------------------------------------------------------------------
// Scenario definitions. `callsPerOp` is the number of calls of the operation in one run,
// `retriesPerOp` the retries (= sleeps) in it; every side must match both exactly.
// ---------------------------------------------------------------------------------------
const SCENARIOS = {
  success: {
    policy: { maxTries: 10, waitMillis: 1, growth: "constant", jitter: "none" },
    callsPerOp: 1,
    clock: "instant"
  },
  retryVirtual: {
    policy: { maxTries: 10, waitMillis: 1, growth: "constant", jitter: "none" },
    callsPerOp: 10,
    clock: "instant"
  },
  retryReal1ms: {
    policy: { maxTries: 10, waitMillis: 1, growth: "constant", jitter: "none" },
    callsPerOp: 4,
    clock: "real"
  },
  retryReal0ms: {
    policy: { maxTries: 10, waitMillis: 0, growth: "constant", jitter: "none" },
    callsPerOp: 4,
    clock: "real"
  },
  heap: {
    policy: { maxTries: 10, waitMillis: 60_000, growth: "constant", jitter: "none" },
    callsPerOp: 2,
    clock: "parking"
  },
  scaleReal: { policy: { maxTries: 10, waitMillis: 10, growth: "expo", jitter: "full" }, callsPerOp: 4, clock: "real" },
  // retry budgets: the same policies with and without one (ours vs ours+budget / ours+redis)
  budgetSuccess: {
    policy: { maxTries: 10, waitMillis: 1, growth: "constant", jitter: "none" },
    callsPerOp: 1,
    clock: "instant"
  },
  budgetRetry: {
    policy: { maxTries: 10, waitMillis: 1, growth: "constant", jitter: "none" },
    callsPerOp: 10,
    clock: "instant"
  },
  // circuit breakers: the success path through a closed breaker (in the retry loop, and
  // breaker.execute around the bare call), and a rejection against a bare Effect.fail
  breakerSuccess: {
    policy: { maxTries: 10, waitMillis: 1, growth: "constant", jitter: "none" },
    callsPerOp: 1,
    clock: "instant"
  },
  breakerCall: {
    policy: { maxTries: 10, waitMillis: 1, growth: "constant", jitter: "none" },
    callsPerOp: 1,
    clock: "instant"
  },
  breakerReject: {
    policy: { maxTries: 10, waitMillis: 1, growth: "constant", jitter: "none" },
    callsPerOp: 0,
    clock: "instant"
  },
  // fails 3 times with zero waits: each retry of ours+redis is one round trip to Redis; on
  // the real clock, since the round trip's timeout is a sleep on the fiber's Clock
  budgetRetryRedis: {
    policy: { maxTries: 10, waitMillis: 0, growth: "constant", jitter: "none" },
    callsPerOp: 4,
    clock: "real"
  }
}
const successLike = ["success", "budgetSuccess", "breakerSuccess", "breakerCall", "breakerReject"].includes(
  scenarioName
)
const scenario = SCENARIOS[scenarioName]
if (scenario === undefined) throw new Error(`unknown scenario ${scenarioName}`)
const { policy, callsPerOp } = scenario
const retriesPerOp = Math.max(0, callsPerOp - 1)

// Effect's runtime needs ~100,000 operations before the JIT settles. The batch size doubles
// until one batch lasts minBatchMs (150 ms on 1 ms timers), then warm-up goes on with it.
// Warm-up lasts at least warmupMs and warmupUnits (retries, or calls on the success path),
// at most warmupCapMs (the slowest implementations never reach warmupUnits).
const timers1ms = scenario.clock === "real" && policy.waitMillis > 0
const timing = quick
  ? {
    warmupMs: 300,
    warmupUnits: timers1ms ? 0 : 50_000,
    warmupCapMs: 800,
    samples: 5,
    minBatchMs: timers1ms ? 60 : 15
  }
  : {
    warmupMs: 600,
    warmupUnits: timers1ms ? 0 : 300_000,
    warmupCapMs: 2_000,
    samples: timers1ms ? 7 : 9,
    minBatchMs: timers1ms ? 150 : 30
  }

const error = new Error("transient")
let calls = 0
let sink = 0

// ---------------------------------------------------------------------------------------
// Effect side
// ---------------------------------------------------------------------------------------
const runEffect = async () => {
  const { Effect, Fiber } = await import("effect")
  const { CountingClock, InstantClock, ParkingClock } = await import("./lib/clocks.mjs")
  const { makeEffectImpl } = await import("./lib/effect-impls.mjs")

  const failure = Effect.fail(error)
  const success = Effect.succeed(1)

  if (scenarioName === "heap") {
    let released = false
    const op = Effect.suspend(() => {
      calls++
      return released ? success : failure
    })
    const retried = makeEffectImpl(impl, op, policy)
    const round = (n) =>
      Effect.gen(function*() {
        const clock = new ParkingClock()
        released = false
        const items = new Array(n).fill(0)
        const calls0 = calls
        gc()
        const before = process.memoryUsage().heapUsed
        const fiber = yield* Effect.fork(
          Effect.withClock(Effect.forEach(items, () => retried, { concurrency: "unbounded", discard: true }), clock)
        )
        while (clock.parked.length < n) yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
        gc()
        const during = process.memoryUsage().heapUsed
        expectEqual("parked operations", clock.parked.length, n)
        expectEqual("calls before the wait", calls - calls0, n)
        released = true
        clock.release(policy.waitMillis)
        yield* Fiber.join(fiber)
        expectEqual("calls", calls - calls0, n * callsPerOp)
        expectEqual("sleeps", clock.sleeps, n * retriesPerOp)
        expectEqual("virtual ms slept", clock.requested, n * retriesPerOp * policy.waitMillis)
        return (during - before) / n
      })
    // --quick parks 20,000 (the heap per operation hardly depends on the count; parking
    // 100,000 fibers costs seconds of GC per process)
    const n = quick ? 20_000 : 100_000
    const bytes = await Effect.runPromise(Effect.gen(function*() {
      yield* round(5_000) // warm-up: compile and allocate the shared structures first
      return yield* round(n)
    }))
    return {
      metrics: { heapPerInflight: bytes },
      work: { calls: callsPerOp, sleeps: retriesPerOp, virtualMs: retriesPerOp * policy.waitMillis, timers: 0 },
      ops: n
    }
  }

  if (scenarioName === "scaleReal") {
    // fails 3 times, then succeeds: each run is its own fiber (forEach, unbounded), so the
    // per-run count is kept per fiber (a FiberRef would copy the fiber's refs on each update)
    const tries = new WeakMap()
    const op = Effect.withFiberRuntime((fiber) => {
      const k = tries.get(fiber) ?? 0
      tries.set(fiber, k + 1)
      calls++
      return k < retriesPerOp ? failure : success
    })
    const job = makeEffectImpl(impl, op, policy)
    return scaleReal((n) =>
      Effect.runPromise(Effect.withClock(
        Effect.forEach(new Array(n).fill(0), () => job, { concurrency: "unbounded", discard: true }),
        clockReal
      ))
    )
  }

  const realClock = new CountingClock()
  const clock = scenario.clock === "instant" ? new InstantClock() : realClock
  const op = successLike
    ? Effect.sync(() => ++calls)
    : Effect.suspend(() => (++calls % callsPerOp === 0 ? success : failure))
  // budgets: a reserve so large that every retry is granted, so every side does the same
  // work (the cost of a granted withdrawal does not depend on where its token came from)
  const budgetOptions = { percentCanRetry: 0.2, ttl: "10 seconds", minRetriesPerSecond: 1_000_000 }
  let budget
  if (impl === "ours+budget") {
    const { RetryBudget } = await import(process.env.EFFECT_BACKOFF_CORE ?? "@effect-backoff/core")
    budget = Effect.runSync(RetryBudget.make(budgetOptions))
  } else if (impl === "ours+redis") {
    const { Exit, Scope } = await import("effect")
    const RedisRetryBudget = await import(process.env.EFFECT_BACKOFF_REDIS_MODULE)
    const scope = Effect.runSync(Scope.make())
    closeBudget = () => Effect.runPromise(Scope.close(scope, Exit.void))
    budget = await Effect.runPromise(Scope.extend(
      RedisRetryBudget.make({
        redis: process.env.EFFECT_BACKOFF_REDIS_URL,
        key: `bench:${process.pid}`,
        ...budgetOptions
      }),
      scope
    ))
  }
  let breaker
  if (["ours+breaker", "bare+breaker", "breaker-reject"].includes(impl)) {
    const { CircuitBreaker } = await import(process.env.EFFECT_BACKOFF_CORE ?? "@effect-backoff/core")
    breaker = Effect.runSync(CircuitBreaker.make())
    // isolated: every call is rejected (OpenError), the effect never runs
    if (impl === "breaker-reject") Effect.runSync(breaker.isolate)
  }
  const retried = makeEffectImpl(impl, op, {
    ...policy,
    ...(budget === undefined ? {} : { budget }),
    ...(breaker === undefined ? {} : { breaker })
  })
  const batch = (n) =>
    Effect.suspend(() => {
      let i = 0
      return Effect.whileLoop({
        while: () => i < n,
        body: () => retried,
        step: (a) => {
          i++
          sink += a
        }
      })
    })
  const sleeps = () => clock.sleeps
  const virtual = () => (clock instanceof InstantClock ? clock.now : realClock.slept)
  // each batch is one Effect.runPromise running the retried effect n times (n >= 1,000 after
  // calibration, except on 1 ms real timers), so runtime start-up is not what is measured
  return measure({
    run: (n) => Effect.runPromise(Effect.withClock(batch(n), clock)),
    sleeps,
    virtual
  })
}

// scaleReal needs the real clock for the Effect side: defined at module level for reuse
let clockReal
// ours+redis: closes the Redis budget's scope (its flush fiber and client) at the end
let closeBudget

// ---------------------------------------------------------------------------------------
// Promise side
// ---------------------------------------------------------------------------------------
const runPeer = async () => {
  const { makePeerImpl } = await import("./lib/peer-impls.mjs")
  if (scenarioName === "scaleReal") {
    const fnFor = () => {
      let k = 0
      return () => {
        calls++
        return k++ < retriesPerOp ? Promise.reject(error) : Promise.resolve(1)
      }
    }
    return scaleReal((n) => {
      const jobs = []
      for (let i = 0; i < n; i++) jobs.push(makePeerImpl(impl, fnFor(), policy)())
      return Promise.all(jobs)
    })
  }
  const fn = scenarioName === "success"
    ? () => Promise.resolve(++calls)
    : () => (++calls % callsPerOp === 0 ? Promise.resolve(1) : Promise.reject(error))
  const retried = makePeerImpl(impl, fn, policy)
  return measure({
    run: async (n) => {
      for (let i = 0; i < n; i++) sink += await retried()
    },
    sleeps: undefined,
    virtual: undefined
  })
}

// ---------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------

/** Warm-up with calibration, then samples; every batch checks the work it did. */
async function measure({ run, sleeps, virtual }) {
  const real = scenario.clock === "real"
  const perSleepMs = policy.waitMillis
  // A retry with a zero wait is no sleep at all: nothing asked of the clock, no timer.
  const sleepsPerOp = perSleepMs > 0 ? retriesPerOp : 0
  // Which Promise implementations arm no timer for a zero wait (the others arm a
  // setTimeout(0), which Node runs after >= 1 ms: reported, not failed)
  const skipsZeroWait = impl === "await" || impl === "p-retry"
  let last
  const check = async (n) => {
    const c0 = calls
    const s0 = sleeps?.()
    const v0 = virtual?.()
    const t0 = timers
    const cpu0 = process.cpuUsage()
    const w0 = process.hrtime.bigint()
    await run(n)
    const wall = Number(process.hrtime.bigint() - w0)
    const cpu = process.cpuUsage(cpu0)
    const armed = timers - t0
    expectEqual("calls", calls - c0, n * callsPerOp)
    if (isEffect) {
      // the clock saw every sleep: count and total duration
      expectEqual("sleeps", sleeps() - s0, n * sleepsPerOp)
      expectEqual("ms slept", virtual() - v0, n * sleepsPerOp * perSleepMs)
    } else if (perSleepMs > 0 || skipsZeroWait) {
      // each sleep of a Promise implementation is one setTimeout
      expectEqual("timers armed", armed, n * sleepsPerOp)
    }
    if (real && perSleepMs > 0 && wall < n * retriesPerOp * perSleepMs * 1e6) {
      fail(`wall time ${wall} ns is shorter than the waits`)
    }
    last = {
      calls: (calls - c0) / n,
      sleeps: isEffect ? (sleeps() - s0) / n : armed / n,
      virtualMs: isEffect ? (virtual() - v0) / n : null,
      timers: armed / n
    }
    return { wall, cpu: (cpu.user + cpu.system) * 1000, timers: armed }
  }
  let n = real && perSleepMs > 0 ? 4 : 64
  const unitsPerOp = successLike ? 1 : retriesPerOp
  // Warm-up time is this process's CPU time, so a busy machine does not shorten the
  // warm-up; wall time caps it too (a process waiting on timers spends little CPU). A
  // batch lasts at least minBatchMs of wall time.
  const cpuMs = () => {
    const c = process.cpuUsage()
    return (c.user + c.system) / 1000
  }
  const cpuStart = cpuMs()
  const wallStart = Date.now()
  let units = 0
  for (;;) {
    const { wall } = await check(n)
    units += n * unitsPerOp
    const short = wall < timing.minBatchMs * 1e6
    const elapsed = timers1ms ? Date.now() - wallStart : cpuMs() - cpuStart
    if (!short && Date.now() - wallStart >= 2 * timing.warmupCapMs) break
    if (!short && elapsed >= timing.warmupCapMs) break
    if (!short && elapsed >= timing.warmupMs && units >= timing.warmupUnits) break
    if (short) n *= 2
  }
  const samples = []
  for (let i = 0; i < timing.samples; i++) {
    await settle()
    samples.push(await check(n))
  }
  const per = successLike ? n : n * retriesPerOp
  const metrics = {}
  // CPU time of the process, not wall time: the bench machine is shared, and another
  // process taking the core inflates wall time but not this process's CPU time
  if (scenarioName === "success") metrics.success = median(samples.map((s) => s.cpu / per))
  else if (scenarioName === "retryVirtual") metrics.retryVirtual = median(samples.map((s) => s.cpu / per))
  else if (scenarioName === "budgetSuccess") metrics.budgetSuccess = median(samples.map((s) => s.cpu / per))
  else if (scenarioName.startsWith("breaker")) metrics[scenarioName] = median(samples.map((s) => s.cpu / per))
  else if (scenarioName === "budgetRetry") metrics.budgetRetry = median(samples.map((s) => s.cpu / per))
  else if (scenarioName === "budgetRetryRedis") {
    metrics.budgetRetryRedisCpu = median(samples.map((s) => s.cpu / per))
    metrics.budgetRetryRedisWall = median(samples.map((s) => s.wall / per))
  } else {
    metrics[`${scenarioName}Cpu`] = median(samples.map((s) => s.cpu / per))
    metrics[`${scenarioName}Wall`] = median(samples.map((s) => s.wall / n))
  }
  return {
    metrics,
    wall: median(samples.map((s) => s.wall / per)),
    work: last,
    ops: n * timing.samples
  }
}

/** 10,000 concurrent operations on real timers: event-loop delay p99 and peak RSS. */
async function scaleReal(runAll) {
  const n = 10_000
  const c0 = calls
  await runAll(1_000) // warm-up
  expectEqual("warm-up calls", calls - c0, 1_000 * callsPerOp)
  gc()
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  const c1 = calls
  const t1 = timers
  const cpu0 = process.cpuUsage()
  const w0 = process.hrtime.bigint()
  histogram.enable()
  await runAll(n)
  histogram.disable()
  const wall = Number(process.hrtime.bigint() - w0)
  const cpu = process.cpuUsage(cpu0)
  expectEqual("calls", calls - c1, n * callsPerOp)
  if (isEffect) {
    // a full-jitter draw can land on (or round to) a zero wait, which is rightly no sleep:
    // allow one in a thousand
    const expected = (1_000 + n) * retriesPerOp
    if (clockReal.sleeps > expected || clockReal.sleeps < expected * 0.999) {
      fail(`sleeps: expected ${expected} (less at most 0.1% zero draws), got ${clockReal.sleeps}`)
    }
  }
  const armed = timers - t1
  if (armed > n * retriesPerOp) fail(`armed ${armed} timers for ${n * retriesPerOp} waits`)
  return {
    metrics: {
      scaleRealLoopDelayP99: histogram.percentile(99),
      scaleRealPeakRss: process.resourceUsage().maxRSS * 1024,
      scaleRealCpu: ((cpu.user + cpu.system) * 1000) / (n * retriesPerOp),
      scaleRealWall: wall
    },
    work: { calls: callsPerOp, sleeps: retriesPerOp, virtualMs: null, timers: Math.round((armed / n) * 100) / 100 },
    ops: n
  }
}

if (isEffect && scenarioName === "scaleReal") {
  const { CountingClock } = await import("./lib/clocks.mjs")
  clockReal = new CountingClock()
}
const result = isEffect ? await runEffect() : await runPeer()
await closeBudget?.()
if (!Number.isFinite(sink)) fail("results were not consumed")
const cpu = process.cpuUsage()
result.process = { wallSeconds: process.uptime(), cpuSeconds: (cpu.user + cpu.system) / 1e6 }
process.stdout.write(`RESULT ${JSON.stringify({ scenario: scenarioName, impl, ...result })}\n`)
