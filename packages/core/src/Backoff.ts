/**
 * The retry engine: python-backoff's `on_exception` and `on_predicate` for Effect.
 *
 * @since 0.1.0
 */
// first: a wrong effect major fails here, with a sentence naming the versions needed
import "./internal/effectVersion.js"
import type { Config, Duration, Effect, LogLevel, Option, Schedule } from "effect"
import type { NoExcessProperties } from "effect/Types"
import type { AdaptiveThrottle, ThrottledError } from "./AdaptiveThrottle.js"
import type * as CircuitBreaker from "./CircuitBreaker.js"
import * as internal from "./internal/backoff.js"
import * as hedging from "./internal/hedge.js"
import * as observe from "./internal/observe.js"
import type { InvalidOptionError } from "./InvalidOptionError.js"
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
 * Why a run gave up: its `giveup` (or `while` / `until`) said so, `maxTries` or `maxTime`
 * was reached, the wait strategy ran out (`"exhausted"`: a finite interval list, a
 * schedule that ended), the retry budget had no token left, or a circuit breaker rejected
 * the attempt and its `retryAfter` did not fit in what is left of `maxTime` (`"circuitOpen"`).
 *
 * @since 0.2.0
 * @category models
 */
export type GiveupReason = "giveup" | "maxTries" | "maxTime" | "exhausted" | "budget" | "circuitOpen"

/**
 * Details of giving up: the last `exception` (onException) or `value` (onPredicate), and
 * the `reason`.
 *
 * @since 0.1.0
 * @category models
 */
export interface GiveupDetails<A = unknown, E = unknown> extends BaseDetails {
  readonly value?: A
  readonly exception?: E
  /** @since 0.2.0 */
  readonly reason: GiveupReason
}

/**
 * The details `onException` (and `Backoff.retry`) handlers get on a backoff: `exception`,
 * the failure being retried, is always there.
 *
 * @since 0.2.0
 * @category models
 */
export interface ExceptionBackoffDetails<E = unknown> extends BackoffDetails<never, E> {
  readonly exception: E
}

/**
 * The details `onException` (and `Backoff.retry`) handlers get on giving up: `exception`,
 * the last failure, is always there.
 *
 * @since 0.2.0
 * @category models
 */
export interface ExceptionGiveupDetails<E = unknown> extends GiveupDetails<never, E> {
  readonly exception: E
}

/**
 * The details `onPredicate` (and `Backoff.repeat`) handlers get on a success: `value` is
 * always there.
 *
 * @since 0.2.0
 * @category models
 */
export interface PredicateSuccessDetails<A = unknown> extends SuccessDetails<A> {
  readonly value: A
}

/**
 * The details `onPredicate` (and `Backoff.repeat`) handlers get on a backoff: `value`,
 * the value polled again, is always there.
 *
 * @since 0.2.0
 * @category models
 */
export interface PredicateBackoffDetails<A = unknown> extends BackoffDetails<A, never> {
  readonly value: A
}

/**
 * The details `onPredicate` (and `Backoff.repeat`) handlers get on giving up: `value`, the
 * last value, is always there.
 *
 * @since 0.2.0
 * @category models
 */
export interface PredicateGiveupDetails<A = unknown> extends GiveupDetails<A, never> {
  readonly value: A
}

/**
 * The details type of each event, `success`, `backoff` and `giveup`, that an entry point's
 * handlers get (`LoopOptions`' third parameter).
 *
 * @since 0.2.0
 * @category type-level
 */
export interface Events<S = unknown, B = unknown, G = unknown> {
  readonly success: S
  readonly backoff: B
  readonly giveup: G
}

/**
 * The events of a run that may see a value or a failure (the default): the wide details.
 *
 * @since 0.2.0
 * @category type-level
 */
export type AnyEvents<A, E> = Events<SuccessDetails<A>, BackoffDetails<A, E>, GiveupDetails<A, E>>

/**
 * The events of a retrying run (`onException`, `Backoff.retry`): `exception` always there.
 *
 * @since 0.2.0
 * @category type-level
 */
export type ExceptionEvents<E> = Events<SuccessDetails<never>, ExceptionBackoffDetails<E>, ExceptionGiveupDetails<E>>

/**
 * The events of a repeating run (`onPredicate`, `Backoff.repeat`): `value` always there.
 *
 * @since 0.2.0
 * @category type-level
 */
export type PredicateEvents<A> = Events<
  PredicateSuccessDetails<A>,
  PredicateBackoffDetails<A>,
  PredicateGiveupDetails<A>
>

/**
 * Any of the three details objects. A key that does not apply is absent, not `undefined`.
 *
 * @since 0.1.0
 * @category models
 */
export type Details<A = unknown, E = unknown> = SuccessDetails<A> | BackoffDetails<A, E> | GiveupDetails<A, E>

/**
 * What a handler may return: anything, as with `Effect.tap`. A returned Effect is run
 * (its value ignored; it may not fail: its error type must be `never`) and a returned
 * Promise awaited before the loop goes on; any other value is ignored. (An Effect whose
 * error type is not `never` matches none of these, so it is a compile error.)
 *
 * @since 0.2.0
 * @category models
 */
export type HandlerResult<R = never> =
  | Effect.Effect<unknown, never, R>
  | PromiseLike<unknown>
  | NotAnEffect
  | string
  | number
  | boolean
  | bigint
  | symbol
  | null
  | undefined
  | void

/**
 * Any object that is not an Effect (it has no `Effect.EffectTypeId`).
 *
 * @since 0.2.0
 * @category type-level
 */
export type NotAnEffect = object & { readonly [Effect.EffectTypeId]?: never }

/**
 * An event handler. It may return anything (`waits.push(d.wait)` is fine); a returned
 * Promise or Effect is awaited before the loop goes on. A handler that throws, rejects or
 * dies makes the run die with that defect.
 *
 * @since 0.1.0
 * @category models
 */
export type Handler<D, R = never> = (details: D) => HandlerResult<R>

/**
 * A predicate option's answer: a boolean, an Effect of one, or a Promise of one (Effects
 * and Promises are awaited; a failure or a rejection is a defect).
 *
 * @since 0.2.0
 * @category models
 */
export type Verdict<R = any> = boolean | Effect.Effect<boolean, never, R> | PromiseLike<boolean>

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

type AnyClass = abstract new(...args: any) => any
type IsAny<T> = 0 extends 1 & T ? true : false
type TagsOf<E> = E extends { readonly _tag: infer T extends string } ? T : never

/**
 * The `_tag` strings an `exception` filter may name: the tags of the error type, or any
 * string when the error type has none (e.g. `unknown`).
 *
 * @since 0.2.0
 * @category type-level
 */
export type TagFilter<E> = IsAny<E> extends true ? string : [TagsOf<E>] extends [never] ? string : TagsOf<E>

/**
 * One entry of an `exception` filter.
 *
 * @since 0.2.0
 * @category models
 */
export type ExceptionFilterEntry<E = unknown> = TagFilter<E> | AnyClass | ((error: E) => Verdict)

/**
 * Which failures `onException` retries: an error class (subclasses included), a `_tag`
 * string (one of the error type's tags), a predicate or refinement, or an array of these.
 *
 * @since 0.1.0
 * @category models
 */
export type ExceptionFilter<E = unknown> = ExceptionFilterEntry<E> | ReadonlyArray<ExceptionFilterEntry<E>>

type NarrowTag<E, F extends string> = E extends { readonly _tag: infer T } ? (F extends T ? E : never) : never
type NarrowOne<E, F> = F extends string ?
  (string extends F ? E : unknown extends E ? { readonly _tag: F } : NarrowTag<E, F>)
  : F extends (error: any) => error is infer X ? X
  : F extends abstract new(...args: any) => infer I ? IsAny<I> extends true ? E
    : unknown extends E ? I
    : E extends any ? (E extends I ? E : I extends E ? I : never)
    : never
  : E

declare const NoFilterTypeId: unique symbol

/**
 * The `exception` filter's type when it is not inferred (absent, a predicate, or an array
 * holding one): it lets the whole error type through.
 *
 * @since 0.2.0
 * @category type-level
 */
export interface NoFilter {
  readonly [NoFilterTypeId]: typeof NoFilterTypeId
}

/**
 * The type of the `exception` option for an inferred filter `F`.
 *
 * @since 0.2.0
 * @category type-level
 */
export type FilterSlot<E, F> = { readonly exception?: ([F] extends [NoFilter] ? ExceptionFilter<E> : F) | undefined }

/**
 * The error type a filter lets through: a class narrows to its instances, a tag to that
 * member of the union, a refinement to what it refines to, an array to the union.
 *
 * @since 0.2.0
 * @category type-level
 */
export type Narrow<E, F> = [F] extends [NoFilter] ? E
  : IsAny<E> extends true ? E
  : F extends ReadonlyArray<infer G> ? NarrowOne<E, G>
  : NarrowOne<E, F>

/**
 * A compile error for a filter that no member of the error type can match.
 *
 * @since 0.2.0
 * @category type-level
 */
export type CheckFilter<E, F> = [F] extends [NoFilter] ? unknown
  : [E] extends [never] ? unknown
  : unknown extends E ? unknown
  : [Narrow<E, F>] extends [never] ? { readonly exception: "no member of the error type matches this filter" }
  : unknown

/**
 * An options parameter that accepts `O` (inferred from the call, literal types kept) when
 * it has only keys of `T`. With an unknown key the parameter becomes `T`, so the compiler
 * names the key, as it does for a plain options type (`Object literal may only specify
 * known properties, and 'maxTrys' does not exist in type ...`, with a "Did you mean" when
 * the spelling is close); an options value built beforehand is refused with the key named
 * under `"unknown option"`.
 *
 * @since 0.2.0
 * @category type-level
 */
export type KnownOptions<O, T> = [Exclude<keyof O, keyof T>] extends [never] ? O
  // (NoInfer: the effect's types come from where the applier is used, never from here)
  : NoInfer<T> & { readonly "unknown option": Exclude<keyof O, keyof T> }

/**
 * What `Backoff.retry` / `repeat` options must have: `schedule` or `times`, so options with
 * neither are a compile error (`Property 'schedule' is missing`), not a throw at
 * construction.
 *
 * @since 0.2.0
 * @category type-level
 */
export type Recurrence<In> =
  | { readonly times: number }
  | { readonly schedule: Schedule.Schedule<any, In, any> }

/**
 * The options of the loop itself, which every entry point takes: event handlers, the
 * default log lines, the target's name and tracing. `D` gives the details type of each
 * event (since 0.2.0; `onException` passes `ExceptionEvents`, where `exception` is
 * always there).
 *
 * @since 0.2.0
 * @category models
 */
export interface LoopOptions<A, E, D extends Events = AnyEvents<A, E>> {
  readonly onSuccess?: Handlers<D["success"], any> | undefined
  readonly onBackoff?: Handlers<D["backoff"], any> | undefined
  readonly onGiveup?: Handlers<D["giveup"], any> | undefined
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
  /**
   * A circuit breaker (since 0.3.0): `true` uses the `CircuitBreaker` in context, a
   * breaker uses that one, a keyed breaker the breaker of the run's `target`. Every
   * attempt goes through it; a rejection (`CircuitBreaker.OpenError`) is a failed try
   * whose next wait is at least its `retryAfter`, and when that does not fit in what is
   * left of `maxTime` the run gives up at once (`reason: "circuitOpen"`) with the
   * `OpenError`. A rejected attempt neither deposits to nor withdraws from the budget.
   */
  readonly breaker?: boolean | CircuitBreaker.CircuitBreaker | CircuitBreaker.Keyed | undefined
  /**
   * An adaptive throttle (since 0.3.0): `true` uses the `AdaptiveThrottle` in context, an
   * `AdaptiveThrottle` value uses that one. Each attempt goes through it; an attempt it
   * rejects locally is a failed attempt that never reached the service: retried by the
   * policy whatever `exception` / `giveup` / `while` say, withdrawing no budget token. A
   * run that gives up on it fails with `ThrottledError` (`None` with `raiseOnGiveup: false`).
   */
  readonly throttle?: boolean | AdaptiveThrottle | undefined
}

/**
 * The options that build a policy, python-backoff's spelling: `Backoff.schedule(options)`
 * turns them into the policy Schedule.
 *
 * @since 0.2.0
 * @category models
 */
export interface PolicyOptions<In> {
  /** A wait strategy (default `Wait.expo()`), or an Effect producing one, read per run. */
  readonly wait?:
    | Schedule.Schedule<unknown, In, any>
    | Effect.Effect<Schedule.Schedule<unknown, In, any>, any, any>
    | undefined
  /** Total calls, the first included (default unlimited). An integer >= 1 or Infinity. */
  readonly maxTries?: RuntimeOption<number> | undefined
  /** Time budget from the start of the first call (default unlimited). */
  readonly maxTime?: RuntimeOption<Duration.DurationInput> | undefined
  /** Default `Jitter.full` (unless `wait` already carries a jitter); `null` for none. */
  readonly jitter?: Jitter | null | undefined
}

/**
 * The options both python-style forms share.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommonOptions<In, A, E, D extends Events = AnyEvents<A, E>>
  extends PolicyOptions<In>, LoopOptions<A, E, D>
{}

/**
 * Options of `onException`. `E` is the effect's error type; `EX` the part of it the
 * `exception` filter lets through, which `giveup`, `wait` and the handlers see.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExceptionOptions<E = any, EX = E> extends CommonOptions<EX, never, EX, ExceptionEvents<EX>> {
  /** Which failures are retried (default: every failure). */
  readonly exception?: ExceptionFilter<E> | undefined
  /** `true` gives up at once on this error. */
  readonly giveup?: ((error: EX) => Verdict) | undefined
  /** `false`: the result becomes `Option<A>`, `None` on giving up. Default `true`. */
  readonly raiseOnGiveup?: boolean | undefined
}

/**
 * Options of `onPredicate`.
 *
 * @since 0.1.0
 * @category models
 */
export interface PredicateOptions<A = any> extends CommonOptions<A, A, never, PredicateEvents<A>> {
  /** `true` means run again (default: the value is falsy). */
  readonly predicate?: ((value: A) => Verdict) | undefined
}

/**
 * Options of `Backoff.retry`: `Effect.retry`'s shape (`schedule`, `while`, `until`,
 * `times`) plus the loop's handlers and logging. Nothing is added to the schedule: no
 * default wait, no default jitter.
 *
 * @since 0.2.0
 * @category models
 */
export interface RetryOptions<E> extends LoopOptions<never, E, ExceptionEvents<E>> {
  /** The policy. `schedule` or `times` is required. */
  readonly schedule?: Schedule.Schedule<any, E, any> | undefined
  /** Retry while this holds; when it does not, give up on that error. */
  readonly while?: ((error: E) => Verdict) | undefined
  /** Retry until this holds; when it does, give up on that error. */
  readonly until?: ((error: E) => Verdict) | undefined
  /** At most this many retries (calls − 1). */
  readonly times?: number | undefined
}

/**
 * Options of `Backoff.repeat`: `Effect.repeat`'s shape plus the loop's handlers and
 * logging. The run returns the last value (not the schedule's output).
 *
 * @since 0.2.0
 * @category models
 */
export interface RepeatOptions<A> extends LoopOptions<A, never, PredicateEvents<A>> {
  /** The policy. `schedule` or `times` is required. */
  readonly schedule?: Schedule.Schedule<any, A, any> | undefined
  /** Run again while this holds of the value. */
  readonly while?: ((value: A) => Verdict) | undefined
  /** Run again until this holds of the value. */
  readonly until?: ((value: A) => Verdict) | undefined
  /** At most this many repetitions (runs − 1). */
  readonly times?: number | undefined
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
  | (O extends { readonly throttle: infer T } ? ([T] extends [false | undefined] ? never : ThrottledError) : never)
  | (O extends { readonly maxTries: infer X } ? RuntimeError<X> : never)
  | (O extends { readonly maxTime: infer X } ? RuntimeError<X> : never)
  | (O extends { readonly wait: infer X } ? RuntimeError<X> : never)
  | (O extends { readonly breaker: infer B } ? BreakerError<B> : never)

type BreakerError<B> = B extends undefined | false ? never : CircuitBreaker.OpenError

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
  | (O extends { readonly breaker: infer B } ? (true extends B ? CircuitBreaker.CircuitBreaker : never) : never)
  | (O extends { readonly throttle: infer T } ? (true extends T ? AdaptiveThrottle : never) : never)

// options typed with the wide `ExceptionOptions` / `PredicateOptions` (not inferred) carry
// the declared `any` of their handler and Effect types: that says nothing about services
type NotAny<R> = 0 extends 1 & R ? never : R

/**
 * `A`, or `Option<A>` with `raiseOnGiveup: false`, or either with a `boolean` not known
 * at compile time.
 *
 * @since 0.2.0
 * @category type-level
 */
export type ExceptionValue<A, O> = O extends { readonly raiseOnGiveup: false } ? Option.Option<A>
  : O extends { readonly raiseOnGiveup: true } ? A
  : O extends { readonly raiseOnGiveup: boolean } ? A | Option.Option<A>
  : A

type Unwrap<Ret> = Ret extends Effect.Effect<infer A, any, any> ? A : Ret extends PromiseLike<infer A> ? A : Ret
type ErrorOf<Ret> = Ret extends Effect.Effect<any, infer E, any> ? E : unknown
type ContextOfResult<Ret> = Ret extends Effect.Effect<any, any, infer R> ? R : never

declare const ApplierTypeId: unique symbol

/**
 * Marks what `onException(options)`, `onPredicate(options)`, `retry(options)`,
 * `repeat(options)` and `HttpBackoff.retryTransient(options)` return. It is no Schedule
 * and no options object, so `Effect.retry(task, Backoff.onException(...))` is a compile
 * error instead of a retry without delay or end. (A type-level mark only: it has no
 * value at run time.)
 *
 * @since 0.2.0
 * @category models
 */
export interface Applier {
  readonly [ApplierTypeId]: "apply me to an effect: effect.pipe(Backoff.onException(options))"
}

/**
 * What `onException(options)` returns: applies the policy to an Effect. Typed from the
 * effect it is applied to (as `Effect.retry({ while })` is), so in
 * `effect.pipe(Backoff.onException({ giveup: (e) => ... }))` `e` is the effect's error;
 * created apart from any effect, it applies to any Effect (its callbacks then see
 * `unknown`). Apply it to a function with the data-first `Backoff.onException(fn, options)`.
 *
 * @since 0.1.0
 * @category models
 */
export type ExceptionRetry<E, O> = unknown extends E ? ExceptionRetryAny<O> : ExceptionRetryTyped<E, O>

/**
 * `onException(options)` typed from the effect it is applied to.
 *
 * @since 0.2.0
 * @category models
 */
export interface ExceptionRetryTyped<E, O> extends Applier {
  <A, R>(self: Effect.Effect<A, E, R>): Effect.Effect<ExceptionValue<A, O>, E | OptionsError<O>, R | OptionsContext<O>>
}

/**
 * `onException(options)` created apart from an effect: applies to any Effect.
 *
 * @since 0.2.0
 * @category models
 */
export interface ExceptionRetryAny<O> extends Applier {
  <A, E, R>(
    self: Effect.Effect<A, E, R> & AppliedFilter<E, FilterOf<O>>
  ): Effect.Effect<ExceptionValue<A, O>, E | OptionsError<O>, R | OptionsContext<O>>
}

/**
 * The `exception` filter of inferred options `O` (`NoFilter` when absent).
 *
 * @since 0.2.0
 * @category type-level
 */
export type FilterOf<O> = O extends { readonly exception: infer F } ? ([F] extends [undefined] ? NoFilter : F)
  : NoFilter

/**
 * The check an applier created apart from an effect makes where it is applied: its
 * `exception` filter (a tag, a class) must match a member of that effect's error type, or
 * applying it is a compile error. (A policy that can never match would never retry.)
 *
 * @since 0.2.0
 * @category type-level
 */
export type AppliedFilter<E, F> = CheckFilter<E, F> extends { readonly exception: string } ? {
    readonly "exception filter": "matches no member of this effect's error type (a misspelt tag or an unrelated class?)"
  }
  : unknown

/**
 * What `onPredicate(options)` returns: applies the policy to an Effect, typed from it
 * in the pipe form (see `ExceptionRetry`).
 *
 * @since 0.1.0
 * @category models
 */
export type PredicateRepeat<A, O> = unknown extends A ? PredicateRepeatAny<O> : PredicateRepeatTyped<A, O>

/**
 * `onPredicate(options)` typed from the effect it is applied to.
 *
 * @since 0.2.0
 * @category models
 */
export interface PredicateRepeatTyped<A, O> extends Applier {
  <E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OptionsError<O>, R | OptionsContext<O>>
}

/**
 * `onPredicate(options)` created apart from an effect: applies to any Effect.
 *
 * @since 0.2.0
 * @category models
 */
export interface PredicateRepeatAny<O> extends Applier {
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OptionsError<O>, R | OptionsContext<O>>
}

/**
 * What `Backoff.retry(options)` returns: applies the loop to an Effect, typed from the
 * effect in the pipe form (see `ExceptionRetry`).
 *
 * @since 0.2.0
 * @category models
 */
export type Retried<E, O> = unknown extends E ? RetriedAny<O> : RetriedTyped<E, O>

/**
 * `Backoff.retry(options)` typed from the effect it is applied to.
 *
 * @since 0.2.0
 * @category models
 */
export interface RetriedTyped<E, O> extends Applier {
  <A, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OptionsError<O>, R | OptionsContext<O>>
}

/**
 * `Backoff.retry(options)` created apart from an effect.
 *
 * @since 0.2.0
 * @category models
 */
export interface RetriedAny<O> extends Applier {
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OptionsError<O>, R | OptionsContext<O>>
}

/**
 * What `Backoff.repeat(options)` returns.
 *
 * @since 0.2.0
 * @category models
 */
export type Repeated<A, O> = unknown extends A ? RepeatedAny<O> : RepeatedTyped<A, O>

/**
 * `Backoff.repeat(options)` typed from the effect it is applied to.
 *
 * @since 0.2.0
 * @category models
 */
export interface RepeatedTyped<A, O> extends Applier {
  <E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OptionsError<O>, R | OptionsContext<O>>
}

/**
 * `Backoff.repeat(options)` created apart from an effect.
 *
 * @since 0.2.0
 * @category models
 */
export interface RepeatedAny<O> extends Applier {
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OptionsError<O>, R | OptionsContext<O>>
}

/**
 * Retries an effect (or a function) while it fails with a matching error, with a wait
 * strategy, jitter, limits and event handlers: python-backoff's `on_exception`.
 *
 * **Details**
 *
 * The options build a policy Schedule (`Backoff.schedule(options)`: the wait, jittered by
 * `Jitter.full` unless told otherwise, then `maxTries` and `maxTime`); `exception` and
 * `giveup` say which failures it retries; the library's one loop runs it. After a failed
 * attempt, in this order: `giveup(error)` → `tries == maxTries` → `elapsed >= maxTime` →
 * the strategy ends → onBackoff → sleep `min(jitter(wait), maxTime − elapsed)` → the next
 * attempt. Any of the first four runs onGiveup and fails with the last error itself (or
 * succeeds with `None` when `raiseOnGiveup: false`). Errors the `exception` filter does
 * not match pass through at once; defects and interruption are never retried. Invalid
 * options throw `InvalidOptionError` here.
 *
 * In the pipe form every callback is typed from the effect; `exception` narrows the error
 * the callbacks see, and a tag or class that matches nothing is a compile error. Applied
 * to a function (`Backoff.onException(fn, options)`), it gives a function with the same
 * parameters (python's decorator).
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
  <E>(): ExceptionRetry<E, {}>
  <
    E,
    const F extends ExceptionFilter<E> | NoFilter = NoFilter,
    const O extends ExceptionOptions<E, Narrow<E, F>> = ExceptionOptions<E, Narrow<E, F>>
  >(
    options: KnownOptions<O, ExceptionOptions<E, Narrow<E, F>>> & FilterSlot<E, F> & CheckFilter<NoInfer<E>, F>
  ): ExceptionRetry<E, O>
  <
    A,
    E,
    R,
    const F extends ExceptionFilter<NoInfer<E>> | NoFilter = NoFilter,
    const O extends ExceptionOptions<NoInfer<E>, Narrow<NoInfer<E>, F>> = ExceptionOptions<
      NoInfer<E>,
      Narrow<NoInfer<E>, F>
    >
  >(
    self: Effect.Effect<A, E, R>,
    options:
      & KnownOptions<O, ExceptionOptions<NoInfer<E>, Narrow<NoInfer<E>, F>>>
      & FilterSlot<NoInfer<E>, F>
      & CheckFilter<NoInfer<E>, F>
  ): Effect.Effect<ExceptionValue<A, O>, E | OptionsError<O>, R | OptionsContext<O>>
  <
    Args extends ReadonlyArray<any>,
    Ret,
    const F extends ExceptionFilter<ErrorOf<NoInfer<Ret>>> | NoFilter = NoFilter,
    const O extends ExceptionOptions<ErrorOf<NoInfer<Ret>>, Narrow<ErrorOf<NoInfer<Ret>>, F>> = ExceptionOptions<
      ErrorOf<NoInfer<Ret>>,
      Narrow<ErrorOf<NoInfer<Ret>>, F>
    >
  >(
    self: (...args: Args) => Ret,
    options:
      & KnownOptions<O, ExceptionOptions<ErrorOf<NoInfer<Ret>>, Narrow<ErrorOf<NoInfer<Ret>>, F>>>
      & FilterSlot<ErrorOf<NoInfer<Ret>>, F>
      & CheckFilter<ErrorOf<NoInfer<Ret>>, F>
  ): (
    ...args: Args
  ) => Effect.Effect<
    ExceptionValue<Unwrap<Ret>, O>,
    ErrorOf<Ret> | OptionsError<O>,
    ContextOfResult<Ret> | OptionsContext<O>
  >
} = internal.onExceptionDual

/**
 * Re-runs an effect (or a function) while `predicate(value)` holds (default: the value is
 * falsy) and returns the last value when it gives up: python-backoff's `on_predicate`.
 *
 * **Details**
 *
 * The loop is the one `onException` uses, fed the value instead of the error. Failures
 * pass through untouched. Useful for polling. In the pipe form `predicate` and the
 * handlers are typed from the effect's value.
 *
 * @example
 * ```ts
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * let polls = 0
 * const readQueue = Effect.sync((): ReadonlyArray<string> => ++polls < 4 ? [] : ["message"])
 *
 * const polled = readQueue.pipe(Backoff.onPredicate({
 *   wait: Wait.fibo({ unit: "10 millis", maxValue: "50 millis" }),
 *   predicate: (xs) => xs.length === 0,
 *   jitter: null
 * }))
 * Effect.runPromise(polled).then(console.log) // ["message"]
 * ```
 *
 * @since 0.1.0
 * @category repeat
 */
export const onPredicate: {
  <A>(): PredicateRepeat<A, {}>
  <A, const O extends PredicateOptions<A>>(options: KnownOptions<O, PredicateOptions<A>>): PredicateRepeat<A, O>
  <A, E, R, const O extends PredicateOptions<NoInfer<A>>>(
    self: Effect.Effect<A, E, R>,
    options: KnownOptions<O, PredicateOptions<NoInfer<A>>>
  ): Effect.Effect<A, E | OptionsError<O>, R | OptionsContext<O>>
  <Args extends ReadonlyArray<any>, Ret, const O extends PredicateOptions<Unwrap<NoInfer<Ret>>>>(
    self: (...args: Args) => Ret,
    options: KnownOptions<O, PredicateOptions<Unwrap<NoInfer<Ret>>>>
  ): (
    ...args: Args
  ) => Effect.Effect<Unwrap<Ret>, ErrorOf<Ret> | OptionsError<O>, ContextOfResult<Ret> | OptionsContext<O>>
} = internal.onPredicateDual

/**
 * The policy Schedule python-backoff's options build: the wait strategy (default
 * `Wait.expo()`), jittered (default `Jitter.full`, unless the wait already carries a
 * jitter), then `maxTries` and `maxTime`. The same Schedule `onException` and
 * `onPredicate` run; usable with `Effect.retry`, `Effect.repeat`, `Stream.retry`.
 *
 * @example
 * ```ts
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * const policy = Backoff.schedule({ wait: Wait.expo(), jitter: null, maxTries: 4 })
 * console.log(Effect.runSync(Wait.delays(policy, 10)).map(Duration.toSeconds)) // [1, 2, 4]
 * ```
 *
 * @since 0.2.0
 * @category policies
 */
export const schedule: <In = unknown, R = never>(options?: {
  readonly wait?: Schedule.Schedule<unknown, In, R> | undefined
  readonly maxTries?: number | undefined
  readonly maxTime?: Duration.DurationInput | undefined
  readonly jitter?: Jitter | null | undefined
}) => Schedule.Schedule<Duration.Duration, In, R> = internal.schedule

/**
 * Ends the schedule after `n` calls in all, the first counted (python's `max_tries`):
 * `n − 1` retries. `Infinity` means no limit; anything else below 1 or not an integer is
 * an `InvalidOptionError`.
 *
 * @example
 * ```ts
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * const policy = Wait.constant({ interval: "1 second" }).pipe(Backoff.maxTries(3))
 * console.log(Effect.runSync(Wait.delays(policy, 10)).map(Duration.toSeconds)) // [1, 1]
 * ```
 *
 * @since 0.2.0
 * @category policies
 */
export const maxTries: {
  (n: number): <Out, In, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Duration.Duration, In, R>
  <Out, In, R>(self: Schedule.Schedule<Out, In, R>, n: number): Schedule.Schedule<Duration.Duration, In, R>
} = internal.maxTries

/**
 * Python's `max_time`: the schedule ends once `d` has passed, and each delay is cut to
 * what is left of it (a delay that lands exactly on `d` is followed by one more call).
 *
 * **Details**
 *
 * Under this library's loop (`Backoff.retry`, `onException`, ...) the budget counts from
 * the start of the first call. Under Effect's own driver (`Effect.retry`) the schedule
 * first runs after the first call, so there it counts from the end of the first call.
 *
 * @example
 * ```ts
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * const policy = Wait.expo().pipe(Backoff.maxTime("10 seconds"))
 * console.log(Effect.runSync(Wait.delays(policy, 10)).map(Duration.toSeconds)) // [1, 2, 4, 3]
 * ```
 *
 * @since 0.2.0
 * @category policies
 */
export const maxTime: {
  (
    d: Duration.DurationInput
  ): <Out, In, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Duration.Duration, In, R>
  <Out, In, R>(
    self: Schedule.Schedule<Out, In, R>,
    d: Duration.DurationInput
  ): Schedule.Schedule<Duration.Duration, In, R>
} = internal.maxTime

/**
 * Where a tap's details carry the schedule's input under Effect's own driver:
 * `"exception"` (the default, for `Effect.retry`) or `"value"` (for `Effect.repeat`).
 * Under this library's loop the loop's own key is used.
 *
 * @since 0.2.0
 * @category models
 */
export interface TapOptions {
  readonly input?: "exception" | "value" | undefined
}

/**
 * Runs `handler` with the details of each backoff of the schedule: `tries`, `elapsed`,
 * the exact `wait` about to be slept (after jitter and the `maxTime` clamp) and the input.
 * Under `Effect.retry` the target is `"effect"` and `args` is `[]`; under this library's
 * loop they are the run's.
 *
 * **Details**
 *
 * Inside an Effect combinator (`Schedule.intersect(policy, Schedule.recurs(1))`) the tap
 * runs once the final decision is known: under this library's loop, or under an outer
 * schedule of this library; the wait it reports is its own policy's. A retry the
 * combinator refuses is never reported. With an Effect combinator outermost under plain
 * `Effect.retry`, nothing of ours sees the end: the tap then runs on its own policy's
 * decision (see docs/policies.md, "Taps inside a composed policy").
 *
 * @example
 * ```ts
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Duration, Effect } from "effect"
 *
 * const policy = Wait.expo({ factor: "10 millis" }).pipe(
 *   Backoff.maxTries(3),
 *   Backoff.tapBackoff((d) => console.log(`try ${d.tries} failed, waiting ${Duration.format(d.wait)}`))
 * )
 * Effect.runPromise(Effect.retry(Effect.fail("boom"), policy)).catch(() => {})
 * ```
 *
 * @since 0.2.0
 * @category policies
 */
export const tapBackoff: {
  <In, R2 = never>(
    handler: Handler<BackoffDetails<In, In>, R2>,
    options?: TapOptions
  ): <Out, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Duration.Duration, In, R | R2>
  <Out, In, R, R2 = never>(
    self: Schedule.Schedule<Out, In, R>,
    handler: Handler<BackoffDetails<In, In>, R2>,
    options?: TapOptions
  ): Schedule.Schedule<Duration.Duration, In, R | R2>
} = internal.tapBackoff

/**
 * Runs `handler` with the details of the give-up, when the schedule ends (its `reason`
 * included: `"maxTries"`, `"maxTime"`, `"budget"` for `RetryBudget.limit`, or
 * `"exhausted"`). It sees every give-up of the run wherever it sits in the policy: one
 * decided outside it (a limit piped after it, an Effect combinator around it under this
 * library's loop, a `while` that stops) included, with that reason.
 *
 * @example
 * ```ts
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const policy = Wait.expo({ factor: "10 millis" }).pipe(
 *   Backoff.maxTries(3),
 *   Backoff.tapGiveup((d) => console.log(`gave up after ${d.tries} tries (${d.reason})`))
 * )
 * Effect.runPromise(Effect.retry(Effect.fail("boom"), policy)).catch(() => {})
 * ```
 *
 * @since 0.2.0
 * @category policies
 */
export const tapGiveup: {
  <In, R2 = never>(
    handler: Handler<GiveupDetails<In, In>, R2>,
    options?: TapOptions
  ): <Out, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Duration.Duration, In, R | R2>
  <Out, In, R, R2 = never>(
    self: Schedule.Schedule<Out, In, R>,
    handler: Handler<GiveupDetails<In, In>, R2>,
    options?: TapOptions
  ): Schedule.Schedule<Duration.Duration, In, R | R2>
} = internal.tapGiveup

/**
 * `Effect.retry` through this library's loop: any Schedule, with the success, backoff and
 * give-up handlers, the default log lines, a target name and a span.
 *
 * **Details**
 *
 * `schedule` is run as it is: no default wait and no default jitter (build them into the
 * policy). A policy built from `Wait`, `Jitter.apply` and this module's combinators is
 * stepped as plain numbers (the fast path); one that went through an Effect combinator
 * is stepped through `Schedule.step`, with the same result. `while` / `until` decide
 * whether an error is retried (checked first, before the limits); `times` caps the
 * retries. One of `schedule` and `times` is required.
 *
 * @example
 * ```ts
 * import { Backoff, Jitter, Wait } from "@effect-backoff/core"
 * import { Data, Effect } from "effect"
 *
 * class HttpError extends Data.TaggedError("HttpError")<{ readonly status: number }> {}
 *
 * const policy = Wait.expo({ factor: "10 millis" }).pipe(Jitter.apply(Jitter.full), Backoff.maxTries(3))
 * const request = Effect.fail(new HttpError({ status: 503 }))
 * const retried = request.pipe(Backoff.retry({ schedule: policy, while: (e) => e.status >= 500, logger: false }))
 * Effect.runPromiseExit(retried).then((exit) => console.log(exit._tag)) // Failure
 * ```
 *
 * @since 0.2.0
 * @category retry
 */
export const retry: {
  <E, const O extends RetryOptions<E> & Recurrence<E>>(options: KnownOptions<O, RetryOptions<E>>): Retried<E, O>
  <A, E, R, const O extends RetryOptions<NoInfer<E>> & Recurrence<NoInfer<E>>>(
    self: Effect.Effect<A, E, R>,
    options: KnownOptions<O, RetryOptions<NoInfer<E>>>
  ): Effect.Effect<A, E | OptionsError<O>, R | OptionsContext<O>>
} = internal.retryDual

/**
 * `Effect.repeat` through this library's loop: runs the effect again while `while` holds
 * of its value (or until `until` does), spaced by the schedule, and returns the last
 * value; with the same handlers, log lines, target and span as `Backoff.retry`.
 *
 * @example
 * ```ts
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * let n = 0
 * const poll = Effect.sync(() => ++n)
 * const polled = poll.pipe(Backoff.repeat({ schedule: Wait.constant({ interval: "10 millis" }), until: (v) => v >= 3, logger: false }))
 * Effect.runPromise(polled).then(console.log) // 3
 * ```
 *
 * @since 0.2.0
 * @category repeat
 */
export const repeat: {
  <A, const O extends RepeatOptions<A> & Recurrence<A>>(options: KnownOptions<O, RepeatOptions<A>>): Repeated<A, O>
  <A, E, R, const O extends RepeatOptions<NoInfer<A>> & Recurrence<NoInfer<A>>>(
    self: Effect.Effect<A, E, R>,
    options: KnownOptions<O, RepeatOptions<NoInfer<A>>>
  ): Effect.Effect<A, E | OptionsError<O>, R | OptionsContext<O>>
} = internal.repeatDual

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

/**
 * A hedging delay that follows the service: the q-quantile of the last `window`
 * successful latencies (default 100), never below `floor` (default 10 millis), and the
 * floor alone until `minSamples` latencies exist (default 10). One value is one tracker:
 * give the same value to every hedge of one call site, so they learn from each other.
 *
 * @since 0.3.0
 * @category models
 */
export interface LatencyQuantile {
  /** The quantile, in (0, 1]. */
  readonly quantile: number
  /** How many of the last successful latencies count. */
  readonly window: number
  /** Below this many samples the delay is the floor. */
  readonly minSamples: number
  /** The delay now, in milliseconds. */
  readonly currentMillis: () => number
  /** Records one successful latency, in milliseconds (hedges do it for their winners). */
  readonly record: (millis: number) => void
  /** How many samples the window holds. */
  readonly size: () => number
}

/**
 * Options of `latencyQuantile`.
 *
 * @since 0.3.0
 * @category models
 */
export interface LatencyQuantileOptions {
  /** How many of the last successful latencies count (default 100). */
  readonly window?: number | undefined
  /** Until this many latencies exist the delay is `floor` (default 10, at most `window`). */
  readonly minSamples?: number | undefined
  /** The shortest delay (default 10 millis). */
  readonly floor?: Duration.DurationInput | undefined
}

/**
 * A hedge `delay` that adapts: the q-quantile of the recent successful latencies, so
 * only the slow tail is hedged (`latencyQuantile(0.95)` hedges the slowest 5%).
 *
 * **Details**
 *
 * Each hedge reads the delay when it starts and records its winner's latency (from that
 * copy's own start) when it succeeds. Losers are interrupted, so their latencies are
 * never known: the tracker sees the faster copy, which errs on the side of hedging a
 * little more. Bad options throw `InvalidOptionError`.
 *
 * @example
 * ```ts
 * import { Backoff } from "@effect-backoff/core"
 *
 * const p95 = Backoff.latencyQuantile(0.95, { window: 20, minSamples: 5, floor: "5 millis" })
 * for (let i = 1; i <= 20; i++) p95.record(i)
 * console.log(p95.currentMillis()) // 19
 * ```
 *
 * @since 0.3.0
 * @category hedging
 */
export const latencyQuantile: (q: number, options?: LatencyQuantileOptions) => LatencyQuantile = hedging.latencyQuantile

/**
 * Options of `hedge`.
 *
 * @since 0.3.0
 * @category models
 */
export interface HedgeOptions<E> {
  /** When the next copy starts if none has finished: a duration, or `latencyQuantile(q)`. Required. */
  readonly delay: Duration.DurationInput | LatencyQuantile
  /** Copies in all, the first counted (default 2; 1 means no hedging). */
  readonly maxAttempts?: number | undefined
  /** A copy failing with an error this accepts starts the next copy at once (default: every error). */
  readonly while?: ((error: E) => Verdict) | undefined
  /** Each extra copy withdraws one token: `true` from the `RetryBudget` in context, or this budget. */
  readonly budget?: boolean | RetryBudget | undefined
}

/**
 * The services hedge options require: the `RetryBudget` with `budget: true`, and those of
 * an Effect `while`.
 *
 * @since 0.3.0
 * @category type-level
 */
export type HedgeContext<O> =
  | (O extends { readonly budget: infer B } ? (true extends B ? RetryBudget : never) : never)
  | (O extends { readonly while: infer W } ? NotAny<ContextOf<W>> : never)

/**
 * What `hedge(options)` returns, typed from the effect in the pipe form.
 *
 * @since 0.3.0
 * @category models
 */
export type Hedged<E, O> = unknown extends E ? HedgedAny<O> : HedgedTyped<E, O>

/**
 * `hedge(options)` typed from the effect it is applied to.
 *
 * @since 0.3.0
 * @category models
 */
export interface HedgedTyped<E, O> {
  <A, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | HedgeContext<O>>
}

/**
 * `hedge(options)` created apart from an effect.
 *
 * @since 0.3.0
 * @category models
 */
export interface HedgedAny<O> {
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | HedgeContext<O>>
}

/**
 * Hedged requests: runs the effect, and if it has not finished after `delay`, starts
 * another copy, up to `maxAttempts` copies in all. The first success wins.
 *
 * **Details**
 *
 * - Every other copy is interrupted and awaited when one wins (their finalizers have run
 *   when `hedge` returns: no fiber or socket is left behind).
 * - A copy that fails with an error `while` accepts (default: every failure) starts the
 *   next copy at once, without waiting for `delay`. An error `while` rejects, a defect or
 *   an interruption ends the run with it. When every copy failed, the run fails with the
 *   first copy's error.
 * - `budget`: each extra copy withdraws one retry-budget token, so retries and hedges
 *   share one cap. No token, no hedge: the copies already running go on, and no more
 *   start in that run. The hedge deposits nothing: a budget's deposits come from the
 *   runs of the retry around it (`Backoff.retry({ budget })`) or from `RetryBudget.track`.
 * - Inside `Backoff.retry` (`task.pipe(Backoff.hedge(...), Backoff.retry(...))`) each
 *   attempt is hedged and the retry sees one outcome per attempt.
 * - Only hedge what is safe to run twice at once (reads, idempotent writes).
 *
 * @example
 * ```ts
 * import { Backoff } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * let calls = 0
 * // the first call is slow, the second fast
 * const lookup = Effect.suspend(() => ++calls === 1 ? Effect.as(Effect.sleep("200 millis"), "slow") : Effect.succeed("fast"))
 * const hedged = lookup.pipe(Backoff.hedge({ delay: "20 millis" }))
 * Effect.runPromise(hedged).then(console.log) // "fast"
 * ```
 *
 * @since 0.3.0
 * @category hedging
 */
export const hedge: {
  <E, const O extends NoExcessProperties<HedgeOptions<E>, O>>(options: O): Hedged<E, O>
  <A, E, R, const O extends NoExcessProperties<HedgeOptions<NoInfer<E>>, O>>(
    self: Effect.Effect<A, E, R>,
    options: O
  ): Effect.Effect<A, E, R | HedgeContext<O>>
} = hedging.hedge
