import { Clock, Duration, Effect, Metric, Option } from "effect"
// modules Effect 4 removed go through the namespace: a named import would fail at link time,
// before effectVersion.ts could name the versions needed
import * as effect from "effect"
import { addHandler } from "./callbacks.js"
import { describeOutcome } from "./describe.js"
import { invalid } from "./validate.js"

/** @internal Retries (backoffs), tagged by target. */
export const retries = Metric.counter("backoff_retries_total", {
  description: "Retries scheduled (one per backoff), tagged by target",
  incremental: true
})

/** @internal Runs that gave up. */
export const giveups = Metric.counter("backoff_giveups_total", {
  description: "Runs that gave up, tagged by target",
  incremental: true
})

/** @internal Runs that succeeded after at least one retry. */
export const successesAfterRetry = Metric.counter("backoff_successes_after_retry_total", {
  description: "Runs that succeeded after at least one retry, tagged by target",
  incremental: true
})

/** @internal Runs that gave up because the retry budget had no token left. */
export const budgetExhausted = Metric.counter("backoff_budget_exhausted_total", {
  description: "Runs that gave up because the retry budget had no token left, tagged by target",
  incremental: true
})

/** @internal The sleeps, in seconds. */
export const waits = Metric.histogram(
  "backoff_wait_seconds",
  effect.MetricBoundaries.exponential({ start: 0.001, factor: 2, count: 22 }),
  "Sleeps before a retry, in seconds, tagged by target"
)

/** @internal Calls per finished run. */
export const attempts = Metric.histogram(
  "backoff_attempts",
  effect.MetricBoundaries.exponential({ start: 1, factor: 2, count: 12 }),
  "Calls per finished run (success or give-up), tagged by target"
)

type AnyDetails = {
  readonly target: string
  readonly tries: number
  readonly wait?: Duration.Duration
  readonly exception?: unknown
  readonly value?: unknown
  readonly reason?: string
}

const append = (handler: (d: any) => unknown, existing: unknown) => addHandler(existing, handler, "last")

const options = (input: unknown, name: string): Record<string, unknown> => {
  if (input === undefined) return {}
  if (typeof input !== "object" || input === null) throw invalid(`${name} options`, input, "an options object")
  return input as Record<string, unknown>
}

/** @internal Options with handlers appended that record the metrics above, tagged by target. */
export const withMetrics = <O>(input: O): O => {
  const o = options(input, "withMetrics")
  return {
    ...o,
    onBackoff: append((d: AnyDetails) =>
      Effect.zipRight(
        Metric.increment(Metric.tagged(retries, "target", d.target)),
        Metric.update(Metric.tagged(waits, "target", d.target), Duration.toSeconds(d.wait!))
      ), o.onBackoff),
    onSuccess: append((d: AnyDetails) =>
      d.tries > 1
        ? Effect.zipRight(
          Metric.increment(Metric.tagged(successesAfterRetry, "target", d.target)),
          Metric.update(Metric.tagged(attempts, "target", d.target), d.tries)
        )
        : Metric.update(Metric.tagged(attempts, "target", d.target), 1), o.onSuccess),
    onGiveup: append((d: AnyDetails) =>
      Effect.zipRight(
        d.reason === "budget"
          ? Effect.zipRight(
            Metric.increment(Metric.tagged(giveups, "target", d.target)),
            Metric.increment(Metric.tagged(budgetExhausted, "target", d.target))
          )
          : Metric.increment(Metric.tagged(giveups, "target", d.target)),
        Metric.update(Metric.tagged(attempts, "target", d.target), d.tries)
      ), o.onGiveup)
  } as O
}

const tagOf = (d: AnyDetails): string =>
  "exception" in d ? describeOutcome(d.exception) : "value" in d ? describeOutcome(d.value) : ""

const spanEvent = (name: string, attributes: (now: bigint) => Record<string, unknown>) =>
  Effect.flatMap(Effect.option(Effect.currentSpan), (span) =>
    Option.isNone(span)
      ? Effect.void
      : Effect.flatMap(
        Clock.currentTimeNanos,
        (now) => Effect.sync(() => span.value.event(name, now, attributes(now)))
      ))

/**
 * @internal Options that wrap each run in a span named after the target (`span: true`)
 * and add a span event per backoff and give-up, with tries, wait and the outcome.
 */
export const withTracing = <O>(input: O): O => {
  const o = options(input, "withTracing")
  return {
    ...o,
    span: o.span ?? true,
    onBackoff: append((d: AnyDetails) =>
      spanEvent("backoff", () => ({
        "backoff.tries": d.tries,
        "backoff.wait": Duration.toSeconds(d.wait!),
        "backoff.outcome": tagOf(d)
      })), o.onBackoff),
    onSuccess: append(
      (d: AnyDetails) => Effect.annotateCurrentSpan({ "backoff.tries": d.tries, "backoff.outcome": "success" }),
      o.onSuccess
    ),
    onGiveup: append((d: AnyDetails) =>
      Effect.zipRight(
        spanEvent("giveup", () => ({ "backoff.tries": d.tries, "backoff.outcome": tagOf(d) })),
        Effect.annotateCurrentSpan({ "backoff.tries": d.tries, "backoff.outcome": "giveup" })
      ), o.onGiveup)
  } as O
}
