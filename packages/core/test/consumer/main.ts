/**
 * The consumer program of consumer.test.ts: copied into a fresh project outside the
 * workspace, where the packages come from their packed tarballs. It is typechecked there
 * with tsc and run with node; the test asserts the lines it prints. (The workspace
 * typecheck compiles it too, against the sources.)
 */
import { Backoff, InvalidOptionError, Jitter, Timeline, Wait } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import * as WaitModule from "@effect-backoff/core/Wait"
import { NodeHttpBackoff } from "@effect-backoff/platform-node"
import { FetchHttpClient, HttpClient } from "@effect/platform"
import { Data, Duration, Effect, Exit, Option } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

class Flaky extends Data.TaggedError("Flaky")<{ readonly attempt: number }> {}

// 1. onException on a function, with short real waits
let calls = 0
const fetchThing = (id: string) =>
  Effect.suspend(() => ++calls < 3 ? Effect.fail(new Flaky({ attempt: calls })) : Effect.succeed(`thing ${id}`))

const sleeps: Array<number> = []
const fetchWithRetry = Backoff.onException(fetchThing, {
  wait: Wait.constant({ interval: "5 millis" }),
  jitter: null,
  maxTries: 5,
  exception: Flaky,
  logger: false,
  onBackoff: (details) => {
    sleeps.push(Duration.toMillis(details.wait))
  }
})
// the retried function keeps its parameters, its value and its error type
const typed: (id: string) => Effect.Effect<string, Flaky> = fetchWithRetry

// 2. giving up, with raiseOnGiveup: false
const givesUp: Effect.Effect<Option.Option<string>, Flaky> = Effect.fail(new Flaky({ attempt: 0 })).pipe(
  Effect.as("never"),
  Backoff.onException({ wait: Wait.expo({ factor: "2 millis" }), maxTries: 3, raiseOnGiveup: false, logger: false })
)

// 3. HttpBackoff against a real local server: 503, then 429 with Retry-After: 0, then 200
// (for the fetch client with retryTransient); 503, then 200 (for NodeHttpBackoff.layer)
const statuses = [503, 429, 200, 503, 200]
const server = createServer((_request, response) => {
  const status = statuses.shift() ?? 200
  response.writeHead(status, status === 429 ? { "retry-after": "0" } : {})
  response.end(status === 200 ? "done" : "busy")
})

const httpEvents: Array<string> = []
const onBackoff: Backoff.Handler<HttpBackoff.BackoffDetails> = (details) => {
  httpEvents.push(`${details.request.method} ${details.status ?? "error"}`)
}
const httpOptions: HttpBackoff.Options = {
  wait: Wait.constant({ interval: "3 millis" }),
  jitter: Jitter.none,
  maxTries: 5,
  logger: false,
  onBackoff
}
const withRetries = (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  client.pipe(HttpBackoff.retryTransient(httpOptions))

const getStatus = (url: string) =>
  Effect.gen(function*() {
    const client = withRetries(yield* HttpClient.HttpClient)
    const response = yield* client.get(url)
    return `${response.status} ${yield* response.text}`
  }).pipe(Effect.provide(FetchHttpClient.layer))

// 4. the Node layer of @effect-backoff/platform-node
const nodeStatuses: Array<number> = []
const getStatusWithNodeLayer = (url: string) =>
  Effect.gen(function*() {
    const response = yield* (yield* HttpClient.HttpClient).get(url)
    return `${response.status} ${yield* response.text}`
  }).pipe(
    Effect.provide(NodeHttpBackoff.layer({
      wait: Wait.constant({ interval: "3 millis" }),
      jitter: null,
      maxTries: 3,
      logger: false,
      onBackoff: (details) => {
        nodeStatuses.push(details.status ?? 0)
      }
    }))
  )

const main = Effect.gen(function*() {
  const thing = yield* typed("42")
  console.log(`onException: ${thing} after ${calls} calls, slept ${sleeps.join(",")} ms`)

  const none = yield* givesUp
  console.log(`raiseOnGiveup false: ${Option.isNone(none) ? "None" : "Some"}`)

  const timeline = yield* Timeline.run({ wait: Wait.expo(), jitter: null, maxTries: 3, logger: false }, [
    Timeline.fail("down")
  ])
  console.log(`timeline: ${timeline.events.map((e) => e._tag).join(" ")} in ${Duration.toSeconds(timeline.total)} s`)

  const delays = yield* WaitModule.delays(WaitModule.fibo(), 5)
  console.log(`subpath Wait.fibo: ${delays.map(Duration.toSeconds).join(" ")}`)

  const invalid = Exit.isFailure(yield* Effect.exit(Effect.try(() => Backoff.onException({ maxTries: 0 }))))
  console.log(`InvalidOptionError: ${invalid && typeof InvalidOptionError === "function"}`)

  yield* Effect.async<void>((resume) => {
    server.listen(0, "127.0.0.1", () => resume(Effect.void))
  })
  const { port } = server.address() as AddressInfo
  const [status, nodeStatus] = yield* Effect.all([
    getStatus(`http://127.0.0.1:${port}/job`),
    getStatusWithNodeLayer(`http://127.0.0.1:${port}/job`)
  ]).pipe(Effect.ensuring(Effect.sync(() => server.close())))
  console.log(`HttpBackoff: ${status} after ${httpEvents.join(", ")}`)
  console.log(`NodeHttpBackoff.layer: ${nodeStatus} after ${nodeStatuses.join(", ")}`)
  const internals = yield* Effect.promise(() =>
    import("@effect-backoff/core/internal/backoff" as string).then(() => "importable", (e: { code?: string }) => e.code)
  )
  console.log(`internals: ${internals}`)
})

Effect.runPromise(main).then(
  () => console.log("consumer: ok"),
  (error) => {
    console.error(error)
    process.exitCode = 1
  }
)
