/**
 * Jitter spreads retries out so that many clients do not retry in step.
 *
 * A `Jitter` maps a wait to the wait actually slept, drawing from Effect's `Random`
 * service, so a seeded `Random` makes every draw reproducible.
 *
 * @since 0.1.0
 */
import type { Duration, Effect, Schedule } from "effect"
import * as internal from "./internal/jitter.js"

/**
 * A function from the strategy's wait to the wait actually slept.
 *
 * @since 0.1.0
 * @category models
 */
export type Jitter = (wait: Duration.Duration) => Effect.Effect<Duration.Duration>

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
export const full: Jitter = internal.full

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
export const random: Jitter = internal.random

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
export const equal: Jitter = internal.equal

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
export const none: Jitter = internal.none

/**
 * The schedule with every delay jittered; the output is the jittered delay.
 *
 * **Details**
 *
 * Works with any `Schedule`, ours or Effect's, so a jittered policy can be used with
 * plain `Effect.retry`. Do not pass a schedule jittered this way to `Backoff` without
 * `jitter: null`, or it is jittered twice.
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
} = internal.apply as any
