import { Effect } from "effect"
import type { LogLevel } from "effect"
import { describeOutcome } from "./describe.js"
import type { AnyHandler } from "./options.js"

/**
 * @internal Runs one handler. A throw, a rejection or a failing/dying Effect becomes a
 * defect of the run: nothing is swallowed, and nothing is retried after it.
 */
const callHandler = (handler: AnyHandler, details: unknown): Effect.Effect<void, never, unknown> =>
  Effect.suspend(() => {
    const result = handler(details)
    if (Effect.isEffect(result)) return Effect.orDie(result) as Effect.Effect<void, never, unknown>
    if (
      result !== null && (typeof result === "object" || typeof result === "function") &&
      typeof (result as PromiseLike<unknown>).then === "function"
    ) {
      return Effect.promise(() => result as PromiseLike<unknown>)
    }
    return Effect.void
  })

/** @internal Runs the handlers in array order, each awaited before the next. */
export const callHandlers = (
  handlers: ReadonlyArray<AnyHandler>,
  details: unknown
): Effect.Effect<void, never, unknown> =>
  handlers.length === 1
    ? callHandler(handlers[0]!, details)
    : Effect.forEach(handlers, (h) => callHandler(h, details), { discard: true })

const seconds = (millis: number) => millis / 1000

/** @internal `Backing off getUrl(...) for 1.0s (HttpError: 503)`, annotated. */
export const logBackoff = (
  level: LogLevel.LogLevel,
  target: string,
  tries: number,
  elapsed: number,
  wait: number,
  outcome: unknown
): Effect.Effect<void> =>
  Effect.logWithLevel(
    level,
    `Backing off ${target}(...) for ${seconds(wait).toFixed(1)}s (${describeOutcome(outcome)})`
  ).pipe(Effect.annotateLogs({
    "backoff.target": target,
    "backoff.tries": tries,
    "backoff.wait": seconds(wait),
    "backoff.elapsed": seconds(elapsed)
  }))

/**
 * @internal `Giving up getUrl(...) after 8 tries (HttpError: 503)`, annotated; a give-up
 * for want of retry budget says so (`... after 2 tries: retry budget exhausted (...)`) and
 * carries `backoff.reason: "budget"`.
 */
export const logGiveup = (
  level: LogLevel.LogLevel,
  target: string,
  tries: number,
  elapsed: number,
  outcome: unknown,
  reason?: string
): Effect.Effect<void> => {
  const budget = reason === "budget"
  const annotations: Record<string, unknown> = {
    "backoff.target": target,
    "backoff.tries": tries,
    "backoff.elapsed": seconds(elapsed)
  }
  if (budget) annotations["backoff.reason"] = "budget"
  return Effect.logWithLevel(
    level,
    `Giving up ${target}(...) after ${tries} tries${budget ? ": retry budget exhausted" : ""} (${
      describeOutcome(outcome)
    })`
  ).pipe(Effect.annotateLogs(annotations))
}
