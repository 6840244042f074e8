/**
 * The retry engine: python-backoff's `on_exception` and `on_predicate` for Effect.
 *
 * @since 0.1.0
 */
import type { Config, Duration, Effect, LogLevel, Option, Schedule } from "effect"
import type { InvalidOptionError } from "./InvalidOptionError.js"
import * as internal from "./internal/backoff.js"
import * as observe from "./internal/observe.js"
import type { Jitter } from "./Jitter.js"
import type { RetryBudget } from "./RetryBudget.js"

export {
  /**
   * @since 0.1.0
   * @category errors
   */
  InvalidOptionError
} from "./InvalidOptionError.js"

/**
 * What every handler receives: the run's target and arguments, `tries` (the 1-based
 * number of the call just finished) and `elapsed` (from the start of the first call to
 * the end of that call).
 *
 * @since 0.1.0
 * @category models
 */
export interface BaseDetails {
  readonly target: string
  readonly args: ReadonlyArray<unknown>
  readonly tries: number
  readonly elapsed: Duration.Duration
}

/**
 * Details of a success. `value` is present for `onPredicate` (and HTTP) runs only.
 *
 * @since 0.1.0
 * @category models
 */
export interface SuccessDetails<A = unknown> extends BaseDetails {
  readonly value?: A
}

/**
 * Details of a backoff: `wait` is the exact sleep about to happen, after jitter and the
 * `maxTime` clamp; `exception` (onException) or `value` (onPredicate) is what was retried.
 *
 * @since 0.1.0
 * @category models
 */
export interface BackoffDetails<A = unknown, E = unknown> extends BaseDetails {
  readonly wait: Duration.Duration
  readonly value?: A
  readonly exception?: E
}

/**
 * Why a run gave up: the `giveup` option said so, `maxTries` or `maxTime` was reached,
 * the wait strategy ran out (`"exhausted"`), or the retry budget had no token left.
 *
 * @since 0.2.0
 * @category models
 */
export type GiveupReason = "giveup" | "maxTries" | "maxTime" | "exhausted" | "budget"

/**
 * Details of giving up: the last `exception` (onException) or `value` (onPredicate), and
 * the `reason` (since 0.2.0).
 *
 * @since 0.1.0
 * @category models
 */
export interface GiveupDetails<A = unknown, E = unknown> extends BaseDetails {
  readonly value?: A
  readonly exception?: E
  readonly reason: GiveupReason
}

/**
 * Any of the three details objects. A key that does not apply is absent, not `undefined`.
 *
 * @since 0.1.0
 * @category models
 */
export type Details<A = unknown, E = unknown> = SuccessDetails<A> | BackoffDetails<A, E> | GiveupDetails<A, E>

/**
 * An event handler. It may return nothing, a Promise or an Effect; it is awaited before
 * the loop goes on. A handler that throws, rejects or dies makes the run die with that
 * defect.
 *
 * @since 0.1.0
 * @category models
 */
export type Handler<D, R = never> = (details: D) => void | PromiseLike<void> | Effect.Effect<void, never, R>

/**
 * One handler, or several run in array order.
 *
 * @since 0.1.0
 * @category models
 */
export type Handlers<D, R = never> = Handler<D, R> | ReadonlyArray<Handler<D, R>>

/**
 * A value given statically, or read once per run from an `Effect` or a `Config`.
 *
 * @since 0.1.0
 * @category models
 */
export type RuntimeOption<A> = A | Effect.Effect<A, any, any> | Config.Config<A>

/**
 * Which failures `onException` retries: an error class (subclasses included), a `_tag`
 * string, a predicate or refinement, or an array of these.
 *
 * @since 0.1.0
 * @category models
 */
export type ExceptionFilter<E = unknown> =
  | string
  | (abstract new(...args: any) => any)
  | ((error: E) => boolean)
  | ReadonlyArray<string | (abstract new(...args: any) => any) | ((error: E) => boolean)>

/**
 * The options both retry forms share.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommonOptions<In, A, E> {
  /** A wait strategy (default `Wait.expo()`), or an Effect producing one, read per run. */
  readonly wait?: Schedule.Schedule<unknown, In, any> | Effect.Effect<Schedule.Schedule<unknown, In, any>, any, any> | undefined
  /** Total calls, the first included (default unlimited). An integer >= 1 or Infinity. */
  readonly maxTries?: RuntimeOption<number> | undefined
  /** Time budget from the start of the first call (default unlimited). */
  readonly maxTime?: RuntimeOption<Duration.DurationInput> | undefined
  /** Default `Jitter.full`; `null` for none. */
  readonly jitter?: Jitter | null | undefined
  readonly onSuccess?: Handlers<SuccessDetails<A>, any> | undefined
  readonly onBackoff?: Handlers<BackoffDetails<A, E>, any> | undefined
  readonly onGiveup?: Handlers<GiveupDetails<A, E>, any> | undefined
  /** `false` turns the default log lines off. */
  readonly logger?: boolean | undefined
  /** Level of `Backing off …` lines (default Info). */
  readonly backoffLogLevel?: LogLevel.LogLevel | undefined
  /** Level of `Giving up …` lines (default Error). */
  readonly giveupLogLevel?: LogLevel.LogLevel | undefined
  /** The name used in details and logs (default: the function's name, else "effect"). */
  readonly target?: string | undefined
  /** Wrap each run in a span: `true` names it after the target, a string names it. Default none. */
  readonly span?: boolean | string | undefined
  /**
   * A retry budget (since 0.2.0): `true` uses the `RetryBudget` in context (the effect
   * then requires it), a `RetryBudget` value uses that one. Each run deposits once; each
   * retry withdraws a token, and with none left the run gives up (`reason: "budget"`).
   */
  readonly budget?: boolean | RetryBudget | undefined
}

/**
 * Options of `onException`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExceptionOptions<E = any> extends CommonOptions<E, never, E> {
  /** Which failures are retried (default: every failure). */
  readonly exception?: ExceptionFilter<E> | undefined
  /** `true` gives up at once on this error. */
  readonly giveup?: ((error: E) => boolean | Effect.Effect<boolean, never, any>) | undefined
  /** `false`: the result becomes `Option<A>`, `None` on giving up. Default `true`. */
  readonly raiseOnGiveup?: boolean | undefined
}

/**
 * Options of `onPredicate`.
 *
 * @since 0.1.0
 * @category models
 */
export interface PredicateOptions<A = any> extends CommonOptions<A, A, never> {
  /** `true` means run again (default: the value is falsy). */
  readonly predicate?: ((value: A) => boolean | Effect.Effect<boolean, never, any>) | undefined
}

type RuntimeError<X> = X extends Effect.Effect<any, infer E, any> ? E | InvalidOptionError : never

/**
 * The failures options add: the errors of runtime options, and `InvalidOptionError` when
 * any option is read at run time.
 *
 * @since 0.1.0
 * @category type-level
 */
export type OptionsError<O> =
  | (O extends { readonly maxTries: infer X } ? RuntimeError<X> : never)
  | (O extends { readonly maxTime: infer X } ? RuntimeError<X> : never)
  | (O extends { readonly wait: infer X } ? RuntimeError<X> : never)

type ContextOf<X> = X extends Schedule.Schedule<any, any, infer R> ? R
  : X extends Effect.Effect<infer V, any, infer R> ? R | (V extends Schedule.Schedule<any, any, infer R2> ? R2 : never)
  : X extends ReadonlyArray<infer H> ? ContextOf<H>
  : X extends (...args: any) => infer Ret ? ContextOf<Ret>
  : never

/**
 * The services options require: those of runtime options, handlers and predicates
 * returning Effects, and of the wait schedule.
 *
 * @since 0.1.0
 * @category type-level
 */
export type OptionsContext<O> =
  | { [K in keyof O]-?: NotAny<ContextOf<O[K]>> }[keyof O]
  | (O extends { readonly budget: infer B } ? (true extends B ? RetryBudget : never) : never)

// options typed with the wide `ExceptionOptions` / `PredicateOptions` (not inferred) carry
// the declared `any` of their handler and Effect types: that says nothing about services
type NotAny<R> = 0 extends 1 & R ? never : R

type ExceptionValue<A, O> = O extends { readonly raiseOnGiveup: false } ? Option.Option<A> : A

type Unwrap<Ret> = Ret extends Effect.Effect<infer A, any, any> ? A : Ret extends PromiseLike<infer A> ? A : Ret
type ErrorOf<Ret> = Ret extends Effect.Effect<any, infer E, any> ? E : unknown
type ContextOfResult<Ret> = Ret extends Effect.Effect<any, any, infer R> ? R : never

/**
 * What applying `onException` to an Effect or a function gives.
 *
 * @since 0.1.0
 * @category type-level
 */
export type ExceptionApplied<Self, O> = Self extends Effect.Effect<infer A, infer E, infer R>
  ? Effect.Effect<ExceptionValue<A, O>, E | OptionsError<O>, R | OptionsContext<O>>
  : Self extends (...args: infer Args) => infer Ret ? (
      ...args: Args
    ) => Effect.Effect<
      ExceptionValue<Unwrap<Ret>, O>,
      ErrorOf<Ret> | OptionsError<O>,
      ContextOfResult<Ret> | OptionsContext<O>
    >
  : never

/**
 * What applying `onPredicate` to an Effect or a function gives.
 *
 * @since 0.1.0
 * @category type-level
 */
export type PredicateApplied<Self, O> = Self extends Effect.Effect<infer A, infer E, infer R>
  ? Effect.Effect<A, E | OptionsError<O>, R | OptionsContext<O>>
  : Self extends (...args: infer Args) => infer Ret ? (
      ...args: Args
    ) => Effect.Effect<Unwrap<Ret>, ErrorOf<Ret> | OptionsError<O>, ContextOfResult<Ret> | OptionsContext<O>>
  : never

/**
 * What `onException(options)` returns: applies the policy to an Effect (giving an Effect)
 * or to a function (giving a function with the same parameters). One generic signature,
 * so `pipe` infers through it.
 *
 * @since 0.1.0
 * @category models
 */
export type ExceptionRetry<O> = <Self extends Effect.Effect<any, any, any> | ((...args: any) => any)>(
  self: Self
) => ExceptionApplied<Self, O>

/**
 * What `onPredicate(options)` returns: applies the policy to an Effect or a function.
 *
 * @since 0.1.0
 * @category models
 */
export type PredicateRepeat<O> = <Self extends Effect.Effect<any, any, any> | ((...args: any) => any)>(
  self: Self
) => PredicateApplied<Self, O>

/**
 * Retries an effect (or a function) while it fails with a matching error, with a wait
 * strategy, jitter, limits and event handlers: python-backoff's `on_exception`.
 *
 * **Details**
 *
 * After a failed attempt, in this order: `giveup(error)` → `tries == maxTries` →
 * `elapsed >= maxTime` → the strategy ends → onBackoff → sleep `min(jitter(wait),
 * maxTime − elapsed)` → the next attempt. Any of the first four runs onGiveup and fails
 * with the last error itself (or succeeds with `None` when `raiseOnGiveup: false`).
 * Errors the `exception` filter does not match pass through at once; defects and
 * interruption are never retried. Invalid options throw `InvalidOptionError` here.
 *
 * @example
 * ```ts
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Data, Effect } from "effect"
 *
 * class HttpError extends Data.TaggedError("HttpError")<{ readonly status: number }> {}
 *
 * let calls = 0
 * const getUrl = (url: string) =>
 *   Effect.suspend(() => ++calls < 3 ? Effect.fail(new HttpError({ status: 503 })) : Effect.succeed(`body of ${url}`))
 *
 * const getWithRetry = Backoff.onException(getUrl, { wait: Wait.constant({ interval: "10 millis" }), maxTries: 5, exception: HttpError })
 * Effect.runPromise(getWithRetry("/x")).then(console.log) // "body of /x" after 3 calls
 * ```
 *
 * @since 0.1.0
 * @category retry
 */
export const onException: {
  (): ExceptionRetry<{}>
  <const O extends ExceptionOptions>(options: O): ExceptionRetry<O>
  <A, E, R, const O extends ExceptionOptions<NoInfer<E>>>(
    self: Effect.Effect<A, E, R>,
    options: O
  ): Effect.Effect<ExceptionValue<A, O>, E | OptionsError<O>, R | OptionsContext<O>>
  <Args extends ReadonlyArray<any>, Ret, const O extends ExceptionOptions<ErrorOf<NoInfer<Ret>>>>(
    self: (...args: Args) => Ret,
    options: O
  ): (
    ...args: Args
  ) => Effect.Effect<ExceptionValue<Unwrap<Ret>, O>, ErrorOf<Ret> | OptionsError<O>, ContextOfResult<Ret> | OptionsContext<O>>
} = function(this: unknown) {
  // dual by hand: the data-last form must validate and resolve its options now, once,
  // not each time the returned function is applied
  return arguments.length >= 2 ? internal.onException(arguments[1])(arguments[0]) : internal.onException(arguments[0])
} as any

/**
 * Re-runs an effect (or a function) while `predicate(value)` holds (default: the value is
 * falsy) and returns the last value when it gives up: python-backoff's `on_predicate`.
 *
 * **Details**
 *
 * The loop is the one `onException` uses, fed the value instead of the error. Failures
 * pass through untouched. Useful for polling.
 *
 * @example
 * ```ts
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * let polls = 0
 * const readQueue = Effect.sync(() => ++polls < 4 ? [] : ["message"])
 *
 * const poll = Backoff.onPredicate({
 *   wait: Wait.fibo({ unit: "10 millis", maxValue: "50 millis" }),
 *   predicate: (xs: ReadonlyArray<string>) => xs.length === 0,
 *   jitter: null
 * })
 * Effect.runPromise(poll(readQueue)).then(console.log) // ["message"]
 * ```
 *
 * @since 0.1.0
 * @category repeat
 */
export const onPredicate: {
  (): PredicateRepeat<{}>
  <const O extends PredicateOptions>(options: O): PredicateRepeat<O>
  <A, E, R, const O extends PredicateOptions<NoInfer<A>>>(
    self: Effect.Effect<A, E, R>,
    options: O
  ): Effect.Effect<A, E | OptionsError<O>, R | OptionsContext<O>>
  <Args extends ReadonlyArray<any>, Ret, const O extends PredicateOptions<Unwrap<NoInfer<Ret>>>>(
    self: (...args: Args) => Ret,
    options: O
  ): (
    ...args: Args
  ) => Effect.Effect<Unwrap<Ret>, ErrorOf<Ret> | OptionsError<O>, ContextOfResult<Ret> | OptionsContext<O>>
} = function(this: unknown) {
  // dual by hand: the data-last form must validate and resolve its options now, once,
  // not each time the returned function is applied
  return arguments.length >= 2 ? internal.onPredicate(arguments[1])(arguments[0]) : internal.onPredicate(arguments[0])
} as any

/**
 * The metrics `withMetrics` records, each tagged by `target`: `retries` (counter, one per
 * backoff), `giveups` (counter), `successesAfterRetry` (counter), `waits` (histogram of
 * sleeps in seconds), `attempts` (histogram of calls per finished run) and, since 0.2.0,
 * `budgetExhausted` (counter of give-ups for want of retry budget).
 *
 * @example
 * ```ts
 * import { Backoff } from "@effect-backoff/core"
 * import { Effect, Metric } from "effect"
 *
 * const retriesOfGetUrl = Metric.value(Backoff.metrics.retries.pipe(Metric.tagged("target", "getUrl")))
 * Effect.runPromise(retriesOfGetUrl).then((state) => console.log(state.count))
 * ```
 *
 * @since 0.1.0
 * @category observability
 */
export const metrics = {
  retries: observe.retries,
  budgetExhausted: observe.budgetExhausted,
  giveups: observe.giveups,
  successesAfterRetry: observe.successesAfterRetry,
  waits: observe.waits,
  attempts: observe.attempts
} as const

/**
 * Options with handlers appended that record `Backoff.metrics`. Opt-in: without it no
 * metric is touched and the success path does no extra work.
 *
 * @example
 * ```ts
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const policy = Backoff.onException(Backoff.withMetrics({ wait: Wait.expo({ factor: "10 millis" }), maxTries: 3 }))
 * const program = policy(Effect.fail("boom"))
 * ```
 *
 * @since 0.1.0
 * @category observability
 */
export const withMetrics: <const O extends CommonOptions<any, any, any>>(options: O) => O = observe.withMetrics

/**
 * Options that wrap each run in a span named after the target (`span: true`, unless
 * `span` is set) and add a span event per backoff and give-up carrying tries, wait and
 * the outcome (`Tag: message`). Works with any Effect tracer, `@effect/opentelemetry`
 * included.
 *
 * @example
 * ```ts
 * import { Backoff } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const fetchUser = (id: number) => Effect.succeed({ id })
 * const traced = Backoff.onException(fetchUser, Backoff.withTracing({ maxTries: 3 }))
 * ```
 *
 * @since 0.1.0
 * @category observability
 */
export const withTracing: <const O extends CommonOptions<any, any, any>>(options: O) => O = observe.withTracing
