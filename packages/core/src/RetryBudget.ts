/**
 * Retry budgets: retries capped as a share of real calls, so a fleet that retries never
 * multiplies the load on a struggling service (Finagle's `RetryBudget`).
 *
 * @since 0.2.0
 */
// first: a wrong effect major fails here, with a sentence naming the versions needed
import "./internal/effectVersion.js"
import type { Clock, Context, Duration, Effect, Layer, Schedule } from "effect"
import * as internal from "./internal/retryBudget.js"

/**
 * @since 0.2.0
 * @category symbols
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * @since 0.2.0
 * @category symbols
 */
export type TypeId = internal.TypeId

/**
 * The key of an optional synchronous deposit a budget may carry:
 * `budget[UnsafeDeposit](clock)` must do exactly what `deposit` does, on that Clock. The
 * retry loop calls it in its own step, so a budget costs the success path no extra Effect
 * step. `make` and the Redis budget have one; a budget without it works the same, through
 * `deposit`.
 *
 * @since 0.2.0
 * @category symbols
 */
export const UnsafeDeposit: typeof internal.UnsafeDeposit = internal.UnsafeDeposit

/**
 * @since 0.2.0
 * @category symbols
 */
export type UnsafeDeposit = typeof UnsafeDeposit

/**
 * A budget with a synchronous deposit (see `UnsafeDeposit`).
 *
 * @since 0.2.0
 * @category models
 */
export interface UnsafeDepositing {
  readonly [UnsafeDeposit]: (clock: Clock.Clock) => void
}

/**
 * A retry budget. Every run (one logical call) deposits `percentCanRetry` of a token;
 * every retry withdraws one; deposits and withdrawals expire after `ttl`; a reserve of
 * `minRetriesPerSecond × ttl` tokens is always there.
 *
 * The retry loop calls `deposit` once at the start of each run and `tryWithdraw` before
 * each retry; a `false` makes the run give up at once (with `reason: "budget"`).
 *
 * @since 0.2.0
 * @category models
 */
export type RetryBudget = internal.RetryBudget

/**
 * The service tag: `budget: true` and `limit()` / `track` without a budget use the
 * `RetryBudget` in context.
 *
 * @example
 * ```ts
 * import { RetryBudget } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const budget = yield* RetryBudget.RetryBudget
 *   yield* budget.deposit
 *   return yield* budget.tryWithdraw
 * })
 * Effect.runPromise(program.pipe(Effect.provide(RetryBudget.layer()))).then(console.log) // true
 * ```
 *
 * @since 0.2.0
 * @category tags
 */
export const RetryBudget: Context.Tag<RetryBudget, RetryBudget> = internal.tag

/**
 * Options of a budget.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Share of a token each run deposits (default 0.2: retries add at most 20% to the load). From 0 to 1000, exact to six decimals. */
  readonly percentCanRetry?: number | undefined
  /** How long deposits and withdrawals count (default 10 seconds; at least 1 millis). */
  readonly ttl?: Duration.DurationInput | undefined
  /** The reserve: `minRetriesPerSecond × ttl` tokens are always there (default 10), so a quiet client can still retry. */
  readonly minRetriesPerSecond?: number | undefined
}

/**
 * Is this a `RetryBudget`?
 *
 * @since 0.2.0
 * @category guards
 */
export const isRetryBudget: (u: unknown) => u is RetryBudget = internal.isRetryBudget

/**
 * An in-memory budget, on Effect's Clock (so a `TestClock` drives it). One value is one
 * budget: share it between the policies that call the same service.
 *
 * **Details**
 *
 * Time is cut into 50 buckets per `ttl`: a deposit costs one bucket check and two
 * additions. Deposits count for between `ttl − ttl/50` and `ttl`, withdrawals for between
 * `ttl` and `ttl + ttl/50`, so rounding always errs on the side of fewer retries. Time is
 * the Clock's monotonic reading (`currentTimeNanos`, as the retry loop's), so a wall-clock
 * step neither holds nor jumps the window. Bad options throw `InvalidOptionError`.
 *
 * @example
 * ```ts
 * import { RetryBudget } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const budget = yield* RetryBudget.make({ percentCanRetry: 0.1, minRetriesPerSecond: 0 })
 *   for (let i = 0; i < 10; i++) yield* budget.deposit
 *   return [yield* budget.tryWithdraw, yield* budget.tryWithdraw]
 * })
 * Effect.runPromise(program).then(console.log) // [true, false] (10 runs at 0.1 fund exactly one retry)
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<RetryBudget> = internal.make

/**
 * A layer with one in-memory budget: the default for one machine.
 *
 * @example
 * ```ts
 * import { Backoff, RetryBudget, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const task = Effect.fail("unavailable")
 * const retried = task.pipe(Backoff.onException({ wait: Wait.constant({ interval: "1 millis" }), maxTries: 3, budget: true }))
 * const program = retried.pipe(Effect.provide(RetryBudget.layer({ ttl: "10 seconds" })))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: (options?: Options) => Layer.Layer<RetryBudget> = internal.layer

/**
 * A Schedule that consults a budget: each step that would recur withdraws a token, and the
 * schedule ends when none is left. The budget is the one given, else the `RetryBudget` in
 * context. For plain `Effect.retry`: the calls' deposits then come from `track`, placed
 * around the retried effect (a deposit per run, not per attempt).
 *
 * **Details**
 *
 * Like `Backoff.maxTries`, it is part of the policy: its output is the delay, the
 * withdrawal comes after the wait strategy and before jitter and the taps (so no tap
 * reports a backoff the budget refuses), and the give-up it causes has `reason: "budget"`
 * for every tap in the policy, for `Backoff.retry`'s handlers and in its log line.
 *
 * @example
 * ```ts
 * import { RetryBudget, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const task = Effect.fail("unavailable")
 * const policy = Wait.expo({ factor: "10 millis" }).pipe(RetryBudget.limit())
 * const program = Effect.retry(task, policy).pipe(RetryBudget.track(), Effect.provide(RetryBudget.layer()))
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const limit: {
  (): <Out, In, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Duration.Duration, In, R | RetryBudget>
  (
    budget: RetryBudget
  ): <Out, In, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Duration.Duration, In, R>
  <Out, In, R>(self: Schedule.Schedule<Out, In, R>, budget: RetryBudget): Schedule.Schedule<Duration.Duration, In, R>
  <Out, In, R>(self: Schedule.Schedule<Out, In, R>): Schedule.Schedule<Duration.Duration, In, R | RetryBudget>
} = internal.limit

/**
 * The effect with one deposit before it: what `budget` does at the start of each run,
 * for users of plain `Effect.retry` with `limit`. Put it outside the retry, so retries
 * deposit nothing.
 *
 * @example
 * ```ts
 * import { RetryBudget } from "@effect-backoff/core"
 * import { Effect, Schedule } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const budget = yield* RetryBudget.make()
 *   const call = Effect.succeed("ok")
 *   return yield* Effect.retry(call, Schedule.spaced("1 second").pipe(RetryBudget.limit(budget))).pipe(RetryBudget.track(budget))
 * })
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const track: {
  (): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | RetryBudget>
  (budget: RetryBudget): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, budget: RetryBudget): Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | RetryBudget>
} = internal.track

/**
 * A budget's options, validated, in the integer units the arithmetic uses (one token is
 * `unit` units). For other stores of the same semantics (the Redis budget uses it).
 *
 * @since 0.2.0
 * @category models
 */
export type Resolved = internal.Resolved

/**
 * Validates budget options (throwing `InvalidOptionError`) and returns them in integer
 * units. `extraKeys` names further options the caller accepts.
 *
 * @example
 * ```ts
 * import { RetryBudget } from "@effect-backoff/core"
 *
 * console.log(RetryBudget.resolve({ percentCanRetry: 0.1 }).depositUnits) // 100000
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const resolve: (options?: Options, extraKeys?: ReadonlyArray<string>) => Resolved = internal.resolve
