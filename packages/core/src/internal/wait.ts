import { Duration, Effect, Random, Schedule } from "effect"
// modules Effect 4 removed go through the namespace: a named import would fail at link time,
// before effectVersion.ts could name the versions needed
import * as effect from "effect"
import * as plans from "./plan.js"
import type { Step, Strategy } from "./plan.js"
import { delayOf, planOf } from "./plan.js"
import { durationMillis, invalid, MAX_WAIT_MILLIS, optionsObject } from "./validate.js"

export type { Step, Strategy } from "./plan.js"

/** @internal Wraps a pure strategy as a Schedule whose output and delay are the wait (a plan with nothing else). */
export const toSchedule = <In>(strategy: Strategy<In>): plans.PlanSchedule<In> =>
  plans.toSchedule(plans.fromStrategy(strategy))

/**
 * @internal The cap a strategy saturates at: `maxValue` if given, never above the timer
 * limit. A cap below the first wait is valid, as in Python: every wait is then the cap.
 */
const capOf = (option: string, maxValue: unknown): number =>
  maxValue === undefined ? MAX_WAIT_MILLIS : Math.min(durationMillis(option, maxValue), MAX_WAIT_MILLIS)

interface Growing extends Step {
  readonly n: number
  readonly capped: boolean
}

/**
 * @internal A strategy whose n-th wait is `f(n)` until a value reaches the cap (equality
 * included); from then on every wait is the cap. `f` may overflow to Infinity: that
 * reaches the cap too, so waits stay finite.
 */
const growing = (f: (n: number) => number, cap: number): Strategy => {
  const at = (n: number): Growing => {
    const value = f(n)
    return value >= cap || !(value === value) ? { wait: cap, n, capped: true } : { wait: value, n, capped: false }
  }
  const first = at(0)
  return {
    next: (previous: Growing | undefined) =>
      previous === undefined ? first : previous.capped ? previous : at(previous.n + 1)
  }
}

const EXPO_KEYS = ["base", "factor", "maxValue"]

/** @internal */
export const expo = (options: {
  readonly base?: number | undefined
  readonly factor?: Duration.DurationInput | undefined
  readonly maxValue?: Duration.DurationInput | undefined
} = {}): Strategy => {
  const o = optionsObject("expo", options, EXPO_KEYS)
  const base = o.base ?? 2
  if (typeof base !== "number" || !Number.isFinite(base) || base <= 0) {
    throw invalid("expo.base", base, "a finite number > 0")
  }
  const factor = durationMillis("expo.factor", o.factor ?? "1 second")
  const cap = capOf("expo.maxValue", o.maxValue)
  // factor 0 is 0 forever: 0 · Infinity (base^n overflowing) would be NaN, read as the cap
  return growing(factor === 0 ? () => 0 : (n) => factor * Math.pow(base, n), cap)
}

const LINEAR_KEYS = ["initial", "step", "maxValue"]

/** @internal */
export const linear = (options: {
  readonly initial?: Duration.DurationInput | undefined
  readonly step?: Duration.DurationInput | undefined
  readonly maxValue?: Duration.DurationInput | undefined
} = {}): Strategy => {
  const o = optionsObject("linear", options, LINEAR_KEYS)
  const initial = durationMillis("linear.initial", o.initial ?? "1 second")
  const step = o.step === undefined ? initial : durationMillis("linear.step", o.step)
  const cap = capOf("linear.maxValue", o.maxValue)
  return growing((n) => initial + n * step, cap)
}

interface Fibonacci extends Step {
  readonly following: number
  readonly capped: boolean
}

const FIBO_KEYS = ["unit", "maxValue"]

/** @internal Python's sequence 1 1 2 3 5 8 (x unit), not Schedule.fibonacci. */
export const fibo = (options: {
  readonly unit?: Duration.DurationInput | undefined
  readonly maxValue?: Duration.DurationInput | undefined
} = {}): Strategy => {
  const o = optionsObject("fibo", options, FIBO_KEYS)
  const unit = durationMillis("fibo.unit", o.unit ?? "1 second")
  const cap = capOf("fibo.maxValue", o.maxValue)
  const make = (value: number, following: number): Fibonacci =>
    value >= cap ? { wait: cap, following, capped: true } : { wait: value, following, capped: false }
  const first = make(unit, unit)
  return {
    next: (previous: Fibonacci | undefined) =>
      previous === undefined
        ? first
        : previous.capped
        ? previous
        : make(previous.following, previous.wait + previous.following)
  }
}

interface Listed extends Step {
  readonly index: number
}

const CONSTANT_KEYS = ["interval"]

/** @internal One interval forever, or the listed intervals and then the end. */
export const constant = (options: {
  readonly interval?: Duration.DurationInput | ReadonlyArray<Duration.DurationInput> | undefined
} = {}): Strategy => {
  const interval = optionsObject("constant", options, CONSTANT_KEYS).interval ?? "1 second"
  if (Array.isArray(interval)) {
    if (interval.length === 0) {
      throw invalid("constant.interval", interval, "a duration or a non-empty list of durations")
    }
    const steps: ReadonlyArray<Listed> = interval.map((input, index) => ({
      wait: Math.min(durationMillis(`constant.interval[${index}]`, input), MAX_WAIT_MILLIS),
      index
    }))
    return { next: (previous: Listed | undefined) => steps[previous === undefined ? 0 : previous.index + 1] }
  }
  const step: Step = { wait: Math.min(durationMillis("constant.interval", interval), MAX_WAIT_MILLIS) }
  return { next: () => step }
}

interface Decaying extends Step {
  readonly t: number
  readonly floored: boolean
}

const DECAY_KEYS = ["initialValue", "decayFactor", "minValue"]

/** @internal initial·e^(−k·t), t = 0, 1, 2 …; once it falls to `minValue` it stays there. */
export const decay = (options: {
  readonly initialValue?: Duration.DurationInput | undefined
  readonly decayFactor?: number | undefined
  readonly minValue?: Duration.DurationInput | undefined
} = {}): Strategy => {
  const o = optionsObject("decay", options, DECAY_KEYS)
  const initial = Math.min(durationMillis("decay.initialValue", o.initialValue ?? "1 second"), MAX_WAIT_MILLIS)
  const k = o.decayFactor ?? 1
  if (typeof k !== "number" || !Number.isFinite(k) || k < 0) {
    throw invalid("decay.decayFactor", k, "a finite number >= 0")
  }
  const floor = o.minValue === undefined ? 0 : Math.min(durationMillis("decay.minValue", o.minValue), MAX_WAIT_MILLIS)
  const at = (t: number): Decaying => {
    const value = initial * Math.exp(-k * t)
    return value <= floor ? { wait: floor, t, floored: true } : { wait: value, t, floored: false }
  }
  const first = at(0)
  return {
    next: (previous: Decaying | undefined) =>
      previous === undefined ? first : previous.floored ? previous : at(previous.t + 1)
  }
}

/** @internal The wait computed from the input; a bad computed value is a defect naming the strategy. */
export const runtime = <In>(f: (input: In) => Duration.DurationInput): Strategy<In> => {
  if (typeof f !== "function") throw invalid("runtime", f, "a function (input) => DurationInput")
  return {
    next: (_previous: Step | undefined, input: In) => ({
      wait: Math.min(durationMillis("wait", f(input)), MAX_WAIT_MILLIS)
    })
  }
}

const DECORRELATED_KEYS = ["base", "maxValue"]

/**
 * @internal AWS decorrelated jitter: base, then min(maxValue, uniform(base, previous·3));
 * state per run. A maxValue below base is valid: every wait is then maxValue.
 */
export const decorrelated = (options: {
  readonly base?: Duration.DurationInput | undefined
  readonly maxValue?: Duration.DurationInput | undefined
} = {}): Schedule.Schedule<Duration.Duration, unknown> => {
  const o = optionsObject("decorrelated", options, DECORRELATED_KEYS)
  const base = durationMillis("decorrelated.base", o.base ?? "1 second")
  // the default cap is 60 seconds, or base itself when base is longer
  const maxValue = o.maxValue === undefined
    ? Math.max(60_000, base)
    : durationMillis("decorrelated.maxValue", o.maxValue)
  const cap = Math.min(maxValue, MAX_WAIT_MILLIS)
  return Schedule.makeWithState<number | undefined, unknown, Duration.Duration>(undefined, (now, _input, previous) => {
    const continueAfter = (wait: number) =>
      [
        wait,
        Duration.millis(wait),
        effect.ScheduleDecision.continueWith(effect.ScheduleInterval.after(now + wait))
      ] as const
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
          if (effect.ScheduleDecision.isDone(decision)) return Effect.succeed(out)
          const delay = delayOf(decision, now)
          out.push(Duration.millis(delay))
          return loop(i + 1, now + delay, next)
        })
    return loop(0, 0, schedule.initial)
  })
}
