/**
 * Circuit breakers: after enough failures, reject calls at once without making them, then
 * let a few probes through to see whether the dependency is back. On Effect's Clock, in
 * the vocabulary of `Wait`.
 *
 * @since 0.3.0
 */
// first: a wrong effect major fails here, with a sentence naming the versions needed
import "./internal/effectVersion.js"
import type { Context, Duration, Effect, Layer, Schedule, Stream } from "effect"
import type { NoExcessProperties } from "effect/Types"
import * as internal from "./internal/circuitBreaker.js"

/**
 * @since 0.3.0
 * @category symbols
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * @since 0.3.0
 * @category symbols
 */
export type TypeId = internal.TypeId

/**
 * A breaker's state: `"closed"` (calls go through, outcomes counted), `"open"` (calls
 * rejected until `halfOpenAfter` has passed), `"halfOpen"` (up to `probes` calls go
 * through as probes), `"isolated"` (open by hand until `reset`).
 *
 * @since 0.3.0
 * @category models
 */
export type State = internal.StateName

/**
 * A circuit breaker. `execute` runs an effect through it; `state` reads the state (an open
 * breaker whose wait is over reads, and becomes, half-open: there is no timer);
 * `changes` is a `Stream` of its transitions; `isolate` opens it until `reset`; `reset`
 * closes it and clears its counts.
 *
 * @since 0.3.0
 * @category models
 */
export type CircuitBreaker = internal.CircuitBreaker

/**
 * One breaker per key (per host, per tenant), at most `capacity` of them: the least
 * recently used one is dropped, with its counts, when a new key comes past the capacity.
 *
 * @since 0.3.0
 * @category models
 */
export type Keyed = internal.KeyedBreaker

/**
 * A transition, as `changes` gives it: `key`, `from`, `to`, `reason` (`"tripped"`,
 * `"halfOpenAfter"`, `"probesSucceeded"`, `"probeFailed"`, `"probeTimeout"`, `"isolate"`,
 * `"reset"`), `detail` in words (`"5 failures in a row"`) and `at`, the Clock's time in
 * epoch milliseconds.
 *
 * @since 0.3.0
 * @category models
 */
export type Change = internal.Change

/**
 * When a closed breaker opens: `consecutive`, `count` or `sampling`.
 *
 * @since 0.3.0
 * @category models
 */
export type Policy = internal.Policy

/**
 * The error of a call the breaker did not let through (the effect was not run):
 * `retryAfter` is the time until it half-opens (zero while half-open with every probe
 * slot taken, infinite while isolated), `key` names the breaker, `state` is its state.
 * A probe cut by `probeTimeout` fails with one too.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make({ name: "payments" })
 *   yield* breaker.isolate
 *   return yield* Effect.flip(breaker.execute(Effect.succeed("never runs")))
 * })
 * Effect.runPromise(program).then((e) => console.log(e.message)) // "circuit breaker payments is isolated: until reset"
 * ```
 *
 * @since 0.3.0
 * @category errors
 */
export const OpenError: typeof internal.OpenError = internal.OpenError

/**
 * @since 0.3.0
 * @category errors
 */
export type OpenError = internal.OpenError

/**
 * Options of the `slowCall` rule on `count` and `sampling`: a call slower than `duration`
 * is slow, and a slow-call ratio at or above `threshold` opens the breaker too.
 *
 * @since 0.3.0
 * @category models
 */
export interface SlowCallOptions {
  readonly duration: Duration.DurationInput
  readonly threshold: number
}

/**
 * Options of `count`.
 *
 * @since 0.3.0
 * @category models
 */
export interface CountOptions {
  /** The failure ratio that opens it, in (0, 1]. */
  readonly threshold: number
  /** How many of the last calls count. */
  readonly size: number
  /** Calls needed before the ratio counts (default `size`). */
  readonly minimumCalls?: number | undefined
  readonly slowCall?: SlowCallOptions | undefined
}

/**
 * Options of `sampling`.
 *
 * @since 0.3.0
 * @category models
 */
export interface SamplingOptions {
  /** The failure ratio that opens it, in (0, 1]. */
  readonly threshold: number
  /** The sliding window (10 time buckets, as the retry budget's). */
  readonly duration: Duration.DurationInput
  /** Calls needed in the window before the ratio counts (default 100, as Polly). */
  readonly minimumThroughput?: number | undefined
  readonly slowCall?: SlowCallOptions | undefined
}

/**
 * Options of a breaker.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** When to open (default `consecutive(5)`). */
  readonly policy?: Policy | undefined
  /**
   * How long it stays open before half-opening (default 5 seconds): a Duration, or a wait
   * Schedule whose k-th delay is the wait after the k-th opening in a row
   * (`Wait.expo({ factor: "5 seconds", maxValue: "5 minutes" })`); closing starts it over.
   */
  readonly halfOpenAfter?: Duration.DurationInput | Schedule.Schedule<unknown, unknown, never> | undefined
  /** Probes allowed at once while half-open (default 1). */
  readonly probes?: number | undefined
  /** A probe running longer is cut, counts as failed and fails with `OpenError` (default none). */
  readonly probeTimeout?: Duration.DurationInput | undefined
  /** Probe successes that close it (default `probes`). */
  readonly successThreshold?: number | undefined
  /**
   * Which typed failures count (default: all; defects always count, interruption never).
   * May answer with a boolean, an Effect or a Promise.
   */
  readonly isFailure?: ((error: unknown) => boolean | Effect.Effect<boolean> | PromiseLike<boolean>) | undefined
  /** The breaker's name in `OpenError.key`, log lines and metrics (default `"circuit-breaker"`). */
  readonly name?: string | undefined
}

/**
 * Opens after `n` failures in a row (the default policy is `consecutive(5)`).
 *
 * @since 0.3.0
 * @category policies
 */
export const consecutive: (n: number) => Policy = internal.consecutive

/**
 * Opens when the failure ratio over the last `size` calls reaches `threshold`, once at
 * least `minimumCalls` calls were made (resilience4j's count-based window).
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@effect-backoff/core"
 *
 * const policy = CircuitBreaker.count({ threshold: 0.5, size: 10, minimumCalls: 4 })
 * ```
 *
 * @since 0.3.0
 * @category policies
 */
export const count: <const O extends NoExcessProperties<CountOptions, O>>(options: O) => Policy = internal.count

/**
 * Opens when the failure ratio over a sliding time window reaches `threshold`, once at
 * least `minimumThroughput` calls fell in it (Polly's advanced breaker, cockatiel's
 * `SamplingBreaker`).
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@effect-backoff/core"
 *
 * const policy = CircuitBreaker.sampling({ threshold: 0.2, duration: "30 seconds", minimumThroughput: 20 })
 * ```
 *
 * @since 0.3.0
 * @category policies
 */
export const sampling: <const O extends NoExcessProperties<SamplingOptions, O>>(options: O) => Policy =
  internal.sampling

/**
 * A breaker in memory, on Effect's Clock (a `TestClock` drives it). Bad options throw
 * `InvalidOptionError`, naming the option.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.consecutive(2), halfOpenAfter: "10 seconds" })
 *   const down = Effect.fail("unavailable")
 *   yield* Effect.either(breaker.execute(down))
 *   yield* Effect.either(breaker.execute(down))
 *   const third = yield* Effect.flip(breaker.execute(down))
 *   return [typeof third === "string" ? third : third._tag, yield* breaker.state]
 * })
 * Effect.runPromise(program).then(console.log) // ["OpenError", "open"]
 * ```
 *
 * @since 0.3.0
 * @category constructors
 */
export const make: <const O extends NoExcessProperties<Options, O> = {}>(options?: O) => Effect.Effect<CircuitBreaker> =
  internal.make

/**
 * One breaker per key, made on first use, at most `capacity` of them (least recently used
 * out). `breaker` options on `HttpBackoff.retryTransient` key it by host.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const breakers = yield* CircuitBreaker.keyed({ policy: CircuitBreaker.consecutive(1) }, { capacity: 100 })
 *   yield* Effect.either(breakers.execute("a.example", Effect.fail("down")))
 *   const a = yield* breakers.get("a.example")
 *   const b = yield* breakers.get("b.example")
 *   return [yield* a.state, yield* b.state]
 * })
 * Effect.runPromise(program).then(console.log) // ["open", "closed"]
 * ```
 *
 * @since 0.3.0
 * @category constructors
 */
export const keyed: <const O extends NoExcessProperties<Options, O>>(
  options: O,
  keyedOptions: { readonly capacity: number }
) => Effect.Effect<Keyed> = internal.keyed

/**
 * The service tag: `breaker: true` on the retry entry points uses the breaker in context.
 *
 * @since 0.3.0
 * @category tags
 */
export const CircuitBreaker: Context.Tag<CircuitBreaker, CircuitBreaker> = internal.tag

/**
 * A layer with one in-memory breaker for the `CircuitBreaker` tag.
 *
 * @example
 * ```ts
 * import { Backoff, CircuitBreaker, Wait } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const task = Effect.fail("unavailable")
 * const retried = task.pipe(Backoff.onException({ wait: Wait.constant({ interval: "1 millis" }), maxTries: 3, breaker: true }))
 * const program = retried.pipe(Effect.provide(CircuitBreaker.layer({ policy: CircuitBreaker.consecutive(5) })))
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const layer: <const O extends NoExcessProperties<Options, O> = {}>(
  options?: O
) => Layer.Layer<CircuitBreaker> = internal.layer

/**
 * Is this a breaker (from `make`, `layer`, or `keyed(...).get`)?
 *
 * @since 0.3.0
 * @category guards
 */
export const isCircuitBreaker: (u: unknown) => u is CircuitBreaker = internal.isCircuitBreaker

/**
 * Is this an `OpenError`?
 *
 * @since 0.3.0
 * @category guards
 */
export const isOpenError = (u: unknown): u is OpenError => u instanceof internal.OpenError

/**
 * Runs an effect through a breaker: the same as `breaker.execute(effect)`. A rejected
 * call fails with `OpenError`, without running the effect, without a timer or a fiber.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@effect-backoff/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make()
 *   return yield* Effect.succeed("ok").pipe(CircuitBreaker.protect(breaker))
 * })
 * Effect.runPromise(program).then(console.log) // "ok"
 * ```
 *
 * @since 0.3.0
 * @category combinators
 */
export const protect: {
  (breaker: CircuitBreaker): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | OpenError, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, breaker: CircuitBreaker): Effect.Effect<A, E | OpenError, R>
} = internal.protect

// ---------------------------------------------------------------------------
// The state machine, for other stores (the Redis breaker)
// ---------------------------------------------------------------------------

/**
 * A breaker's options, validated (the state machine's settings).
 *
 * @since 0.3.0
 * @category state machine
 */
export type Settings = internal.Settings

/**
 * A breaker's whole state as plain JSON data (`name`, `generation`, `window`,
 * `openings`, `openUntil`, `probes`, `successes`): a store may keep it as text, step it
 * with `machine` and write it back with a compare-and-set on `generation`.
 *
 * @since 0.3.0
 * @category state machine
 */
export type MachineState = internal.State

/**
 * An event of the state machine: `events.admit`, `events.tick`, `events.isolate`,
 * `events.reset`, or `events.outcome(kind, generation, probe, millis)`.
 *
 * @since 0.3.0
 * @category state machine
 */
export type Event = internal.Event

/**
 * What one step says: the next state, the decision (`Admitted` with `probe`, `Rejected`
 * with `retryAfter` in milliseconds, `Recorded`) and the transition if the state changed.
 *
 * @since 0.3.0
 * @category state machine
 */
export type StepResult = internal.StepResult

/**
 * Validates breaker options (throwing `InvalidOptionError`); `extraKeys` names further
 * options the caller accepts (as `RetryBudget.resolve`).
 *
 * @since 0.3.0
 * @category state machine
 */
export const resolve: (options?: Options, extraKeys?: ReadonlyArray<string>) => Settings = internal.resolve

/**
 * The breaker's rules as one pure function: `machine(settings)(state, event, nowMillis)`.
 * `nowMillis` is monotonic milliseconds (or a time every sharer of the state agrees on).
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@effect-backoff/core"
 *
 * const settings = CircuitBreaker.resolve({ policy: CircuitBreaker.consecutive(1), halfOpenAfter: "1 second" })
 * const step = CircuitBreaker.machine(settings)
 * const s0 = CircuitBreaker.initialState(settings)
 * const admitted = step(s0, CircuitBreaker.events.admit, 0)
 * const failed = step(admitted.state, CircuitBreaker.events.outcome("failure", admitted.state.generation, false, 5), 5)
 * console.log(failed.state.name, step(failed.state, CircuitBreaker.events.admit, 500).decision) // open { _tag: 'Rejected', retryAfter: 505 }
 * ```
 *
 * @since 0.3.0
 * @category state machine
 */
export const machine: (settings: Settings) => (state: MachineState, event: Event, now: number) => StepResult =
  internal.machine

/**
 * The closed breaker's state, as at `now` (default 0).
 *
 * @since 0.3.0
 * @category state machine
 */
export const initialState: (settings: Settings, now?: number) => MachineState = internal.initialState

/**
 * The state machine's events.
 *
 * @since 0.3.0
 * @category state machine
 */
export const events: {
  readonly admit: Event
  readonly tick: Event
  readonly isolate: Event
  readonly reset: Event
  readonly outcome: (
    kind: "success" | "failure" | "timeout" | "interrupt",
    generation: number,
    probe: boolean,
    millis: number
  ) => Event
} = {
  admit: internal.ADMIT,
  tick: internal.TICK,
  isolate: internal.ISOLATE,
  reset: internal.RESET,
  outcome: internal.outcome
}

/**
 * The metrics every breaker records, tagged by `breaker` (its key): `state` (gauge:
 * closed 0, half-open 1, open 2, isolated 3), `rejections` (counter), `transitions`
 * (counter, also tagged `from` and `to`).
 *
 * @since 0.3.0
 * @category observability
 */
export const metrics = {
  state: internal.stateGauge,
  rejections: internal.rejections,
  transitions: internal.transitions
} as const

/**
 * The `changes` of any breaker or keyed breaker.
 *
 * @since 0.3.0
 * @category observability
 */
export const changes = (breaker: CircuitBreaker | Keyed): Stream.Stream<Change> => breaker.changes
