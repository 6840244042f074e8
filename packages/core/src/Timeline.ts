/**
 * See what a policy does: run it against scripted outcomes on a virtual clock and list
 * every call, backoff, success and give-up with its virtual time.
 *
 * @since 0.1.0
 */
// first: a wrong effect major fails here, with a sentence naming the versions needed
import "./internal/effectVersion.js"
import type { Duration, Effect, Exit, Schedule } from "effect"
import type {
  ExceptionOptions,
  GiveupReason,
  KnownOptions,
  OptionsContext,
  OptionsError,
  PredicateOptions
} from "./Backoff.js"
import * as internal from "./internal/timeline.js"

/**
 * A scripted outcome of one call: fail with an error or succeed with a value, taking
 * `duration` of virtual time.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome<A, E> = internal.Outcome<A, E>

/**
 * One thing that happened. A `Call` is stamped when the call starts; the others when the
 * call they follow ends. `wait` is present on `Backoff` events, `reason` on `Giveup`.
 * A `Rejected` event (since 0.3.0) is an attempt a circuit breaker (the `breaker` option)
 * rejected: no call was made; its `Backoff` or `Giveup` follows at the same time.
 *
 * @since 0.1.0
 * @category models
 */
export interface Event {
  readonly _tag: "Call" | "Rejected" | "Backoff" | "Success" | "Giveup"
  readonly at: Duration.Duration
  readonly tries: number
  readonly wait?: Duration.Duration
  /** @since 0.2.0 */
  readonly reason?: GiveupReason
}

/**
 * The events, the run's total virtual length and its `Exit`. `cutOff` is true when the
 * run was stopped after `maxCalls` calls (its `result` is then an interruption).
 *
 * @since 0.1.0
 * @category models
 */
export interface Result<A, E> {
  readonly events: ReadonlyArray<Event>
  readonly total: Duration.Duration
  readonly result: Exit.Exit<A, E>
  readonly calls: number
  readonly cutOff: boolean
}

/**
 * Settings of a timeline run: the jitter `seed` (a fixed default when absent) and
 * `maxCalls` (default 10,000), after which the run is cut off.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  readonly seed?: unknown
  readonly maxCalls?: number | undefined
}

/**
 * A call that fails with `error` after `duration` of virtual time (default 0).
 *
 * @example
 * ```ts
 * import { Timeline } from "@effect-backoff/core"
 *
 * const outcomes = [Timeline.fail("503", "200 millis"), Timeline.succeed("ok")]
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fail: <E>(error: E, duration?: Duration.DurationInput) => Outcome<never, E> = internal.fail

/**
 * A call that succeeds with `value` after `duration` of virtual time (default 0).
 *
 * @example
 * ```ts
 * import { Timeline } from "@effect-backoff/core"
 *
 * const outcome = Timeline.succeed({ id: 1 }, "1 second")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const succeed: <A>(value: A, duration?: Duration.DurationInput) => Outcome<A, never> = internal.succeed

/**
 * Runs a policy with `onException` semantics against scripted outcomes (the last repeats
 * if the run outlives the list) on its own virtual clock: the caller needs no TestClock
 * and its clock is left alone. Handlers and logging in the options run as usual.
 *
 * **Details**
 *
 * The policy is `onException`'s options, or a built policy Schedule (run as
 * `Backoff.retry({ schedule: policy })` runs it, without log lines), so users can see and
 * property-test their own policies.
 *
 * @example
 * ```ts
 * import { Timeline, Wait } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * const program = Timeline.run(
 *   { wait: Wait.expo(), maxTries: 4, jitter: null, logger: false },
 *   [Timeline.fail("503"), Timeline.fail("503"), Timeline.succeed("ok")]
 * )
 * const { events, total } = Effect.runSync(program)
 * console.log(events.map((e) => `${Duration.toSeconds(e.at)}s ${e._tag}`)) // ["0s Call", "0s Backoff", "1s Call", "1s Backoff", "3s Call", "3s Success"]
 * console.log(Duration.toSeconds(total)) // 3
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run: {
  <A, E, R>(
    policy: Schedule.Schedule<unknown, NoInfer<E>, R>,
    outcomes: ReadonlyArray<Outcome<A, E>>,
    settings?: Settings
  ): Effect.Effect<Result<A, E>, never, R>
  <A, E, const O extends ExceptionOptions<NoInfer<E>>>(
    options: KnownOptions<O, ExceptionOptions<NoInfer<E>>>,
    outcomes: ReadonlyArray<Outcome<A, E>>,
    settings?: Settings
  ): Effect.Effect<Result<A, E | OptionsError<O>>, never, OptionsContext<O>>
} = internal.run

/**
 * Runs a policy with `onPredicate` semantics against scripted values (plain values, or
 * `Timeline.succeed(value, duration)` for calls that take time) on a virtual clock.
 *
 * @example
 * ```ts
 * import { Timeline, Wait } from "@effect-backoff/core"
 * import { Effect, Exit } from "effect"
 *
 * const program = Timeline.runPredicate({ wait: Wait.constant(), jitter: null, logger: false }, [0, 0, 42])
 * const { calls, result } = Effect.runSync(program)
 * console.log(calls, Exit.isSuccess(result) && result.value) // 3 42
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const runPredicate: {
  <A, R>(
    policy: Schedule.Schedule<unknown, NoInfer<A>, R>,
    values: ReadonlyArray<A | Outcome<A, never>>,
    settings?: Settings
  ): Effect.Effect<Result<A, never>, never, R>
  <A, const O extends PredicateOptions<NoInfer<A>>>(
    options: KnownOptions<O, PredicateOptions<NoInfer<A>>>,
    values: ReadonlyArray<A | Outcome<A, never>>,
    settings?: Settings
  ): Effect.Effect<Result<A, OptionsError<O>>, never, OptionsContext<O>>
} = internal.runPredicate
