import { Clock, Duration, Effect, Random } from "effect"
import * as backoff from "./backoff.js"
import { addHandler } from "./callbacks.js"
import { OpenError } from "./circuitBreaker.js"
import { isAnySchedule } from "./plan.js"
import type { GiveupReason } from "./plan.js"
import { durationMillis, invalid } from "./validate.js"

/** @internal */
export const OutcomeTypeId: unique symbol = Symbol.for("@effect-backoff/core/Timeline/Outcome")

/** @internal A scripted outcome; `A` and `E` are phantom types for the public signatures. */
export interface Outcome<A = unknown, E = unknown> {
  readonly [OutcomeTypeId]: typeof OutcomeTypeId
  readonly _tag: "Fail" | "Succeed"
  readonly value: A | E
  readonly duration: number
  /** phantom types */
  readonly "~types"?: { readonly a: A; readonly e: E }
}

const outcome = (_tag: "Fail" | "Succeed", value: unknown, duration: Duration.DurationInput | undefined): Outcome => ({
  [OutcomeTypeId]: OutcomeTypeId,
  _tag,
  value,
  duration: duration === undefined ? 0 : durationMillis("Timeline outcome duration", duration)
})

/** @internal */
export const fail = <E>(error: E, duration?: Duration.DurationInput): Outcome<never, E> =>
  outcome("Fail", error, duration) as Outcome<never, E>
/** @internal */
export const succeed = <A>(value: A, duration?: Duration.DurationInput): Outcome<A, never> =>
  outcome("Succeed", value, duration) as Outcome<A, never>

const falsy = (value: unknown) => !value

const isOutcome = (u: unknown): u is Outcome => typeof u === "object" && u !== null && OutcomeTypeId in u

/** @internal A Clock whose sleep advances its time and returns at once. */
export class VirtualClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  now = 0
  unsafeCurrentTimeMillis(): number {
    return this.now
  }
  unsafeCurrentTimeNanos(): bigint {
    return BigInt(Math.round(this.now * 1e6))
  }
  readonly currentTimeMillis: Effect.Effect<number> = Effect.sync(() => this.now)
  readonly currentTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.unsafeCurrentTimeNanos())
  sleep(duration: Duration.Duration): Effect.Effect<void> {
    return Effect.sync(() => {
      this.now += Duration.toMillis(duration)
    })
  }
}

/** @internal */
export const DEFAULT_SEED = "effect-backoff"

type Event = {
  readonly _tag: "Call" | "Rejected" | "Backoff" | "Success" | "Giveup"
  readonly at: Duration.Duration
  readonly tries: number
  readonly wait?: Duration.Duration
  readonly reason?: GiveupReason
}

const prepend = (recorder: (details: any) => void, handlers: unknown) => addHandler(handlers, recorder, "first")

const timeline = (
  mode: "exception" | "predicate",
  options: unknown,
  script: ReadonlyArray<unknown>,
  settings: { readonly seed?: unknown; readonly maxCalls?: number | undefined } | undefined
): Effect.Effect<any, never, any> => {
  if (!Array.isArray(script) || script.length === 0) {
    throw invalid(mode === "exception" ? "outcomes" : "values", script, "a non-empty list")
  }
  const maxCalls = settings?.maxCalls ?? 10_000
  if (!Number.isInteger(maxCalls) || maxCalls < 1) throw invalid("maxCalls", maxCalls, "an integer >= 1")
  const steps: ReadonlyArray<Outcome> = script.map((x, i) => {
    if (isOutcome(x)) return x
    if (mode === "predicate") return succeed(x)
    throw invalid(`outcomes[${i}]`, x, "Timeline.fail(...) or Timeline.succeed(...)")
  })
  // a built policy (a Schedule) runs as Backoff.retry / repeat would run it
  const isPolicy = isAnySchedule(options)
  // (onPredicate semantics: run again while the value is falsy)
  const o: Record<string, unknown> = isPolicy
    ? mode === "exception" ? { schedule: options, logger: false } : { schedule: options, logger: false, while: falsy }
    : (options ?? {}) as Record<string, unknown>
  const apply = (opts: unknown) =>
    isPolicy
      ? (mode === "exception" ? backoff.retry(opts) : backoff.repeat(opts))
      : (mode === "exception" ? backoff.onException(opts) : backoff.onPredicate(opts))
  // bad options throw here, at the call, as onException does: not when the Effect runs
  apply(o)
  return Effect.suspend(() => {
    const clock = new VirtualClock()
    const events: Array<Event> = []
    const at = () => Duration.millis(clock.now)
    let calls = 0
    let cutOff = false
    const recorded = {
      ...o,
      onBackoff: prepend((d) => {
        // a circuit breaker's rejection: an attempt that made no call
        if (d.exception instanceof OpenError) events.push({ _tag: "Rejected", at: at(), tries: d.tries })
        events.push({ _tag: "Backoff", at: at(), tries: d.tries, wait: d.wait })
      }, o.onBackoff),
      onSuccess: prepend((d) => {
        events.push({ _tag: "Success", at: at(), tries: d.tries })
      }, o.onSuccess),
      onGiveup: prepend((d) => {
        if (d.exception instanceof OpenError) events.push({ _tag: "Rejected", at: at(), tries: d.tries })
        events.push({ _tag: "Giveup", at: at(), tries: d.tries, reason: d.reason })
      }, o.onGiveup)
    }
    const call = Effect.suspend(() => {
      if (calls >= maxCalls) {
        cutOff = true
        return Effect.interrupt
      }
      const step = steps[Math.min(calls, steps.length - 1)]!
      calls++
      events.push({ _tag: "Call", at: at(), tries: calls })
      const result = step._tag === "Fail" ? Effect.fail(step.value) : Effect.succeed(step.value)
      return step.duration > 0 ? Effect.zipRight(clock.sleep(Duration.millis(step.duration)), result) : result
    })
    const seed = settings?.seed ?? DEFAULT_SEED
    return (apply(recorded)(call) as Effect.Effect<unknown, unknown, unknown>).pipe(
      Effect.exit,
      Effect.withClock(clock),
      Effect.withRandom(Random.make(seed)),
      Effect.map((result) => ({ events, total: Duration.millis(clock.now), result, cutOff, calls }))
    )
  })
}

/** @internal typed by the public module, whose signatures name the public option types */
export const run: (...args: Array<any>) => any = (options: unknown, outcomes: ReadonlyArray<unknown>, settings?: any) =>
  timeline("exception", options, outcomes, settings)

/** @internal typed by the public module, whose signatures name the public option types */
export const runPredicate: (...args: Array<any>) => any = (
  options: unknown,
  values: ReadonlyArray<unknown>,
  settings?: any
) => timeline("predicate", options, values, settings)
