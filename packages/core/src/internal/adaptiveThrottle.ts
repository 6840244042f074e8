/**
 * @internal Client-side adaptive throttling (Google SRE, "Handling Overload"): over a
 * sliding window a client counts `requests` (every call the application made, those it
 * rejected locally included) and `accepts` (calls the backend accepted), and rejects a new
 * call locally with probability max(0, (requests − K·accepts) / (requests + 1)).
 *
 * The window is the retry budget's time buckets (buckets.ts), on the Clock's monotonic
 * reading; the draw is Effect's `Random`, and only when the probability is above zero (a
 * healthy backend costs no draw).
 */
import { Context, Data, Effect, Exit, Layer, Metric } from "effect"
import type { Clock } from "effect"
import * as buckets from "./buckets.js"
import { durationMillis, invalid, optionsObject } from "./validate.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("@effect-backoff/core/AdaptiveThrottle")

/** @internal */
export type TypeId = typeof TypeId

/** @internal The throttle's rejection: the call was not made. */
export class ThrottledError extends Data.TaggedError("ThrottledError")<{
  /** The rejection probability the call was drawn against. */
  readonly probability: number
  /** The throttle's name (its metrics' tag). */
  readonly name: string
}> {
  override get message(): string {
    return `rejected locally by the adaptive throttle "${this.name}" (rejection probability ${
      this.probability.toFixed(3)
    })`
  }
}

/** @internal What a throttle's window holds now. */
export interface Stats {
  readonly requests: number
  readonly accepts: number
  /** max(0, (requests − K·accepts) / (requests + 1)): the chance that the next call is rejected. */
  readonly probability: number
}

/** @internal An adaptive throttle (the public module documents it). */
export interface AdaptiveThrottle {
  readonly [TypeId]: TypeId
  readonly name: string
  /** Runs the effect unless the throttle rejects it (then fails with `ThrottledError`); counts its outcome. */
  readonly execute: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ThrottledError, R>
  /** The window's counts and the rejection probability now. */
  readonly stats: Effect.Effect<Stats>
}

/** @internal A throttle's options, validated. */
export interface Resolved {
  readonly windowMillis: number
  readonly k: number
  readonly isAccepted: (exit: Exit.Exit<unknown, unknown>) => boolean
  readonly name: string
}

/** @internal */
export const tag: Context.Tag<AdaptiveThrottle, AdaptiveThrottle> = Context.GenericTag<AdaptiveThrottle>(
  "@effect-backoff/core/AdaptiveThrottle"
)

/** @internal The window is cut into this many buckets: it counts between window − window/60 and window. */
export const BUCKETS = 60

const KEYS = ["window", "k", "isAccepted", "name"]

/** @internal Validates throttle options. */
export const resolve = (options: unknown): Resolved => {
  const o = optionsObject("AdaptiveThrottle", options, KEYS)
  const windowMillis = o.window === undefined ? 120_000 : durationMillis("window", o.window)
  if (!(windowMillis >= BUCKETS)) {
    throw invalid("window", o.window, "a finite duration of at least 60 millis (\"2 minutes\")")
  }
  const k = o.k === undefined ? 2 : o.k
  // below 1 a backend that accepts everything would still see calls rejected
  if (typeof k !== "number" || !Number.isFinite(k) || k < 1) {
    throw invalid("k", k, "a finite number >= 1 (2: the SRE book's multiplier)")
  }
  if (o.isAccepted !== undefined && typeof o.isAccepted !== "function") {
    throw invalid("isAccepted", o.isAccepted, "a function (exit: Exit) => boolean")
  }
  if (o.name !== undefined && (typeof o.name !== "string" || o.name === "")) {
    throw invalid("name", o.name, "a non-empty string")
  }
  return {
    windowMillis,
    k,
    isAccepted: (o.isAccepted as Resolved["isAccepted"] | undefined) ?? Exit.isSuccess,
    name: (o.name as string | undefined) ?? "default"
  }
}

/** @internal Monotonic milliseconds: a wall-clock step neither holds nor jumps the window. */
export const monotonicMillis = (clock: Clock.Clock): number => Number(clock.unsafeCurrentTimeNanos()) / 1e6

/** @internal Calls the throttle saw (made or rejected), tagged by throttle name. */
export const requestsTotal = Metric.counter("throttle_requests_total", {
  description: "Calls the adaptive throttle saw (made or rejected locally), tagged by throttle",
  incremental: true
})

/** @internal Calls the throttle rejected locally. */
export const rejectionsTotal = Metric.counter("throttle_rejections_total", {
  description: "Calls the adaptive throttle rejected locally, tagged by throttle",
  incremental: true
})

/** @internal The rejection probability at the last call. */
export const rejectionProbability = Metric.gauge("throttle_rejection_probability", {
  description: "The adaptive throttle's rejection probability at its last call, tagged by throttle"
})

/**
 * @internal The window: per time bucket the requests and the accepts, in a ring of
 * `BUCKETS` slots with running sums (a call costs one division and two additions).
 */
export class Window {
  private readonly requestCounts = new Float64Array(BUCKETS)
  private readonly acceptCounts = new Float64Array(BUCKETS)
  private bucket = Number.NEGATIVE_INFINITY
  requests = 0
  accepts = 0

  constructor(readonly bucketMillis: number, readonly k: number) {}

  /** Moves to `nowMillis`; returns the slot to write. Time never goes back. */
  private advance(nowMillis: number): number {
    const k = buckets.bucketOf(nowMillis, this.bucketMillis)
    buckets.advance(this.bucket, k, BUCKETS, (s) => {
      this.requests -= this.requestCounts[s]!
      this.accepts -= this.acceptCounts[s]!
      this.requestCounts[s] = 0
      this.acceptCounts[s] = 0
    })
    if (k > this.bucket) this.bucket = k
    return buckets.slotOf(this.bucket, BUCKETS)
  }

  /** The rejection probability now. */
  probability(nowMillis: number): number {
    this.advance(nowMillis)
    const p = (this.requests - this.k * this.accepts) / (this.requests + 1)
    return p > 0 ? p : 0
  }

  /** One more request at `nowMillis` (made or rejected). */
  request(nowMillis: number): void {
    const s = this.advance(nowMillis)
    this.requestCounts[s]! += 1
    this.requests += 1
  }

  /** One more accept at `nowMillis`. */
  accept(nowMillis: number): void {
    const s = this.advance(nowMillis)
    this.acceptCounts[s]! += 1
    this.accepts += 1
  }
}

/**
 * @internal A throttle's two halves, for the retry loop and HttpBackoff, which put them in
 * different places: `admit(onReject, proceed)` counts a request and draws (a rejection
 * runs `onReject(error)`, else `proceed`); `observe(self, accepted?)` counts `self`'s
 * outcome as accepted when `accepted` says so (where it answers `undefined`, or is absent:
 * the throttle's `isAccepted`).
 */
export const Internals: unique symbol = Symbol.for("@effect-backoff/core/AdaptiveThrottle/internals")

/** @internal */
export interface Halves {
  readonly admit: <A, E, R, B, E2, R2>(
    onReject: (error: ThrottledError) => Effect.Effect<B, E2, R2>,
    proceed: Effect.Effect<A, E, R>
  ) => Effect.Effect<A | B, E | E2, R | R2>
  readonly observe: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    accepted?: ((exit: Exit.Exit<A, E>) => boolean | undefined) | undefined
  ) => Effect.Effect<A, E, R>
}

/** @internal The halves of a throttle. */
export const halvesOf = (throttle: AdaptiveThrottle): Halves =>
  (throttle as unknown as { readonly [Internals]: Halves })[Internals]

/** @internal */
export const isAdaptiveThrottle = (u: unknown): u is AdaptiveThrottle =>
  typeof u === "object" && u !== null && TypeId in u

/** @internal A throttle over a fresh window. */
export const unsafeMake = (settings: Resolved): AdaptiveThrottle => {
  const window = new Window(settings.windowMillis / BUCKETS, settings.k)
  const requestsMetric = Metric.tagged(requestsTotal, "throttle", settings.name)
  const rejectionsMetric = Metric.tagged(rejectionsTotal, "throttle", settings.name)
  const probabilityMetric = Metric.tagged(rejectionProbability, "throttle", settings.name)
  const admit: Halves["admit"] = (onReject, proceed) =>
    Effect.clockWith((clock) => {
      const now = monotonicMillis(clock)
      const p = window.probability(now)
      window.request(now)
      requestsMetric.unsafeUpdate(1, [])
      probabilityMetric.unsafeUpdate(p, [])
      if (p === 0) return proceed
      return Effect.randomWith((random) =>
        Effect.flatMap(random.next, (u): Effect.Effect<any, any, any> => {
          if (u >= p) return proceed
          rejectionsMetric.unsafeUpdate(1, [])
          return onReject(new ThrottledError({ probability: p, name: settings.name }))
        })
      )
    })
  const observe: Halves["observe"] = (self, accepted) =>
    Effect.onExit(self, (exit) =>
      Exit.isInterrupted(exit) ? Effect.void : Effect.clockWith((clock) => {
        if (accepted?.(exit) ?? settings.isAccepted(exit)) window.accept(monotonicMillis(clock))
        return Effect.void
      }))
  return {
    [TypeId]: TypeId,
    [Internals]: { admit, observe },
    name: settings.name,
    execute: (self) => admit(Effect.fail, observe(self)),
    stats: Effect.clockWith((clock) =>
      Effect.sync(() => {
        const probability = window.probability(monotonicMillis(clock))
        return { requests: window.requests, accepts: window.accepts, probability }
      })
    )
  } as AdaptiveThrottle
}

/** @internal */
export const make = (options?: unknown): Effect.Effect<AdaptiveThrottle> => {
  const settings = resolve(options)
  return Effect.sync(() => unsafeMake(settings))
}

/** @internal */
export const layer = (options?: unknown): Layer.Layer<AdaptiveThrottle> => Layer.effect(tag, make(options))

/** @internal The `throttle` option of a policy: `true` (the one in context), a throttle, or none. */
export const throttleOption = (input: unknown): AdaptiveThrottle | true | undefined => {
  if (input === undefined || input === false) return undefined
  if (input === true || isAdaptiveThrottle(input)) return input
  throw invalid("throttle", input, "true (the AdaptiveThrottle in context) or an AdaptiveThrottle value")
}

const checkThrottle = (throttle: unknown): AdaptiveThrottle => {
  if (isAdaptiveThrottle(throttle)) return throttle
  throw invalid("throttle", throttle, "an AdaptiveThrottle (from AdaptiveThrottle.make)")
}

/** @internal `AdaptiveThrottle.protect`, dual by hand: the data-last form checks the throttle now. */
export const protect = function(this: unknown) {
  if (arguments.length >= 2) return checkThrottle(arguments[1]).execute(arguments[0])
  const throttle = checkThrottle(arguments[0])
  return (self: Effect.Effect<any, any, any>) => throttle.execute(self)
} as (...args: Array<any>) => any

/** @internal The SRE formula itself (for docs and tests). */
export const rejectionProbabilityOf = (requests: number, accepts: number, k = 2): number =>
  Math.max(0, (requests - k * accepts) / (requests + 1))
