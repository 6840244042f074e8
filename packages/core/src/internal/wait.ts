import { Duration, Effect, Random, Schedule, ScheduleDecision, ScheduleInterval } from "effect"
import { delayOf, planOf } from "./plan.js"
import { durationMillis, invalid, MAX_WAIT_MILLIS } from "./validate.js"

/** @internal AWS decorrelated jitter: base, then min(maxValue, uniform(base, previous·3)); state per run. */
export const decorrelated = (options: {
  readonly base?: Duration.DurationInput | undefined
  readonly maxValue?: Duration.DurationInput | undefined
} = {}): Schedule.Schedule<Duration.Duration, unknown> => {
  const base = durationMillis("decorrelated.base", options.base ?? "1 second")
  // the default cap is 60 seconds, or base itself when base is longer
  const maxValue = options.maxValue === undefined
    ? Math.max(60_000, base)
    : durationMillis("decorrelated.maxValue", options.maxValue)
  if (maxValue < base) throw invalid("decorrelated.maxValue", options.maxValue, `at least base (${Duration.format(Duration.millis(base))})`)
  const cap = Math.min(maxValue, MAX_WAIT_MILLIS)
  return Schedule.makeWithState<number | undefined, unknown, Duration.Duration>(undefined, (now, _input, previous) => {
    const continueAfter = (wait: number) =>
      [wait, Duration.millis(wait), ScheduleDecision.continueWith(ScheduleInterval.after(now + wait))] as const
    if (previous === undefined) return Effect.succeed(continueAfter(Math.min(base, cap)))
    return Effect.map(Random.next, (u) => {
      const high = previous * 3
      return continueAfter(Math.min(cap, base + u * Math.max(0, high - base)))
    })
  })
}

/**
 * @internal The first `n` delays of a schedule, stepping it with input i at step i, without
 * sleeping: a bare strategy's waits exactly, any other schedule (a whole policy, jitter and
 * limits included) through its own step, the clock advanced by each delay.
 */
export const delays = <In, R>(
  schedule: Schedule.Schedule<unknown, In, R>,
  n: number,
  inputs: ReadonlyArray<In> = []
): Effect.Effect<ReadonlyArray<Duration.Duration>, never, R> => {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
    return Effect.die(invalid("delays.n", n, "an integer >= 0"))
  }
  const plan = planOf(schedule)
  const strategy = plan?.strategy
  if (
    strategy !== undefined && plan!.jitter === undefined && plan!.maxTries === Infinity && plan!.maxTime === Infinity &&
    plan!.onBackoff === undefined && plan!.onGiveup === undefined
  ) {
    // exact: no clock arithmetic in between
    return Effect.sync(() => {
      const out: Array<Duration.Duration> = []
      let step = undefined
      for (let i = 0; i < n; i++) {
        step = strategy.next(step, inputs[i] as In)
        if (step === undefined) break
        out.push(Duration.millis(step.wait))
      }
      return out
    })
  }
  return Effect.suspend(() => {
    const out: Array<Duration.Duration> = []
    const loop = (i: number, now: number, state: unknown): Effect.Effect<ReadonlyArray<Duration.Duration>, never, R> =>
      i >= n
        ? Effect.succeed(out)
        : Effect.flatMap(schedule.step(now, inputs[i] as In, state), ([next, _out, decision]) => {
          if (ScheduleDecision.isDone(decision)) return Effect.succeed(out)
          const delay = delayOf(decision, now)
          out.push(Duration.millis(delay))
          return loop(i + 1, now + delay, next)
        })
    return loop(0, 0, schedule.initial)
  })
}
