// One process of the fleet figure (bench/fleet.mjs): sends GETs at a steady rate through
// HttpBackoff.retryTransient({ maxTries: 5, budget }) and prints, per 100 ms bin, how many
// calls it made. Started as:
//   node --import tsx bench/fleet-worker.ts MODE URL REDIS_URL KEY RATE DURATION OFFSET MIN_RETRIES_PER_SECOND
// MODE: none | local | redis. Prints "ready" once its client is built, then reads the
// run's start (wall-clock millis, shared by every process) from stdin. A benchmark script
// may read the real clock; the library never does.
import { RetryBudget, Wait } from "@effect-backoff/core"
import { NodeHttpBackoff, RedisRetryBudget } from "@effect-backoff/platform-node"
import { HttpClient } from "@effect/platform"
import { Effect, Fiber, Layer, Metric } from "effect"

const [mode, url, redisUrl, key, rateText, durationText, offsetText, reserveText] = process.argv.slice(2)
const budgetOptions = { percentCanRetry: 0.2, ttl: "10 seconds", minRetriesPerSecond: Number(reserveText) } as const
const rate = Number(rateText)
const BIN = 100

const policy = { maxTries: 5, wait: Wait.expo({ factor: "50 millis" }), logger: false } as const
const client = mode === "none"
  ? NodeHttpBackoff.layer(policy)
  : NodeHttpBackoff.layer({ ...policy, budget: true }).pipe(
    Layer.provide(
      mode === "local"
        ? RetryBudget.layer(budgetOptions)
        : RedisRetryBudget.layer({ redis: redisUrl!, key: key!, ...budgetOptions })
    )
  )

const program = Effect.gen(function*() {
  const http = yield* HttpClient.HttpClient
  process.stdout.write("ready\n")
  const epoch = yield* Effect.async<number>((resume) => {
    process.stdin.once("data", (d) => resume(Effect.succeed(Number(d.toString().trim()))))
  })
  const stopAt = epoch + Number(durationText)
  const made: Array<number> = new Array(Math.ceil((stopAt - epoch) / BIN)).fill(0)
  const fibers: Array<Fiber.RuntimeFiber<void>> = []
  const interval = 1000 / rate
  let next = epoch + Number(offsetText) * interval
  while (next < stopAt) {
    const wait = next - Date.now()
    if (wait > 0) yield* Effect.sleep(wait)
    else if (wait < -interval) {
      // fell behind (a pause): skip the missed slots rather than send them in a burst
      next += Math.floor(-wait / interval) * interval
      continue
    }
    const bin = Math.floor((Date.now() - epoch) / BIN)
    if (bin >= 0 && bin < made.length) made[bin]!++
    fibers.push(yield* Effect.fork(http.get(url!).pipe(Effect.flatMap((r) => r.text), Effect.ignore)))
    next += interval
  }
  yield* Fiber.joinAll(fibers).pipe(Effect.timeout("10 seconds"), Effect.ignore)
  const fallbacks = (yield* Metric.value(RedisRetryBudget.metrics.fallbacks)).count
  const localDecisions = (yield* Metric.value(RedisRetryBudget.metrics.fallbackWithdrawals)).count
  process.stdout.write(`${JSON.stringify({ made, fallbacks, localDecisions })}\n`)
})

Effect.runPromise(program.pipe(Effect.provide(client))).then(() => process.exit(0), (e) => {
  console.error(e)
  process.exit(1)
})
