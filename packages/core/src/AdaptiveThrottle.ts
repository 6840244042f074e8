/**
 * Client-side adaptive throttling (Google SRE, "Handling Overload"): a client that sees
 * its backend reject much of what it sends starts rejecting calls itself, gradually, so
 * the backend spends less on requests it would refuse anyway.
 *
 * @since 0.3.0
 */
// first: a wrong effect major fails here, with a sentence naming the versions needed
import "./internal/effectVersion.js"
import type { Context, Duration, Effect, Exit, Layer, Metric } from "effect"
import * as internal from "./internal/adaptiveThrottle.js"

/**
 * @since 0.3.0
 * @category symbols
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * @since 0.3.0
 * @category symbols
 */
export type TypeId = internal.TypeId

/**
 * The failure of a call the throttle rejected locally (the effect was not run), with the
 * rejection `probability` it was drawn against and the throttle's `name`.
 *
 * @since 0.3.0
 * @category errors
 */
export const ThrottledError: typeof internal.ThrottledError = internal.ThrottledError

/**
 * @since 0.3.0
 * @category errors
 */
export type ThrottledError = internal.ThrottledError

/**
 * What a throttle's window holds now: `requests` (every call, those rejected locally
 * included), `accepts` (calls the backend accepted), and the rejection `probability`
 * max(0, (requests − K·accepts) / (requests + 1)).
 *
 * @since 0.3.0
 * @category models
 */
export type Stats = internal.Stats

/**
 * An adaptive throttle. `execute(effect)` draws against the rejection probability (from
 * Effect's `Random`): a rejected call fails with `ThrottledError` without running; any
 * other call runs, and its outcome is counted as accepted or not by `isAccepted`.
 *
 * @since 0.3.0
 * @category models
 */
export type AdaptiveThrottle = internal.AdaptiveThrottle

/**
 * Options of a throttle.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** How long requests and accepts count (default 2 minutes, at least 60 millis). */
  readonly window?: Duration.DurationInput | undefined
  /**
   * The SRE book's K (default 2, at least 1): the backend may reject up to 1 − 1/K of the
   * calls before the client rejects any. Lower is more aggressive.
   */
  readonly k?: number | undefined
  /** Which outcomes count as accepted by the backend (default: a success). Interruptions count as nothing. */
  readonly isAccepted?: ((exit: Exit.Exit<unknown, unknown>) => boolean) | undefined
  /** The throttle's name, the `throttle` tag of its metrics (default "default"). */
  readonly name?: string | undefined
}

/**
 * The service tag: `throttle: true` on a retry entry point uses the `AdaptiveThrottle`
 * in context.
 *
 * @since 0.3.0
 * @category tags
 */
export const AdaptiveThrottle: Context.Tag<AdaptiveThrottle, AdaptiveThrottle> = internal.tag

/**
 * A throttle in memory, on Effect's Clock and Random (so a `TestClock` and a seeded
 * `Random` make it deterministic). One value is one window: share it between the calls
 * to one backend.
 *
 * **Details**
 *
 * The window is cut into 60 time buckets on the Clock's monotonic reading: a call costs
 * one bucket check, two additions, and a random draw only when the probability is above
 * zero. Bad options throw `InvalidOptionError`.
 *
 * @example
 * ```ts
 * import { AdaptiveThrottle } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const throttle = yield* AdaptiveThrottle.make({ window: "1 minute" })
 *   for (let i = 0; i < 10; i++) yield* Effect.ignore(throttle.execute(Effect.fail("overloaded")))
 *   return yield* throttle.stats
 * })
 * Effect.runPromise(program).then((s) => console.log(s.requests, s.accepts, s.probability.toFixed(2))) // 10 0 0.91
 * ```
 *
 * @since 0.3.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<AdaptiveThrottle> = internal.make

/**
 * A layer with one throttle, for `throttle: true`.
 *
 * @example
 * ```ts
 * import { AdaptiveThrottle, Backoff, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const task = Effect.fail("unavailable")
 * const retried = task.pipe(Backoff.onException({ wait: Wait.constant({ interval: "1 millis" }), maxTries: 3, throttle: true }))
 * const program = retried.pipe(Effect.provide(AdaptiveThrottle.layer({ window: "2 minutes" })))
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const layer: (options?: Options) => Layer.Layer<AdaptiveThrottle> = internal.layer

/**
 * Runs an effect through a throttle: `AdaptiveThrottle.protect(effect, throttle)` or
 * `effect.pipe(AdaptiveThrottle.protect(throttle))`. The same as `throttle.execute`.
 *
 * @example
 * ```ts
 * import { AdaptiveThrottle } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const throttle = yield* AdaptiveThrottle.make()
 *   return yield* Effect.succeed("ok").pipe(AdaptiveThrottle.protect(throttle))
 * })
 * Effect.runPromise(program).then(console.log) // "ok"
 * ```
 *
 * @since 0.3.0
 * @category combinators
 */
export const protect: {
  (throttle: AdaptiveThrottle): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ThrottledError, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, throttle: AdaptiveThrottle): Effect.Effect<A, E | ThrottledError, R>
} = internal.protect

/**
 * Is this an `AdaptiveThrottle`?
 *
 * @since 0.3.0
 * @category guards
 */
export const isAdaptiveThrottle: (u: unknown) => u is AdaptiveThrottle = internal.isAdaptiveThrottle

/**
 * The SRE formula: max(0, (requests − k·accepts) / (requests + 1)).
 *
 * @example
 * ```ts
 * import { AdaptiveThrottle } from "@effect-backoff/core"
 *
 * console.log(AdaptiveThrottle.rejectionProbability(100, 30).toFixed(3)) // "0.396"
 * ```
 *
 * @since 0.3.0
 * @category math
 */
export const rejectionProbability: (requests: number, accepts: number, k?: number) => number =
  internal.rejectionProbabilityOf

/**
 * The metrics every throttle records, tagged `throttle` = its name: `requests` (counter:
 * calls seen, rejected ones included), `rejections` (counter: calls rejected locally) and
 * `rejectionProbability` (gauge: the probability at the last call). The rejection rate is
 * `rejections / requests`.
 *
 * @example
 * ```ts
 * import { AdaptiveThrottle } from "@effect-backoff/core"
 * import { Effect, Metric } from "effect"
 *
 * const rejected = Metric.value(AdaptiveThrottle.metrics.rejections.pipe(Metric.tagged("throttle", "default")))
 * Effect.runPromise(rejected).then((state) => console.log(state.count))
 * ```
 *
 * @since 0.3.0
 * @category observability
 */
export const metrics: {
  readonly requests: Metric.Metric.Counter<number>
  readonly rejections: Metric.Metric.Counter<number>
  readonly rejectionProbability: Metric.Metric.Gauge<number>
} = {
  requests: internal.requestsTotal,
  rejections: internal.rejectionsTotal,
  rejectionProbability: internal.rejectionProbability
}
