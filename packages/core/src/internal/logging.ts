import { Effect } from "effect"
import type { LogLevel } from "effect"
import { describeOutcome } from "./describe.js"
import type { GiveupReason } from "./plan.js"

const seconds = (millis: number) => millis / 1000

/**
 * @internal A wait as the log lines show it: one decimal from a second up (`1.0s`,
 * `12.5s`), milliseconds below it with three significant digits (`187ms`, `2ms`,
 * `0.25ms`), so a short wait never reads as `0.0s`.
 */
export const formatWait = (millis: number): string =>
  millis >= 1000 ? `${seconds(millis).toFixed(1)}s` : `${Number(millis.toPrecision(3))}ms`

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
    `Backing off ${target}(...) for ${formatWait(wait)} (${describeOutcome(outcome)})`
  ).pipe(Effect.annotateLogs({
    "backoff.target": target,
    "backoff.tries": tries,
    "backoff.wait": seconds(wait),
    "backoff.elapsed": seconds(elapsed)
  }))

/**
 * @internal `Giving up getUrl(...) after 8 tries (HttpError: 503)` (`after 1 try`), annotated; when the
 * retry budget ran out the line says so, `... after 2 tries: retry budget exhausted (...)`,
 * and carries `backoff.reason: "budget"`.
 */
export const logGiveup = (
  level: LogLevel.LogLevel,
  target: string,
  tries: number,
  elapsed: number,
  outcome: unknown,
  reason: GiveupReason
): Effect.Effect<void> =>
  Effect.logWithLevel(
    level,
    `Giving up ${target}(...) after ${tries} ${tries === 1 ? "try" : "tries"}${
      reason === "budget" ? ": retry budget exhausted" : reason === "circuitOpen" ? ": circuit open" : ""
    } (${describeOutcome(outcome)})`
  ).pipe(Effect.annotateLogs(
    reason === "budget" || reason === "circuitOpen"
      ? {
        "backoff.target": target,
        "backoff.tries": tries,
        "backoff.elapsed": seconds(elapsed),
        "backoff.reason": reason
      }
      : { "backoff.target": target, "backoff.tries": tries, "backoff.elapsed": seconds(elapsed) }
  ))
