/**
 * Property tests of retry policies: arbitraries of waits, jitters, policies and call
 * outcomes, laws a policy must keep, and `check`, which runs a law over many generated
 * cases and prints a broken one as a trace of its Timeline events.
 *
 * Its own entry point, `@effect-backoff/core/Testing`, built on `effect/FastCheck`: a
 * project needs `effect` alone (no second copy of fast-check), and the main entry never
 * loads it.
 *
 * @since 0.3.0
 */
// first: a wrong effect major fails here, with a sentence naming the versions needed
import "./internal/effectVersion.js"
import type { Duration, Effect, Schedule } from "effect"
import type * as fc from "effect/FastCheck"
import * as internal from "./internal/testing.js"
import type { Jitter } from "./Jitter.js"
import type * as Timeline from "./Timeline.js"
import type { Wait as WaitStrategy } from "./Wait.js"

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------

/**
 * The wait strategies the arbitraries draw from: the `Wait` constructors (`"list"` is
 * `Wait.constant` with a finite list of intervals), and `"spaced"`, Effect's own
 * `Schedule.spaced` (a schedule the library steps through `Schedule.step`).
 *
 * @since 0.3.0
 * @category models
 */
export type Strategy = internal.StrategyName

/**
 * The jitters `Testing.jitter` and `Testing.policy` draw from (`Jitter.full` ...).
 *
 * @since 0.3.0
 * @category models
 */
export type JitterName = internal.JitterName

/**
 * The drivers `Run.callTimes` runs a policy under: this library's loop, `Effect.retry`
 * and `Stream.retry`.
 *
 * @since 0.3.0
 * @category models
 */
export type Driver = internal.Driver

/**
 * What a law looks at: one run of the policy on `Timeline` against the generated
 * outcomes, with the limits the policy declares.
 *
 * **Details**
 *
 * - `timeline`: the run's report (`events`, `total`, `result`, `calls`, `cutOff`).
 * - `waits`: each backoff's wait before jitter, as the policy's strategy gave it (for a
 *   schedule Testing cannot see into, its delays).
 * - `maxTries`, `maxTime`: the limits the policy keeps: those its `Backoff.maxTries` /
 *   `Backoff.maxTime` (or `Backoff.schedule` options) declare, lowered by `check`'s
 *   `maxTries` / `maxTime` options; `Infinity` when none. `jittered`: the policy may
 *   jitter its waits.
 * - `replay(seed?)`: runs the same case again (the same seed by default).
 * - `callTimes(driver)`: the start of every call when the policy runs under that driver
 *   on a fresh virtual clock, the first call taking no time (under `Effect.retry`
 *   `maxTime` counts from the end of the first call).
 *
 * @since 0.3.0
 * @category models
 */
export interface Run {
  readonly description: string
  readonly outcomes: ReadonlyArray<Timeline.Outcome<unknown, unknown>>
  readonly seed: number
  readonly maxTries: number
  readonly maxTime: Duration.Duration
  readonly jittered: boolean
  readonly maxCalls: number
  readonly timeline: Timeline.Result<unknown, unknown>
  readonly waits: ReadonlyArray<Duration.Duration>
  readonly replay: (seed?: number) => Timeline.Result<unknown, unknown>
  readonly callTimes: (driver: Driver) => ReadonlyArray<Duration.Duration>
}

/**
 * A law: a name, and a check that says in words what broke in a run (`undefined` when
 * the law holds).
 *
 * @since 0.3.0
 * @category models
 */
export interface Law {
  readonly name: string
  readonly check: (run: Run) => string | undefined
}

/**
 * One generated case: a policy, the outcomes of its calls and the jitter seed.
 *
 * @since 0.3.0
 * @category models
 */
export interface Case {
  readonly policy: Schedule.Schedule<unknown, never, unknown>
  readonly outcomes: ReadonlyArray<Timeline.Outcome<unknown, unknown>>
  readonly seed: number
}

/**
 * What `check` returns: a fast-check property (for `fc.assert`, `fc.check`) and an
 * `Effect` (for `it.effect`, `it.effect.prop`, `Effect.runSync`) that runs the property
 * itself and fails with a `LawError` on a counterexample.
 *
 * @since 0.3.0
 * @category models
 */
export interface Check extends Effect.Effect<void, internal.LawError>, fc.IProperty<[Case]> {}

/**
 * The failure of `check` run as an Effect: the law, what broke, the shrunk case's trace,
 * and the fast-check seed and path that replay it. Its message is all of these.
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Effect, Either } from "effect"
 *
 * const checked = Testing.check(Wait.constant().pipe(Backoff.maxTries(5)), Testing.withinMaxTries, { maxTries: 3 })
 * const result = Effect.runSync(Effect.either(checked))
 * console.log(Either.isLeft(result) && result.left.broken) // 5 calls, but maxTries is 3
 * ```
 *
 * @since 0.3.0
 * @category errors
 */
export { LawError } from "./internal/testing.js"

// ---------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------

/**
 * Options of `Testing.wait`: which `strategies` (default all), a `maxValue` every
 * generated wait keeps to (then every strategy is capped at or below it), and the
 * `scale` of the generated durations (default 1 second).
 *
 * @since 0.3.0
 * @category models
 */
export interface WaitOptions {
  readonly strategies?: ReadonlyArray<Strategy> | undefined
  readonly maxValue?: Duration.DurationInput | undefined
  readonly scale?: Duration.DurationInput | undefined
}

/**
 * Any wait strategy with valid options; a value prints as the code that builds it.
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 * import { Wait } from "@effect-backoff/core"
 * import { Duration, Effect, FastCheck as fc } from "effect"
 *
 * fc.assert(
 *   fc.property(Testing.wait({ maxValue: "5 seconds" }), (wait) =>
 *     Effect.runSync(Wait.delays(wait, 20)).every((d) => Duration.toMillis(d) <= 5000))
 * )
 * ```
 *
 * @since 0.3.0
 * @category arbitraries
 */
export const wait: (options?: WaitOptions) => fc.Arbitrary<WaitStrategy> = internal.wait

/**
 * One of the library's jitters (`Jitter.full`, `equal`, `random`, `none`), or only those
 * named in `jitters`; a value prints as its name.
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 * import { Jitter, Wait } from "@effect-backoff/core"
 * import { Duration, Effect, FastCheck as fc } from "effect"
 *
 * // full and equal jitter never lengthen a wait
 * fc.assert(
 *   fc.property(Testing.jitter({ jitters: ["full", "equal"] }), (jitter) =>
 *     Effect.runSync(Wait.delays(Wait.constant().pipe(Jitter.apply(jitter)), 10)).every((d) => Duration.toMillis(d) <= 1000))
 * )
 * ```
 *
 * @since 0.3.0
 * @category arbitraries
 */
export const jitter: (options?: { readonly jitters?: ReadonlyArray<JitterName> | undefined }) => fc.Arbitrary<Jitter> =
  internal.jitter

/**
 * Options of `Testing.policy`: those of `Testing.wait`, which `jitters`, `bounded`
 * (every policy has a `maxTries`, so every run ends: a `maxTime` alone does not end a
 * run whose waits are zero and whose calls take no time), and the highest `maxTries` (default 10)
 * and longest `maxTime` (default 30 seconds) generated.
 *
 * @since 0.3.0
 * @category models
 */
export interface PolicyOptions extends WaitOptions {
  readonly jitters?: ReadonlyArray<JitterName> | undefined
  readonly bounded?: boolean | undefined
  readonly maxTries?: number | undefined
  readonly maxTime?: Duration.DurationInput | undefined
}

/**
 * A policy as one Schedule: a wait strategy, a jitter, and sometimes `maxTries` and
 * `maxTime`, built with the combinators or with `Backoff.schedule(options)`. A value
 * prints as the code that builds it, and `check` reads its limits from what it was
 * built with.
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 * import { Effect } from "effect"
 *
 * Effect.runSync(Testing.check(Testing.policy({ bounded: true, strategies: ["expo", "fibo"] }), Testing.laws))
 * ```
 *
 * @since 0.3.0
 * @category arbitraries
 */
export const policy: (options?: PolicyOptions) => fc.Arbitrary<Schedule.Schedule<Duration.Duration, unknown>> =
  internal.policy

/**
 * Options of `Testing.outcomes`: the script's `minLength` (default 1) and `maxLength`
 * (default 8), whether it may hold `successes` (default true; false: failures only), the
 * longest call (`maxDuration`, default 1 second; most calls take no time), and the
 * arbitraries of the `error` (default `"503"`, `"timeout"`, `"connection reset"`) and the
 * `value` (default `"ok"`).
 *
 * @since 0.3.0
 * @category models
 */
export interface OutcomesOptions<A, E> {
  readonly minLength?: number | undefined
  readonly maxLength?: number | undefined
  readonly successes?: boolean | undefined
  readonly maxDuration?: Duration.DurationInput | undefined
  readonly error?: fc.Arbitrary<E> | undefined
  readonly value?: fc.Arbitrary<A> | undefined
}

/**
 * Scripts of failures and successes (`Timeline.fail` / `Timeline.succeed`), each call
 * taking some virtual time; the last outcome repeats if a run outlives the script.
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 * import { FastCheck as fc } from "effect"
 *
 * const [script] = fc.sample(Testing.outcomes({ successes: false, maxLength: 3 }), { numRuns: 1, seed: 7 })
 * console.log(script!.every((o) => o._tag === "Fail")) // true
 * ```
 *
 * @since 0.3.0
 * @category arbitraries
 */
export const outcomes: <A = string, E = string>(
  options?: OutcomesOptions<A, E>
) => fc.Arbitrary<ReadonlyArray<Timeline.Outcome<A, E>>> = internal.outcomes

// ---------------------------------------------------------------------------
// Laws
// ---------------------------------------------------------------------------

/**
 * A law of your own: `check` says in words what broke, or returns `undefined`.
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 *
 * const atMostFiveCalls = Testing.law("atMostFiveCalls", (run) =>
 *   run.timeline.calls > 5 ? `${run.timeline.calls} calls` : undefined)
 * ```
 *
 * @since 0.3.0
 * @category laws
 */
export const law: (name: string, check: (run: Run) => string | undefined) => Law = internal.law

/**
 * Every wait is a finite duration >= 0, time never goes back, and no run dies of an
 * invalid wait (a jitter or a `Wait.runtime` giving a negative, NaN or infinite one).
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 * import { Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * Effect.runSync(Testing.check(Wait.expo(), Testing.nonNegativeWaits))
 * ```
 *
 * @since 0.3.0
 * @category laws
 */
export const nonNegativeWaits: Law = internal.nonNegativeWaits

/**
 * No wait before jitter is above `maxValue` (a jitter such as `Jitter.random` may still
 * sleep longer: it adds to the wait).
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 * import { Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * Effect.runSync(Testing.check(Wait.expo({ maxValue: "30 seconds" }), Testing.capped("30 seconds")))
 * ```
 *
 * @since 0.3.0
 * @category laws
 */
export const capped: (maxValue: Duration.DurationInput) => Law = internal.capped

/**
 * A run makes at most `maxTries` calls.
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * Effect.runSync(Testing.check(Wait.expo().pipe(Backoff.maxTries(4)), Testing.withinMaxTries))
 * ```
 *
 * @since 0.3.0
 * @category laws
 */
export const withinMaxTries: Law = internal.withinMaxTries

/**
 * No call starts after `maxTime` (measured from the start of the first call), so a run
 * lasts at most `maxTime` plus its last call; the sleeps add up to at most `maxTime`.
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * Effect.runSync(Testing.check(Wait.expo().pipe(Backoff.maxTime("10 seconds")), Testing.withinMaxTime))
 * ```
 *
 * @since 0.3.0
 * @category laws
 */
export const withinMaxTime: Law = internal.withinMaxTime

/**
 * Python's `max_time` clamp: no sleep ends past `maxTime`, a run gives up for `maxTime`
 * only once it is reached (a cut sleep lands on it, never short), and without jitter each
 * sleep is the strategy's wait cut to what is left of the budget.
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * Effect.runSync(Testing.check(Wait.expo().pipe(Backoff.maxTime("10 seconds")), Testing.lastWaitClamped))
 * ```
 *
 * @since 0.3.0
 * @category laws
 */
export const lastWaitClamped: Law = internal.lastWaitClamped

/**
 * The same case run again with the same seed gives the same events (no randomness
 * outside Effect's `Random`, no state shared between runs).
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 * import { Jitter, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * Effect.runSync(Testing.check(Wait.expo().pipe(Jitter.apply(Jitter.full)), Testing.deterministicUnderSeed))
 * ```
 *
 * @since 0.3.0
 * @category laws
 */
export const deterministicUnderSeed: Law = internal.deterministicUnderSeed

/**
 * `Backoff.retry`, `Effect.retry` and `Stream.retry` make the same calls at the same
 * virtual times (the first call taking no time, since under `Effect.retry` `maxTime`
 * counts from its end).
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 * import { Backoff, Jitter, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const policy = Wait.fibo().pipe(Jitter.apply(Jitter.equal), Backoff.maxTries(6))
 * Effect.runSync(Testing.check(policy, Testing.sameUnderDrivers))
 * ```
 *
 * @since 0.3.0
 * @category laws
 */
export const sameUnderDrivers: Law = internal.sameUnderDrivers

/**
 * The laws every policy of this library keeps: `nonNegativeWaits`, `withinMaxTries`,
 * `withinMaxTime`, `lastWaitClamped`, `deterministicUnderSeed`, `sameUnderDrivers`.
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * Effect.runSync(Testing.check(Wait.linear().pipe(Backoff.maxTime("1 minute")), Testing.laws))
 * ```
 *
 * @since 0.3.0
 * @category laws
 */
export const laws: ReadonlyArray<Law> = internal.laws

/**
 * The readable trace of a run: the policy, the outcomes, the seed and every event with
 * its virtual time. What a broken case prints.
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 *
 * const show = Testing.law("show", (run) => {
 *   console.log(Testing.trace(run))
 *   return undefined
 * })
 * ```
 *
 * @since 0.3.0
 * @category laws
 */
export const trace: (run: Run) => string = internal.trace

// ---------------------------------------------------------------------------
// check
// ---------------------------------------------------------------------------

/**
 * Options of `check`: the `outcomes` arbitrary (default `Testing.outcomes()`); the
 * limits the policy is meant to keep when it does not declare them (`maxTries`,
 * `maxTime`: e.g. a policy built with Effect's own combinators); `maxCalls`, after which
 * an endless run is cut off (default 200); and, for the Effect form, fast-check's
 * `numRuns` (default 100) and `seed`.
 *
 * @since 0.3.0
 * @category models
 */
export interface CheckOptions<E> {
  readonly outcomes?: fc.Arbitrary<ReadonlyArray<Timeline.Outcome<unknown, E>>> | undefined
  readonly maxTries?: number | undefined
  readonly maxTime?: Duration.DurationInput | undefined
  readonly maxCalls?: number | undefined
  readonly numRuns?: number | undefined
  readonly seed?: number | undefined
}

/**
 * Checks a law (or a list of laws) against a policy, or against every policy an
 * arbitrary generates, over generated outcomes and jitter seeds, on virtual time.
 *
 * **Details**
 *
 * The result is a fast-check property, for `fc.assert(check, params)`, and an Effect
 * that runs the property itself (`numRuns`, `seed` from the options) and fails with a
 * `LawError`, for `it.effect` and `it.effect.prop`. A broken case is shrunk and prints
 * as its trace: the policy, the outcomes, the seed and the Timeline events.
 *
 * A policy whose input is not `unknown` (e.g. `Wait.runtime((e: HttpError) => ...)`)
 * needs `outcomes` whose errors it accepts. Runs are synchronous: a policy whose taps
 * return Promises cannot be checked.
 *
 * @example
 * ```ts
 * import * as Testing from "@effect-backoff/core/Testing"
 * import { Backoff, Jitter, Wait } from "@effect-backoff/core"
 * import { FastCheck as fc } from "effect"
 *
 * const policy = Wait.expo({ maxValue: "30 seconds" }).pipe(
 *   Jitter.apply(Jitter.full),
 *   Backoff.maxTries(5),
 *   Backoff.maxTime("2 minutes")
 * )
 * fc.assert(Testing.check(policy, [...Testing.laws, Testing.capped("30 seconds")]), { numRuns: 50 })
 * ```
 *
 * @since 0.3.0
 * @category checking
 */
export const check: {
  (
    policy:
      | Schedule.Schedule<unknown, string, never>
      | fc.Arbitrary<Schedule.Schedule<unknown, string, never>>,
    law: Law | ReadonlyArray<Law>,
    options?: CheckOptions<string>
  ): Check
  <E>(
    policy: Schedule.Schedule<unknown, E, never> | fc.Arbitrary<Schedule.Schedule<unknown, E, never>>,
    law: Law | ReadonlyArray<Law>,
    options: CheckOptions<E> & { readonly outcomes: fc.Arbitrary<ReadonlyArray<Timeline.Outcome<unknown, E>>> }
  ): Check
} = internal.check
