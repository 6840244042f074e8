/**
 * Soak: 1,000,000 retry steps on a virtual clock whose sleep advances time and returns at
 * once (not TestClock: far too slow per step). The heap is sampled after a full GC every
 * 100,000 steps; the script prints the samples and exits non-zero if the last sample
 * exceeds the first by more than 10%.
 *
 *   pnpm soak                  (node --expose-gc --import tsx scripts/soak.ts)
 *   STEPS=2000000 pnpm soak    (a longer soak; samples stay every 100,000 steps)
 *   SOAK_LEAK=1 pnpm soak      (negative control: keeps every details object; must fail)
 *
 * The steps are spread over three shapes, so both one very long run and many short runs
 * are covered:
 *   1. one onException run of STEPS/2 retries (Effect form, expo + full jitter, maxTime
 *      budget far away, onBackoff handler, default log lines on but no logger installed);
 *   2. short onException runs of 1,000 retries through the function form (args, target);
 *   3. short onPredicate runs of 1,000 re-polls (a Promise-returning function).
 */
import { Effect, FiberRef, HashSet } from "effect"
import { Backoff, Jitter, Wait } from "../packages/core/src/index.js"
// the clock Timeline runs on: its sleep advances virtual time and returns at once
import { VirtualClock } from "../packages/core/src/internal/timeline.js"

const STEPS = Number(process.env.STEPS ?? 1_000_000)
const SAMPLE_EVERY = 100_000
const SHORT_RUN = 1_000
const LIMIT = 1.1

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  console.error("soak: run with node --expose-gc (pnpm soak does)")
  process.exit(2)
}

interface Sample {
  readonly steps: number
  readonly heapMB: number
  readonly virtualDays: number
  readonly seconds: number
}

const clock = new VirtualClock()
const samples: Array<Sample> = []
const started = process.hrtime.bigint()
let steps = 0

/** SOAK_LEAK=1: a deliberate leak, to show the gate trips */
const leak: Array<unknown> | undefined = process.env.SOAK_LEAK ? [] : undefined

/** Counts one retry step; every SAMPLE_EVERY steps, collects garbage and samples the heap. */
const step = (details: Backoff.BackoffDetails) => {
  steps++
  leak?.push(details)
  if (steps % SAMPLE_EVERY === 0) {
    gc()
    gc()
    samples.push({
      steps,
      heapMB: process.memoryUsage().heapUsed / 2 ** 20,
      virtualDays: clock.now / 86_400_000,
      seconds: Number(process.hrtime.bigint() - started) / 1e9
    })
    const s = samples[samples.length - 1]!
    console.log(
      `${String(s.steps).padStart(9)} steps  heap ${s.heapMB.toFixed(2).padStart(7)} MB  ` +
        `virtual ${s.virtualDays.toFixed(1).padStart(8)} days  ${s.seconds.toFixed(1).padStart(6)} s`
    )
  }
}

class Flaky extends Error {
  readonly _tag = "Flaky"
}

// 1. one long run
const longSteps = Math.floor(STEPS / 2)
const long = Effect.fail(new Flaky("still down")).pipe(
  Backoff.onException({
    wait: Wait.expo({ factor: "10 millis", maxValue: "1 minute" }),
    jitter: Jitter.full,
    maxTries: longSteps + 1,
    maxTime: "100000 weeks",
    exception: Flaky,
    onBackoff: step,
    raiseOnGiveup: false
  })
)

// 2. short runs through the function form
let calls = 0
const fetchThing = (id: number) => {
  calls++
  return Effect.fail({ _tag: "Busy", id })
}
const retried = Backoff.onException(fetchThing, {
  wait: Wait.fibo({ unit: "1 millis", maxValue: "5 seconds" }),
  jitter: Jitter.equal,
  maxTries: SHORT_RUN + 1,
  exception: "Busy",
  logger: false,
  onBackoff: [step, () => Effect.void]
})

// 3. short onPredicate runs of a Promise-returning function (sync here: an empty list)
const poll = Backoff.onPredicate((_queue: string) => [] as ReadonlyArray<string>, {
  wait: Wait.constant({ interval: "250 millis" }),
  jitter: null,
  maxTries: SHORT_RUN + 1,
  predicate: (xs: ReadonlyArray<string>) => xs.length === 0,
  logger: false,
  onBackoff: step
})

const rest = STEPS - longSteps
const shortRuns = Math.ceil(rest / SHORT_RUN)
const program = Effect.gen(function*() {
  yield* long
  for (let i = 0; i < shortRuns; i++) {
    if (i % 2 === 0) yield* Effect.either(retried(i))
    else yield* poll(`queue-${i}`)
  }
}).pipe(
  Effect.withClock(clock),
  // the long run's default log lines are built and emitted, but no logger prints them
  (self) => Effect.locally(self, FiberRef.currentLoggers, HashSet.empty())
)

console.log(
  `soak: ${STEPS.toLocaleString("en")} retry steps, heap sampled every ${SAMPLE_EVERY.toLocaleString("en")} after gc()`
)
Effect.runSync(program)
const seconds = Number(process.hrtime.bigint() - started) / 1e9

const first = samples[0]
const last = samples[samples.length - 1]
if (first === undefined || last === undefined || steps < STEPS) {
  console.error(`soak: only ${steps} steps ran`)
  process.exit(1)
}
const growth = last.heapMB / first.heapMB
console.log(
  `soak: ${steps.toLocaleString("en")} steps in ${seconds.toFixed(1)} s (${
    ((seconds / steps) * 1e6).toFixed(2)
  } µs/step); ` +
    `${calls.toLocaleString("en")} function-form calls; heap first ${first.heapMB.toFixed(2)} MB, last ${
      last.heapMB.toFixed(2)
    } MB (${((growth - 1) * 100).toFixed(1)}%), max ${Math.max(...samples.map((s) => s.heapMB)).toFixed(2)} MB`
)
if (growth > LIMIT) {
  console.error(`soak: FAIL: the heap grew by more than ${((LIMIT - 1) * 100).toFixed(0)}%`)
  process.exit(1)
}
console.log("soak: OK")
