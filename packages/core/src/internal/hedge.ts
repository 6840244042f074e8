/**
 * @internal Hedged calls (Polly v8's hedging, gRPC A6): run the effect; if it has not
 * finished after `delay`, start another copy, up to `maxAttempts` in all. The first
 * success wins; every other copy is interrupted and awaited. A failure `while` accepts
 * starts the next copy at once; when every copy failed, the run fails with the first
 * copy's error. Each extra copy withdraws one retry-budget token: no token, no hedge.
 */
import { Cause, Effect, Exit, Fiber, Option, Queue } from "effect"
import type { Clock, Scope } from "effect"
import * as callbacks from "./callbacks.js"
import type { RetryBudget } from "./retryBudget.js"
import { budgetOption, tag as budgetTag, unsafeTryWithdrawOf } from "./retryBudget.js"
import { durationMillis, invalid, optionsObject } from "./validate.js"

/** @internal */
export const LatencyQuantileTypeId: unique symbol = Symbol.for("@effect-backoff/core/Backoff/LatencyQuantile")

/**
 * @internal `Backoff.latencyQuantile(q, options)`: the q-quantile of the last `window`
 * successful latencies, never below `floor`; the floor alone until `minSamples` exist.
 * One value is one tracker: every hedge given it records into it and reads from it.
 */
export interface LatencyQuantile {
  readonly [LatencyQuantileTypeId]: typeof LatencyQuantileTypeId
  readonly quantile: number
  readonly window: number
  readonly minSamples: number
  readonly floorMillis: number
  /** The delay now, in milliseconds. */
  readonly currentMillis: () => number
  /** Records one successful latency, in milliseconds. */
  readonly record: (millis: number) => void
  /** How many samples the window holds. */
  readonly size: () => number
}

/** @internal */
export const isLatencyQuantile = (u: unknown): u is LatencyQuantile =>
  typeof u === "object" && u !== null && LatencyQuantileTypeId in u

const positiveInteger = (option: string, input: unknown, fallback: number): number => {
  if (input === undefined) return fallback
  if (typeof input !== "number" || !Number.isInteger(input) || input < 1) {
    throw invalid(option, input, "an integer >= 1")
  }
  return input
}

/** @internal */
export const latencyQuantile = (q: unknown, options?: unknown): LatencyQuantile => {
  if (typeof q !== "number" || !(q > 0 && q <= 1)) {
    throw invalid("latencyQuantile.q", q, "a quantile in (0, 1] (0.95: the 95th percentile)")
  }
  const o = optionsObject("latencyQuantile", options, ["window", "minSamples", "floor"])
  const window = positiveInteger("latencyQuantile.window", o.window, 100)
  const minSamples = positiveInteger("latencyQuantile.minSamples", o.minSamples, Math.min(10, window))
  if (minSamples > window) {
    throw invalid("latencyQuantile.minSamples", minSamples, `an integer from 1 to window (${window})`)
  }
  const floorMillis = o.floor === undefined ? 10 : durationMillis("latencyQuantile.floor", o.floor)
  const ring = new Float64Array(window)
  let count = 0
  let next = 0
  let sorted: Float64Array | undefined
  const currentMillis = () => {
    if (count < minSamples) return floorMillis
    if (sorted === undefined) sorted = ring.slice(0, count).sort()
    // nearest rank: the smallest sample with at least q of the samples at or below it
    const value = sorted[Math.max(0, Math.ceil(q * count) - 1)]!
    return value > floorMillis ? value : floorMillis
  }
  return {
    [LatencyQuantileTypeId]: LatencyQuantileTypeId,
    quantile: q,
    window,
    minSamples,
    floorMillis,
    currentMillis,
    record: (millis) => {
      ring[next] = millis
      next = (next + 1) % window
      if (count < window) count++
      sorted = undefined
    },
    size: () => count
  }
}

/** @internal Hedge options, validated once. */
export interface Settings {
  readonly delay: number | LatencyQuantile
  readonly maxAttempts: number
  readonly while: callbacks.AnyPredicate | undefined
  readonly budget: RetryBudget | true | undefined
  /** Releases the value of a copy that succeeded but lost (HTTP: a response's socket). */
  readonly release: ((value: any) => Effect.Effect<void>) | undefined
}

/** @internal The option names of `Backoff.hedge`. */
export const HEDGE_KEYS: ReadonlyArray<string> = ["delay", "maxAttempts", "while", "budget"]

/** @internal Validates `Backoff.hedge`'s options (`name` prefixes option names in errors, e.g. "hedge."). */
export const resolve = (input: unknown, name = ""): Settings => {
  const o = optionsObject(name === "" ? "hedge" : name.slice(0, -1), input, HEDGE_KEYS)
  if (o.delay === undefined) {
    throw invalid(
      `${name}delay`,
      undefined,
      "a duration (\"100 millis\") or Backoff.latencyQuantile(q): when to start the next copy"
    )
  }
  const delay = isLatencyQuantile(o.delay) ? o.delay : durationMillis(`${name}delay`, o.delay)
  const maxAttempts = o.maxAttempts === undefined ? 2 : o.maxAttempts
  if (typeof maxAttempts !== "number" || !Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) {
    throw invalid(`${name}maxAttempts`, maxAttempts, "an integer from 1 to 100 (copies in all, the first counted)")
  }
  if (o.while !== undefined && typeof o.while !== "function") {
    throw invalid(`${name}while`, o.while, "a function (error) => boolean | Effect<boolean> | Promise<boolean>")
  }
  let budget: RetryBudget | true | undefined
  try {
    budget = budgetOption(o.budget)
  } catch {
    throw invalid(`${name}budget`, o.budget, "true (the RetryBudget in context) or a RetryBudget value")
  }
  return { delay, maxAttempts, while: o.while as callbacks.AnyPredicate | undefined, budget, release: undefined }
}

const monotonicMillis = (clock: Clock.Clock): number => Number(clock.unsafeCurrentTimeNanos()) / 1e6

type Event<A, E> =
  | { readonly _tag: "Done"; readonly index: number; readonly exit: Exit.Exit<A, E>; readonly millis: number }
  | { readonly _tag: "Tick" }

const TICK = { _tag: "Tick" } as const

/** @internal One hedged run of `self`. */
export const run = <A, E, R>(self: Effect.Effect<A, E, R>, settings: Settings): Effect.Effect<A, E, any> => {
  if (settings.maxAttempts === 1) return self
  const budget = settings.budget
  if (budget === true) return Effect.flatMap(budgetTag, (b) => runWith(self, settings, b))
  return runWith(self, settings, budget)
}

const runWith = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  settings: Settings,
  budget: RetryBudget | undefined
): Effect.Effect<A, E, any> =>
  Effect.flatMap(Queue.unbounded<Event<A, E>>(), (queue) =>
    settings.release === undefined
      ? Effect.scoped(hedged(self, settings, budget, queue))
      : Effect.ensuring(Effect.scoped(hedged(self, settings, budget, queue)), releaseLosers(queue, settings.release)))

// losers that succeeded too (finished as the winner did): once they are all awaited, their values are released
const releaseLosers = <A, E>(
  queue: Queue.Queue<Event<A, E>>,
  release: (value: A) => Effect.Effect<void>
): Effect.Effect<void> =>
  Effect.flatMap(Queue.takeAll(queue), (events) =>
    Effect.forEach(
      events,
      (e) => e._tag === "Done" && Exit.isSuccess(e.exit) ? release(e.exit.value) : Effect.void,
      { discard: true }
    ))

const hedged = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  settings: Settings,
  budget: RetryBudget | undefined,
  queue: Queue.Queue<Event<A, E>>
): Effect.Effect<A, E, any> =>
  Effect.clockWith((clock) => {
    const { maxAttempts } = settings
    const delayMillis = typeof settings.delay === "number" ? settings.delay : settings.delay.currentMillis()
    const unsafeWithdraw = budget === undefined ? undefined : unsafeTryWithdrawOf(budget)
    const failures: Array<Cause.Cause<E> | undefined> = []
    let started = 0
    let running = 0
    // the budget said no: no further hedge in this run (the copies running go on)
    let refused = false
    let timer: Fiber.RuntimeFiber<void> | undefined

    // a copy's outcome always reaches the queue: interruption can only land inside `self`
    const copy = (index: number) =>
      Effect.uninterruptibleMask((restore) => {
        const start = monotonicMillis(clock)
        return Effect.flatMap(
          Effect.exit(restore(self)),
          (exit) => Queue.offer(queue, { _tag: "Done", index, exit, millis: monotonicMillis(clock) - start })
        )
      })

    const launch = (): Effect.Effect<void, never, Scope.Scope | R> =>
      Effect.suspend(() => {
        const index = started++
        running++
        return Effect.asVoid(Effect.forkScoped(copy(index)))
      })

    const withdraw = (): Effect.Effect<boolean> => {
      if (budget === undefined) return Effect.succeed(true)
      if (unsafeWithdraw !== undefined) return Effect.succeed(unsafeWithdraw(clock))
      return budget.tryWithdraw
    }

    // the next extra copy, if the limit and the budget allow one
    const hedge = (): Effect.Effect<boolean, never, Scope.Scope | R> =>
      Effect.suspend(() => {
        if (started >= maxAttempts || refused) return Effect.succeed(false)
        return Effect.flatMap(withdraw(), (ok) => {
          if (!ok) {
            refused = true
            return Effect.succeed(false)
          }
          return Effect.as(launch(), true)
        })
      })

    const arm = (): Effect.Effect<void, never, Scope.Scope | R> =>
      Effect.suspend(() => {
        const old = timer
        timer = undefined
        const cancel = old === undefined ? Effect.void : Fiber.interrupt(old)
        if (started >= maxAttempts || refused) return Effect.asVoid(cancel)
        if (delayMillis <= 0) {
          // no delay: every copy at once
          return Effect.zipRight(cancel, Effect.flatMap(hedge(), (ok) => ok ? arm() : Effect.void))
        }
        return Effect.zipRight(
          cancel,
          Effect.map(
            Effect.forkScoped(Effect.delay(Queue.offer(queue, TICK), delayMillis)),
            (fiber) => {
              timer = fiber as Fiber.RuntimeFiber<void>
            }
          )
        )
      })

    const accepts = (cause: Cause.Cause<E>): boolean | Effect.Effect<boolean, never, unknown> => {
      const failure = Cause.failureOption(cause)
      // defects and interruption are never hedged around
      if (Option.isNone(failure) || Cause.isDie(cause) || Cause.isInterrupted(cause)) return false
      return settings.while === undefined ? true : callbacks.verdict(settings.while, failure.value)
    }

    const next = (): Effect.Effect<A, E, any> =>
      Effect.flatMap(Queue.take(queue), (event): Effect.Effect<A, E, any> => {
        if (event._tag === "Tick") {
          return Effect.zipRight(Effect.flatMap(hedge(), (ok) => ok ? arm() : Effect.void), next())
        }
        running--
        const exit = event.exit
        if (Exit.isSuccess(exit)) {
          if (typeof settings.delay !== "number") {
            settings.delay.record(event.millis)
          }
          return Effect.succeed(exit.value)
        }
        failures[event.index] = exit.cause
        return callbacks.whenVerdict(accepts(exit.cause), (hedgeable): Effect.Effect<A, E, any> => {
          if (!hedgeable) return Effect.failCause(exit.cause)
          return Effect.flatMap(hedge(), (ok) => {
            if (ok) return Effect.zipRight(arm(), next())
            if (running > 0) return next()
            // every copy failed: the first copy's error
            return Effect.failCause(failures.find((c) => c !== undefined)!)
          })
        })
      })

    return Effect.zipRight(Effect.zipRight(launch(), arm()), next())
  })

/** @internal `Backoff.hedge`, dual by hand: the data-last form validates its options now. */
export const hedge = function(this: unknown) {
  if (arguments.length >= 2) return run(arguments[0], resolve(arguments[1]))
  const settings = resolve(arguments[0])
  return (self: Effect.Effect<any, any, any>) => run(self, settings)
} as (...args: Array<any>) => any
