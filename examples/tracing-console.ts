/**
 * Tracing with OpenTelemetry: `Backoff.withTracing(options)` runs each call of the
 * retried effect in a span named after the target, adds a `backoff` event per retry and
 * a `giveup` event (with `backoff.tries`, `backoff.wait` and `backoff.outcome`), and
 * annotates the span with the final tries and outcome. Here the spans go to the
 * OpenTelemetry console exporter through `@effect/opentelemetry`.
 *
 * Run: npx tsx examples/tracing-console.ts
 */
import { Backoff, Wait } from "@effect-backoff/core"
import { NodeSdk } from "@effect/opentelemetry"
import { ConsoleSpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Console, Data, Effect } from "effect"

class Unavailable extends Data.TaggedError("Unavailable")<{ readonly message: string }> {}

// q3 is ready on the third call; q4 never is
const calls = new Map<string, number>()
const fetchReport = (id: string) =>
  Effect.suspend(() => {
    const n = (calls.get(id) ?? 0) + 1
    calls.set(id, n)
    return id === "q3" && n >= 3
      ? Effect.succeed(`report ${id}`)
      : Effect.fail(new Unavailable({ message: `report ${id} not ready` }))
  })

const fetchReportWithRetry = Backoff.onException(
  fetchReport,
  Backoff.withTracing({ wait: Wait.constant({ interval: "5 millis" }), jitter: null, maxTries: 4, logger: false })
)

const program = Effect.gen(function*() {
  const report = yield* fetchReportWithRetry("q3")
  yield* Console.log(`got ${report} after ${calls.get("q3")} calls`)
  const missing = yield* Effect.either(fetchReportWithRetry("q4"))
  yield* Console.log(`q4: ${missing._tag === "Left" ? `gave up after ${calls.get("q4")} calls` : "found"}`)
}).pipe(Effect.withSpan("handle-request"))

// The SDK layer: spans are printed by the console exporter as soon as they end
// (SimpleSpanProcessor; use a BatchSpanProcessor and an OTLP exporter in production).
const TracingLive = NodeSdk.layer(() => ({
  resource: { serviceName: "effect-backoff-example" },
  spanProcessor: new SimpleSpanProcessor(new ConsoleSpanExporter())
}))

Effect.runPromise(program.pipe(Effect.provide(TracingLive)))
