/**
 * Jitter spreads retries out so that many clients do not retry in step.
 *
 * A `Jitter` maps a wait to the wait actually slept, drawing from Effect's `Random`
 * service, so a seeded `Random` makes every draw reproducible.
 *
 * @since 0.1.0
 */
// first: a wrong effect major fails here, with a sentence naming the versions needed
import "./internal/effectVersion.js"
import type { Duration, Effect, Schedule } from "effect"
import * as internal from "./internal/jitter.js"
import type { JitterFunction } from "./internal/plan.js"

/**
 * A function from the strategy's wait to the wait actually slept: a `Duration`, any
 * `DurationInput`, or an Effect of one (drawing from Effect's `Random`, so a seeded
 * `Random` makes it reproducible).
 *
 * **Details**
 *
 * Jitter is applied to every wait, zero included (python-backoff's rule: `Jitter.random`
 * of a zero wait is a random 0–1 s). A result that is negative, `NaN` or infinite makes
 * the run die with an `InvalidOptionError` naming `jitter`: never a zero-delay storm.
 *
 * @example
 * ```ts
 * import { Backoff, Jitter, Wait } from "@effect-backoff/core"
 * import { Duration } from "effect"
 *
 * const plusQuarter: Jitter.Jitter = (wait) => Duration.sum(wait, Duration.millis(250))
 * const policy = Backoff.schedule({ wait: Wait.constant({ interval: "0 seconds" }), jitter: plusQuarter, maxTries: 3 })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Jitter = JitterFunction

/**
 * Uniform in `[0, wait]` (AWS "Full Jitter"). The default everywhere.
 *
 * @example
 * ```ts
 * import { Jitter } from "@effect-backoff/core"
 * import { Duration, Effect, Random } from "effect"
 *
 * const wait = Jitter.full(Duration.seconds(4)).pipe(Effect.withRandom(Random.make(42)))
 * console.log(Duration.toMillis(Effect.runSync(wait)) <= 4000) // true
 * ```
 *
 * @since 0.1.0
 * @category jitter
 */
export const full: (wait: Duration.Duration) => Effect.Effect<Duration.Duration> = internal.full

/**
 * The wait plus uniform `[0, 1 second)`: python-backoff's `random_jitter`. It may exceed
 * a strategy's `maxValue`, which caps the wait before jitter.
 *
 * @example
 * ```ts
 * import { Jitter } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * const ms = Duration.toMillis(Effect.runSync(Jitter.random(Duration.seconds(2))))
 * console.log(ms >= 2000 && ms < 3000) // true
 * ```
 *
 * @since 0.1.0
 * @category jitter
 */
export const random: (wait: Duration.Duration) => Effect.Effect<Duration.Duration> = internal.random

/**
 * Half the wait plus uniform `[0, wait/2]`: never less than half the wait.
 *
 * @example
 * ```ts
 * import { Jitter } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * const ms = Duration.toMillis(Effect.runSync(Jitter.equal(Duration.seconds(2))))
 * console.log(ms >= 1000 && ms <= 2000) // true
 * ```
 *
 * @since 0.1.0
 * @category jitter
 */
export const equal: (wait: Duration.Duration) => Effect.Effect<Duration.Duration> = internal.equal

/**
 * The wait unchanged. `jitter: null` in the `Backoff` options means the same.
 *
 * @example
 * ```ts
 * import { Jitter } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * console.log(Duration.toMillis(Effect.runSync(Jitter.none(Duration.seconds(2))))) // 2000
 * ```
 *
 * @since 0.1.0
 * @category jitter
 */
export const none: (wait: Duration.Duration) => Effect.Effect<Duration.Duration> = internal.none

/**
 * The schedule with every delay jittered; the output is the jittered delay.
 *
 * **Details**
 *
 * Works with any `Schedule`, ours or Effect's, so a jittered policy can be used with
 * plain `Effect.retry`. A policy jittered this way is never jittered again: `Backoff`'s
 * default `Jitter.full` does not apply to it, and an explicit `jitter` option on top of
 * it is an `InvalidOptionError` (one of the two would be silently lost). A value that is
 * not a Schedule is an `InvalidOptionError` at once.
 *
 * @example
 * ```ts
 * import { Jitter, Wait } from "@effect-backoff/core"
 * import { Effect, Schedule } from "effect"
 *
 * const policy = Wait.expo().pipe(Jitter.apply(Jitter.equal), Schedule.intersect(Schedule.recurs(4)))
 * const flaky = Effect.fail("boom")
 * const program = Effect.retry(flaky, policy)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const apply: {
  (jitter: Jitter): <Out, In, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Duration.Duration, In, R>
  <Out, In, R>(self: Schedule.Schedule<Out, In, R>, jitter: Jitter): Schedule.Schedule<Duration.Duration, In, R>
} = internal.apply
