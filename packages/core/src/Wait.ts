/**
 * Wait strategies: how long to wait before each retry.
 *
 * Every strategy is a `Schedule<Duration, In>` whose output is the wait before jitter and
 * whose delay is that wait, so it works on its own with `Effect.retry` / `Effect.repeat`
 * and composes with every `Schedule` combinator. Plain numbers are milliseconds (Effect's
 * `DurationInput` rule); write units out (`"2 seconds"`).
 *
 * No strategy ever waits longer than 2,147,483,647 ms (about 24.8 days): that is the
 * longest sleep Effect's clock can arm, and a longer one would never wake up.
 *
 * @since 0.1.0
 */
// first: a wrong effect major fails here, with a sentence naming the versions needed
import "./internal/effectVersion.js"
import type { Duration, Effect, Schedule } from "effect"
import * as internal from "./internal/wait.js"

/**
 * A wait strategy: a `Schedule` that outputs the wait (before jitter) and delays by it.
 * `In` is what the schedule is fed: the error under retry, the value under repeat.
 *
 * @since 0.1.0
 * @category models
 */
export type Wait<In = unknown> = Schedule.Schedule<Duration.Duration, In>

/**
 * Exponential: `factor · base^n` for n = 0, 1, 2 … (1s 2s 4s 8s by default).
 *
 * **Details**
 *
 * Once a value reaches `maxValue` (equality included) every later wait is `maxValue`; a
 * `maxValue` below `factor` is valid, as in Python: every wait is then `maxValue`.
 * `base` must be a finite number > 0. Every constructor checks its options object: a
 * value that is not an object (`null`, `5`, `"fast"`) or an unknown key (`max_value`) is
 * an `InvalidOptionError` naming it.
 *
 * @example
 * ```ts
 * import { Wait } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * const waits = Effect.runSync(Wait.delays(Wait.expo({ factor: "3 seconds", maxValue: "16 seconds" }), 5))
 * console.log(waits.map(Duration.toSeconds)) // [3, 6, 12, 16, 16]
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const expo = (options?: {
  readonly base?: number | undefined
  readonly factor?: Duration.DurationInput | undefined
  readonly maxValue?: Duration.DurationInput | undefined
}): Wait => internal.toSchedule(internal.expo(options))

/**
 * Fibonacci: 1 1 2 3 5 8 13 … times `unit` (Python's sequence, not `Schedule.fibonacci`),
 * capped at `maxValue` like `expo`.
 *
 * @example
 * ```ts
 * import { Wait } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * const waits = Effect.runSync(Wait.delays(Wait.fibo({ maxValue: "5 seconds" }), 7))
 * console.log(waits.map(Duration.toSeconds)) // [1, 1, 2, 3, 5, 5, 5]
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fibo = (options?: {
  readonly unit?: Duration.DurationInput | undefined
  readonly maxValue?: Duration.DurationInput | undefined
}): Wait => internal.toSchedule(internal.fibo(options))

/**
 * The same interval forever; or, given a non-empty list, exactly those waits and then the
 * schedule ends (under `Backoff`, that means give up).
 *
 * @example
 * ```ts
 * import { Wait } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * const waits = Effect.runSync(Wait.delays(Wait.constant({ interval: ["1 second", "2 seconds", "3 seconds"] }), 10))
 * console.log(waits.map(Duration.toSeconds)) // [1, 2, 3]
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const constant = (options?: {
  readonly interval?: Duration.DurationInput | ReadonlyArray<Duration.DurationInput> | undefined
}): Wait => internal.toSchedule(internal.constant(options))

/**
 * Exponential decay: `initialValue · e^(−decayFactor · t)`, t = 0, 1, 2 …, floored at
 * `minValue` (0 when absent); once it falls to the floor it stays there.
 *
 * @example
 * ```ts
 * import { Wait } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * const waits = Effect.runSync(Wait.delays(Wait.decay({ initialValue: "10 seconds", decayFactor: 0.5, minValue: "4 seconds" }), 4))
 * console.log(waits.map((d) => Duration.toSeconds(d).toFixed(2))) // ["10.00", "6.07", "4.00", "4.00"]
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const decay = (options?: {
  readonly initialValue?: Duration.DurationInput | undefined
  readonly decayFactor?: number | undefined
  readonly minValue?: Duration.DurationInput | undefined
}): Wait => internal.toSchedule(internal.decay(options))

/**
 * A wait computed from the schedule's input: the failure under `onException` /
 * `Effect.retry`, the value under `onPredicate` / `Effect.repeat`.
 *
 * **Details**
 *
 * `Backoff` applies its default full jitter to these waits too (as python-backoff does):
 * pass `jitter: null` to honour a computed wait exactly. A computed wait that is not a
 * valid duration is a defect carrying an `InvalidOptionError`.
 *
 * @example
 * ```ts
 * import { Wait } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * const fromHeader = Wait.runtime((e: { readonly retryAfterSeconds: number }) => Duration.seconds(e.retryAfterSeconds))
 * const waits = Effect.runSync(Wait.delays(fromHeader, 2, [{ retryAfterSeconds: 7 }, { retryAfterSeconds: 2 }]))
 * console.log(waits.map(Duration.toSeconds)) // [7, 2]
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const runtime = <In>(f: (input: In) => Duration.DurationInput): Wait<In> =>
  internal.toSchedule(internal.runtime(f))

/**
 * Linear: `initial + n · step` (step defaults to initial), capped at `maxValue`.
 *
 * @example
 * ```ts
 * import { Wait } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * const waits = Effect.runSync(Wait.delays(Wait.linear({ initial: "1 second", step: "2 seconds", maxValue: "6 seconds" }), 5))
 * console.log(waits.map(Duration.toSeconds)) // [1, 3, 5, 6, 6]
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const linear = (options?: {
  readonly initial?: Duration.DurationInput | undefined
  readonly step?: Duration.DurationInput | undefined
  readonly maxValue?: Duration.DurationInput | undefined
}): Wait => internal.toSchedule(internal.linear(options))

/**
 * AWS "decorrelated jitter": first `base`, then `min(maxValue, uniform(base, previous · 3))`.
 *
 * **Details**
 *
 * `maxValue` defaults to 60 seconds (or `base`, when longer); a `maxValue` below `base`
 * is valid: every wait is then `maxValue`.
 *
 * Random by construction, drawing from Effect's `Random`; its state lives in each run.
 * It is already jittered, so pair it with `jitter: null` under `Backoff`.
 *
 * @example
 * ```ts
 * import { Wait } from "@effect-backoff/core"
 * import { Duration, Effect, Random } from "effect"
 *
 * const waits = Effect.runSync(
 *   Wait.delays(Wait.decorrelated({ base: "1 second", maxValue: "20 seconds" }), 5).pipe(Effect.withRandom(Random.make("seed")))
 * )
 * console.log(waits.every((d) => Duration.toSeconds(d) >= 1 && Duration.toSeconds(d) <= 20)) // true
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const decorrelated: (options?: {
  readonly base?: Duration.DurationInput | undefined
  readonly maxValue?: Duration.DurationInput | undefined
}) => Wait = internal.decorrelated

/**
 * The first `n` waits of a strategy (or of any `Schedule`'s delays), without sleeping.
 * Input `i` is fed to step `i` (missing inputs are `undefined`); a strategy that ends
 * early gives a shorter array.
 *
 * @example
 * ```ts
 * import { Wait } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * console.log(Effect.runSync(Wait.delays(Wait.expo(), 4)).map(Duration.toSeconds)) // [1, 2, 4, 8]
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const delays: <In, R = never>(
  wait: Schedule.Schedule<unknown, In, R>,
  n: number,
  inputs?: ReadonlyArray<In>
) => Effect.Effect<ReadonlyArray<Duration.Duration>, never, R> = internal.delays
