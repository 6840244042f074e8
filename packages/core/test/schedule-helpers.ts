import { Wait } from "@effect-backoff/core"
import type { Schedule } from "effect"
import { Clock, Duration, Effect, Fiber, Random, ScheduleDecision, ScheduleIntervals, TestClock } from "effect"

// Helpers shared by the Wait and Jitter tests.

/** Effect's timer limit; the library caps every wait here. */
export const MAX = 2 ** 31 - 1

/** One nanosecond, in milliseconds: the resolution of a Duration. */
export const NANO = 1e-6

/** The first `n` waits of a random strategy under a seeded `Random`, in milliseconds. */
export const seededMillis = (wait: Schedule.Schedule<unknown, unknown>, n: number, seed: unknown): Array<number> =>
  Effect.runSync(Wait.delays(wait, n).pipe(Effect.withRandom(Random.make(seed)))).map(Duration.toMillis)

/** Steps a schedule by hand, returning each output with the delay it chose (ms). */
export const steps = <Out, In>(schedule: Schedule.Schedule<Out, In>, n: number, input: In) =>
  Effect.gen(function*() {
    let state = schedule.initial
    let now = 0
    const out: Array<{ readonly output: Out; readonly delay: number }> = []
    for (let i = 0; i < n; i++) {
      const [next, output, decision] = yield* schedule.step(now, input, state)
      if (ScheduleDecision.isDone(decision)) break
      const start = ScheduleIntervals.start(decision.intervals)
      out.push({ output, delay: start - now })
      state = next
      now = start
    }
    return out
  })

/**
 * Runs `attempt` under plain `Effect.retry(schedule)` on the TestClock, advancing it by
 * `total`, and returns the virtual time (ms) of every call and the run's exit.
 */
export const retryTimeline = <E>(
  schedule: Schedule.Schedule<unknown, E>,
  attempt: (call: number) => Effect.Effect<string, E>,
  total: Duration.DurationInput
) =>
  Effect.gen(function*() {
    const times: Array<number> = []
    const call = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      times.push(now)
      return attempt(times.length)
    })
    const fiber = yield* Effect.fork(Effect.exit(Effect.retry(call, schedule)))
    yield* TestClock.adjust(total)
    const exit = yield* Fiber.join(fiber)
    return { times, exit }
  })

/** Differences between consecutive call times: the waits actually slept. */
export const gaps = (times: ReadonlyArray<number>): Array<number> => times.slice(1).map((t, i) => t - times[i]!)

/**
 * The first element failing `ok` (with its index), or undefined: one assertion that
 * still checks every element, and names the offender when it fails.
 */
export const firstBad = <A>(xs: ReadonlyArray<A>, ok: (x: A, i: number) => boolean) => {
  const index = xs.findIndex((x, i) => !ok(x, i))
  return index === -1 ? undefined : { index, value: xs[index], previous: xs[index - 1] }
}
