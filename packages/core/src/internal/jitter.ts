import { Duration, Effect, Random, Schedule, ScheduleDecision, ScheduleInterval, ScheduleIntervals } from "effect"
import { dual } from "effect/Function"
import type { Jitter } from "../Jitter.js"
import { invalid, MAX_WAIT_MILLIS } from "./validate.js"

/** @internal */
export const full: Jitter = (wait) => Effect.map(Random.next, (u) => Duration.millis(u * Duration.toMillis(wait)))

/** @internal */
export const random: Jitter = (wait) =>
  Effect.map(Random.next, (u) => Duration.millis(Duration.toMillis(wait) + u * 1000))

/** @internal */
export const equal: Jitter = (wait) =>
  Effect.map(Random.next, (u) => {
    const half = Duration.toMillis(wait) / 2
    return Duration.millis(half + u * half)
  })

/** @internal */
export const none: Jitter = (wait) => Effect.succeed(wait)

/** @internal A `jitter` option: a Jitter function, or null/none for no jitter (then `undefined`). */
export const resolve = (input: unknown, option = "jitter"): Jitter | undefined => {
  if (input === null || input === none) return undefined
  if (typeof input !== "function") throw invalid(option, input, "a Jitter function (Jitter.full, Jitter.equal, ...) or null")
  return input as Jitter
}

/** @internal */
export const apply = dual<
  <In, R>(jitter: Jitter) => <Out>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Duration.Duration, In, R>,
  <Out, In, R>(self: Schedule.Schedule<Out, In, R>, jitter: Jitter) => Schedule.Schedule<Duration.Duration, In, R>
>(2, <Out, In, R>(self: Schedule.Schedule<Out, In, R>, jitter: Jitter) => {
  const j = resolve(jitter, "Jitter.apply jitter") ?? none
  return Schedule.makeWithState(self.initial, (now: number, input: In, state: unknown) =>
    Effect.flatMap(self.step(now, input, state), ([next, _out, decision]) => {
      if (ScheduleDecision.isDone(decision)) {
        return Effect.succeed([next, Duration.zero, decision] as const)
      }
      const delay = Math.max(0, ScheduleIntervals.start(decision.intervals) - now)
      // jitter never pushes a delay past the timer limit (a longer sleep would never wake)
      const limit = Math.max(delay, MAX_WAIT_MILLIS)
      return Effect.map(j(Duration.millis(delay)), (drawn) => {
        const jittered = Duration.toMillis(drawn) > limit ? Duration.millis(limit) : drawn
        return [
          next,
          jittered,
          ScheduleDecision.continueWith(ScheduleInterval.after(now + Duration.toMillis(jittered)))
        ] as const
      })
    }))
})
