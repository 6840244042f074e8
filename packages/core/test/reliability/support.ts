/**
 * Shared pieces of the reliability suite: a seeded PRNG, cheap virtual clocks, a quiet
 * logger, and random retry policies described as plain data (so a failing case prints
 * as a readable counterexample and can be rebuilt from its description).
 */
import { Jitter, Wait } from "@effect-backoff/core"
import { Clock, Duration, Effect, FiberRef, HashSet, Schedule, Scheduler } from "effect"

/** mulberry32: a tiny seeded PRNG, so every random run is reproducible from its seed. */
export const prng = (seed: number) => {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number): boolean => next() < p
  }
}
export type Prng = ReturnType<typeof prng>

/**
 * A virtual clock whose sleep is a real suspension point (the fiber yields, so an
 * interruption can land inside it) and then advances virtual time. `onSleep` may replace a
 * given sleep (e.g. by one that never ends, to interrupt the run while it sleeps).
 */
export class YieldingClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  now = 0
  sleeps = 0
  constructor(readonly onSleep?: (n: number, duration: Duration.Duration) => Effect.Effect<void> | undefined) {}
  unsafeCurrentTimeMillis(): number {
    return this.now
  }
  unsafeCurrentTimeNanos(): bigint {
    return BigInt(Math.round(this.now * 1e6))
  }
  readonly currentTimeMillis: Effect.Effect<number> = Effect.sync(() => this.now)
  readonly currentTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.unsafeCurrentTimeNanos())
  sleep(duration: Duration.Duration): Effect.Effect<void> {
    return Effect.suspend(() => {
      const n = ++this.sleeps
      const replaced = this.onSleep?.(n, duration)
      if (replaced !== undefined) return replaced
      return Effect.zipRight(
        Effect.yieldNow(),
        Effect.sync(() => {
          this.now += Duration.toMillis(duration)
        })
      )
    })
  }
}

/**
 * Shared virtual time for many concurrent fibers (TestClock re-checks every fiber and waits
 * for real timer turns at each wake-up, far too slow for thousands of sleeps). Sleeps park
 * on a timer list; `drive()` waits until no Effect work is pending (every scheduler batch
 * goes through a counted setImmediate, and microtasks drain before each one), then moves
 * the clock to the earliest timer and wakes every fiber due then, until no timer is left.
 * Run the program with `Effect.withClock(vt.clock)` and `Effect.withScheduler(vt.scheduler)`.
 */
export const virtualTime = () => {
  let pending = 0
  let seq = 0
  interface Timer {
    readonly at: number
    readonly seq: number
    readonly wake: () => void
    cancelled: boolean
  }
  let timers: Array<Timer> = []
  const scheduler = Scheduler.makeBatched((runBatch) => {
    pending++
    setImmediate(() => {
      pending--
      runBatch()
    })
  })
  class SharedClock implements Clock.Clock {
    readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
    now = 0
    unsafeCurrentTimeMillis(): number {
      return this.now
    }
    unsafeCurrentTimeNanos(): bigint {
      return BigInt(Math.round(this.now * 1e6))
    }
    readonly currentTimeMillis: Effect.Effect<number> = Effect.sync(() => this.now)
    readonly currentTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.unsafeCurrentTimeNanos())
    sleep(duration: Duration.Duration): Effect.Effect<void> {
      return Effect.async<void>((resume) => {
        const timer: Timer = {
          at: this.now + Duration.toMillis(duration),
          seq: seq++,
          wake: () => resume(Effect.void),
          cancelled: false
        }
        timers.push(timer)
        return Effect.sync(() => {
          timer.cancelled = true
        })
      })
    }
  }
  const clock = new SharedClock()
  const idle = () =>
    new Promise<void>((resolve) => {
      const check = () => (pending === 0 ? resolve() : setImmediate(check))
      setImmediate(check)
    })
  let wakeUps = 0
  const drive = async (): Promise<void> => {
    for (;;) {
      await idle()
      timers = timers.filter((t) => !t.cancelled)
      if (timers.length === 0) return
      let at = Infinity
      for (const t of timers) if (t.at < at) at = t.at
      const due = timers.filter((t) => t.at === at).sort((a, b) => a.seq - b.seq)
      timers = timers.filter((t) => t.at !== at)
      clock.now = at
      wakeUps += due.length
      for (const t of due) t.wake()
    }
  }
  return { clock, scheduler, drive, wakeUps: () => wakeUps }
}

/**
 * Keeps the default log lines on (they are built and emitted) but prints nothing: no
 * logger is installed. (Cheaper than providing a Layer, which costs ~0.4 ms a run.)
 */
export const quiet = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locally(self, FiberRef.currentLoggers, HashSet.empty())

/** `process.getActiveResourcesInfo()` entries that are timers. */
export const activeTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length

// ---------------------------------------------------------------------------
// Policies as data
// ---------------------------------------------------------------------------

export type WaitSpec =
  | { readonly kind: "expo"; readonly base: number; readonly factor: number; readonly maxValue?: number }
  | { readonly kind: "fibo"; readonly unit: number; readonly maxValue?: number }
  | { readonly kind: "constant"; readonly interval: number }
  | { readonly kind: "list"; readonly intervals: ReadonlyArray<number> }
  | { readonly kind: "decay"; readonly initialValue: number; readonly decayFactor: number; readonly minValue?: number }
  | { readonly kind: "linear"; readonly initial: number; readonly step: number; readonly maxValue?: number }
  | { readonly kind: "decorrelated"; readonly base: number; readonly maxValue: number }
  /** the wait is read from the failure (`ms`), as `Retry-After` would be */
  | { readonly kind: "runtime" }
  /** a plain Effect Schedule (not one of ours): the loop's generic path */
  | { readonly kind: "spaced"; readonly interval: number }
  /** one of ours wrapped by Jitter.apply: a generic Schedule whose delays are jittered */
  | { readonly kind: "jittered"; readonly factor: number }

export type JitterSpec = "default" | "full" | "equal" | "random" | "none" | "null"

const fmt = (ms: number | undefined): string => ms === undefined ? "-" : `${ms}ms`

export const showWait = (w: WaitSpec): string => {
  switch (w.kind) {
    case "expo":
      return `expo(base=${w.base}, factor=${fmt(w.factor)}, max=${fmt(w.maxValue)})`
    case "fibo":
      return `fibo(unit=${fmt(w.unit)}, max=${fmt(w.maxValue)})`
    case "constant":
      return `constant(${fmt(w.interval)})`
    case "list":
      return `constant([${w.intervals.map(fmt).join(", ")}])`
    case "decay":
      return `decay(initial=${fmt(w.initialValue)}, k=${w.decayFactor}, min=${fmt(w.minValue)})`
    case "linear":
      return `linear(initial=${fmt(w.initial)}, step=${fmt(w.step)}, max=${fmt(w.maxValue)})`
    case "decorrelated":
      return `decorrelated(base=${fmt(w.base)}, max=${fmt(w.maxValue)})`
    case "runtime":
      return "runtime(error.ms)"
    case "spaced":
      return `Schedule.spaced(${fmt(w.interval)})`
    case "jittered":
      return `Jitter.apply(Wait.expo(factor=${fmt(w.factor)}), Jitter.full)`
  }
}

/** The error every failing call of a generated run fails with: `n` is its call number. */
export interface Failure {
  readonly _tag: "Failure"
  readonly n: number
  /** the wait a `runtime` strategy reads from it */
  readonly ms: number
}

export const buildWait = (w: WaitSpec): Schedule.Schedule<unknown, any> => {
  const opt = <K extends string>(key: K, v: number | undefined) => (v === undefined ? {} : { [key]: v }) as any
  switch (w.kind) {
    case "expo":
      return Wait.expo({ base: w.base, factor: w.factor, ...opt("maxValue", w.maxValue) })
    case "fibo":
      return Wait.fibo({ unit: w.unit, ...opt("maxValue", w.maxValue) })
    case "constant":
      return Wait.constant({ interval: w.interval })
    case "list":
      return Wait.constant({ interval: w.intervals })
    case "decay":
      return Wait.decay({ initialValue: w.initialValue, decayFactor: w.decayFactor, ...opt("minValue", w.minValue) })
    case "linear":
      return Wait.linear({ initial: w.initial, step: w.step, ...opt("maxValue", w.maxValue) })
    case "decorrelated":
      return Wait.decorrelated({ base: w.base, maxValue: w.maxValue })
    case "runtime":
      return Wait.runtime((input: unknown) => (input as Failure | undefined)?.ms ?? 0)
    case "spaced":
      return Schedule.spaced(Duration.millis(w.interval))
    case "jittered":
      return Jitter.apply(Wait.expo({ factor: w.factor }), Jitter.full)
  }
}

/** Is the strategy free of randomness (so its waits can be predicted with Wait.delays)? */
export const isDeterministic = (w: WaitSpec): boolean => w.kind !== "decorrelated" && w.kind !== "jittered"

export const buildJitter = (j: JitterSpec): { readonly jitter?: Jitter.Jitter | null } => {
  switch (j) {
    case "default":
      return {}
    case "full":
      return { jitter: Jitter.full }
    case "equal":
      return { jitter: Jitter.equal }
    case "random":
      return { jitter: Jitter.random }
    case "none":
      return { jitter: Jitter.none }
    case "null":
      return { jitter: null }
  }
}

/** A small random wait strategy for the interruption and isolation runs (ms-scale, virtual time). */
export const randomWait = (r: Prng): WaitSpec => {
  switch (r.int(0, 7)) {
    case 0:
      return { kind: "expo", base: r.pick([1.5, 2, 3]), factor: r.int(1, 50) }
    case 1:
      return { kind: "fibo", unit: r.int(1, 20), maxValue: r.int(20, 200) }
    case 2:
      return { kind: "constant", interval: r.int(0, 30) }
    case 3:
      return { kind: "list", intervals: Array.from({ length: r.int(1, 5) }, () => r.int(0, 40)) }
    case 4:
      return { kind: "decay", initialValue: r.int(1, 100), decayFactor: r.next(), minValue: r.int(0, 1) }
    case 5:
      return { kind: "linear", initial: r.int(1, 10), step: r.int(0, 10) }
    case 6:
      return { kind: "decorrelated", base: r.int(1, 10), maxValue: r.int(10, 100) }
    default:
      return { kind: "spaced", interval: r.int(1, 30) }
  }
}
