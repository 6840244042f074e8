import { Duration, Effect, Random } from "effect"
import type { Schedule } from "effect"
import { dual } from "effect/Function"
import * as plan from "./plan.js"
import type { JitterFunction } from "./plan.js"
import { invalid } from "./validate.js"

/** @internal */
export const full = plan.zeroPreserving((wait: Duration.Duration): Effect.Effect<Duration.Duration> =>
  Effect.map(Random.next, (u) => Duration.millis(u * Duration.toMillis(wait)))
)

/** @internal */
export const random = (wait: Duration.Duration): Effect.Effect<Duration.Duration> =>
  Effect.map(Random.next, (u) => Duration.millis(Duration.toMillis(wait) + u * 1000))

/** @internal */
export const equal = plan.zeroPreserving((wait: Duration.Duration): Effect.Effect<Duration.Duration> =>
  Effect.map(Random.next, (u) => {
    const half = Duration.toMillis(wait) / 2
    return Duration.millis(half + u * half)
  })
)

/** @internal */
export const none = plan.zeroPreserving((wait: Duration.Duration): Effect.Effect<Duration.Duration> =>
  Effect.succeed(wait)
)

/** @internal A `jitter` option: a jitter function, or null / `Jitter.none` for none (then `undefined`). */
export const resolve = (input: unknown, option = "jitter"): JitterFunction | undefined => {
  if (input === null || input === none) return undefined
  if (typeof input !== "function") {
    throw invalid(option, input, "a Jitter function (Jitter.full, Jitter.equal, ...) or null")
  }
  return input as JitterFunction
}

/** @internal `Jitter.apply`: the schedule with every delay jittered; its output is the jittered delay. */
export const apply = dual<
  (
    jitter: JitterFunction
  ) => <Out, In, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Duration.Duration, In, R>,
  <Out, In, R>(
    self: Schedule.Schedule<Out, In, R>,
    jitter: JitterFunction
  ) => Schedule.Schedule<Duration.Duration, In, R>
>(2, <Out, In, R>(self: Schedule.Schedule<Out, In, R>, jitter: JitterFunction) => {
  if (!plan.isAnySchedule(self)) throw invalid("Jitter.apply schedule", self, "a Schedule (e.g. Wait.expo())")
  const j = resolve(jitter, "Jitter.apply jitter")
  return plan.toSchedule(plan.withJitter(self, j)) as unknown as Schedule.Schedule<Duration.Duration, In, R>
})
