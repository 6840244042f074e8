/**
 * HTTP retry with `Retry-After`: a local server answers 503, then 429 with
 * `Retry-After: 1`, then 200. The client retries through `HttpBackoff.retryTransient`
 * with a 5 ms policy wait; the 429's Retry-After raises the wait, capped here by
 * `maxRetryAfter: "200 millis"` so the example stays quick (the default cap is 60 s).
 * A POST without an `Idempotency-Key` is sent once.
 *
 * Run: npx tsx examples/http-retry-after.ts
 */
import { Wait } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import { FetchHttpClient, HttpClient } from "@effect/platform"
import { Console, Duration, Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

// The flaky server: one script for GET /report, and POST /orders that always says 503.
const answers = [
  { status: 503, headers: {} },
  { status: 429, headers: { "Retry-After": "1" } },
  { status: 200, headers: {} }
]
let gets = 0
let posts = 0
const server = http.createServer((req, res) => {
  if (req.method === "POST") {
    posts++
    res.writeHead(503).end()
    return
  }
  const answer = answers[Math.min(gets++, answers.length - 1)]!
  res.writeHead(answer.status, answer.headers).end(answer.status === 200 ? "the report" : "busy")
})

const listen = Effect.async<string>((resume) => {
  server.listen(
    0,
    "127.0.0.1",
    () => resume(Effect.succeed(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
  )
})
const close = Effect.async<void>((resume) => {
  server.closeAllConnections()
  server.close(() => resume(Effect.void))
})

const program = Effect.gen(function*() {
  const base = yield* listen
  const client = (yield* HttpClient.HttpClient).pipe(
    HttpBackoff.retryTransient({
      wait: Wait.constant({ interval: "5 millis" }),
      jitter: null,
      maxTries: 5,
      maxRetryAfter: "200 millis",
      logger: false,
      onBackoff: (d) => Console.log(`try ${d.tries}: HTTP ${d.status}, waiting ${Duration.format(d.wait)}`),
      onSuccess: (d) =>
        Console.log(`try ${d.tries}: HTTP ${d.status} for ${d.request.method} ${d.request.url.replace(base, "")}`)
    })
  )

  const report = yield* client.get(`${base}/report`)
  yield* Console.log(`report: ${yield* report.text} (${gets} requests)`)

  const order = yield* client.post(`${base}/orders`)
  yield* Console.log(`POST /orders: HTTP ${order.status} after ${posts} request, not retried`)
}).pipe(Effect.ensuring(close), Effect.provide(FetchHttpClient.layer))

Effect.runPromise(program)
