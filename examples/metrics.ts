/**
 * Metrics: `Backoff.withMetrics(options)` adds handlers that record Effect metrics, each
 * tagged by target: `backoff_retries_total`, `backoff_giveups_total`,
 * `backoff_successes_after_retry_total`, and the histograms `backoff_wait_seconds` and
 * `backoff_attempts`. They live in Effect's metric registry, so any exporter
 * (`@effect/opentelemetry`'s `Metrics`, Prometheus, ...) picks them up. Without
 * `withMetrics` nothing is recorded.
 *
 * Run: npx tsx examples/metrics.ts
 */
import { Backoff, Wait } from "@effect-backoff/core"
import { Console, Data, Effect, Metric, Random } from "effect"

class Timeout extends Data.TaggedError("Timeout")<{}> {}

// A flaky call: fails 60% of the time (seeded below, so the numbers are reproducible).
const fetchPrice = (symbol: string) =>
  Effect.flatMap(Random.next, (r) => r < 0.6 ? Effect.fail(new Timeout()) : Effect.succeed({ symbol, price: 100 * r }))

const fetchPriceWithRetry = Backoff.onException(
  fetchPrice,
  Backoff.withMetrics({
    wait: Wait.expo({ factor: "1 millis", maxValue: "8 millis" }),
    maxTries: 4,
    logger: false
  })
)

const program = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) {
    yield* Effect.either(fetchPriceWithRetry(`SYM${i}`))
  }

  // Read the metrics of one target (the function's name).
  const tagged = <M extends Metric.Metric<any, any, any>>(metric: M) => Metric.tagged(metric, "target", "fetchPrice")
  const retries = yield* Metric.value(tagged(Backoff.metrics.retries))
  const giveups = yield* Metric.value(tagged(Backoff.metrics.giveups))
  const recovered = yield* Metric.value(tagged(Backoff.metrics.successesAfterRetry))
  const waits = yield* Metric.value(tagged(Backoff.metrics.waits))
  const attempts = yield* Metric.value(tagged(Backoff.metrics.attempts))

  yield* Console.log(`runs: ${attempts.count}, calls: ${attempts.sum}`)
  yield* Console.log(`backoff_retries_total{target="fetchPrice"} ${retries.count}`)
  yield* Console.log(`backoff_giveups_total{target="fetchPrice"} ${giveups.count}`)
  yield* Console.log(`backoff_successes_after_retry_total{target="fetchPrice"} ${recovered.count}`)
  yield* Console.log(
    `backoff_wait_seconds: count ${waits.count}, sum ${waits.sum.toFixed(3)} s, max ${waits.max.toFixed(3)} s`
  )

  // Or list everything the registry holds for this library.
  const pairs = yield* Metric.snapshot
  const names = new Set(pairs.map((p) => p.metricKey.name).filter((name) => name.startsWith("backoff_")))
  yield* Console.log(`registered: ${[...names].sort().join(", ")}`)
})

Effect.runPromise(Effect.withRandom(program, Random.make("metrics-example")))
