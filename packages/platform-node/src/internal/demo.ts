import { Wait } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import * as HttpClient from "@effect/platform/HttpClient"
import { Clock, Duration, Effect, Option } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as NodeHttpBackoff from "./nodeHttpBackoff.js"

type Answer =
  | { readonly status: number; readonly text: string; readonly headers?: Record<string, string> }
  | { readonly drop: true }

/** What the server does for request 1, 2, 3, ...; the last answer repeats. */
const script = (retryAfter: string): ReadonlyArray<Answer> => [
  { status: 503, text: "503 Service Unavailable" },
  { status: 503, text: "503 Service Unavailable" },
  { status: 429, text: `429 Too Many Requests, Retry-After: ${retryAfter}`, headers: { "Retry-After": retryAfter } },
  { drop: true },
  { status: 200, text: "200 OK" }
]

/** The time since the demo started, from Effect's Clock (the default, live one). */
const makeStopwatch = () => {
  const start = Effect.runSync(Clock.currentTimeMillis)
  return () => Effect.runSync(Clock.currentTimeMillis) - start
}

const seconds = (millis: number) => `${(millis / 1000).toFixed(3)}s`

const line = (at: number, who: "server" | "client", what: string) => `${seconds(at).padStart(8)}  ${who}  ${what}`

/** The flaky server, closed (with its open connections) when the scope ends. */
const flakyServer = (elapsed: () => number, answers: ReadonlyArray<Answer>, print: (line: string) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: http.Server; readonly url: string }>((resume) => {
      let requests = 0
      const server = http.createServer((req, res) => {
        requests++
        const answer = answers[Math.min(requests, answers.length) - 1]!
        if ("drop" in answer) {
          print(line(elapsed(), "server", `request ${requests} → connection dropped`))
          req.socket.destroy()
          return
        }
        print(line(elapsed(), "server", `request ${requests} → ${answer.text}`))
        res.writeHead(answer.status, { "content-type": "text/plain", ...answer.headers })
        res.end(answer.status === 200 ? "hello from the flaky server" : answer.text)
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ server, url: `http://127.0.0.1:${port}/` }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

interface Row {
  readonly tries: number
  readonly outcome: string
  readonly wait?: number
}

const outcomeOf = (
  d: {
    readonly status?: number
    readonly exception?: unknown
    readonly value?: { readonly headers: Readonly<Record<string, string>> }
  }
) => {
  if (d.status !== undefined) {
    const retryAfter = d.value?.headers["retry-after"]
    return `HTTP ${d.status}${retryAfter === undefined ? "" : ` (Retry-After: ${retryAfter})`}`
  }
  const e = d.exception as { readonly _tag?: string; readonly reason?: string } | undefined
  return e?._tag === "RequestError" ? `connection dropped (RequestError: ${e.reason})` : String(e)
}

/** @internal What the demo reports when it is done. */
export interface Summary {
  readonly attempts: number
  readonly waited: number
  readonly total: number
  readonly body: string
}

/**
 * @internal The demo: starts the flaky server, runs the client, prints every event and
 * a summary with `print`, and stops the server (when the scope closes). `retryAfter` is
 * the 429's header ("1" in `pnpm demo`).
 */
export const demo = (options: { readonly retryAfter: string; readonly print: (line: string) => void }) =>
  Effect.gen(function*() {
    const { print } = options
    const say = (text: string) => Effect.sync(() => print(text))
    const elapsed = makeStopwatch()
    const { url } = yield* flakyServer(elapsed, script(options.retryAfter), print)
    yield* say(`effect-backoff demo: a flaky server on ${url} and a client retrying through NodeHttpBackoff.layer`)
    yield* say("policy: Wait.expo({ factor: \"100 millis\", maxValue: \"1 second\" }), full jitter, maxTries 8\n")

    const rows: Array<Row> = []
    const layer = NodeHttpBackoff.layer({
      wait: Wait.expo({ factor: "100 millis", maxValue: "1 second" }),
      maxTries: 8,
      logger: false,
      onBackoff: (d) =>
        Effect.gen(function*() {
          const outcome = outcomeOf(d)
          const wait = Duration.toMillis(d.wait)
          rows.push({ tries: d.tries, outcome, wait })
          // the sleep is the server's Retry-After when that was longer than the jittered policy wait
          const asked = d.value === undefined
            ? Option.none()
            : HttpBackoff.retryAfter(d.value, yield* Clock.currentTimeMillis)
          const note = Option.exists(asked, (ra) => Duration.toMillis(ra) === wait) ? " (the server's Retry-After)" : ""
          yield* say(line(elapsed(), "client", `try ${d.tries}: ${outcome}; backing off ${seconds(wait)}${note}`))
        }),
      onSuccess: (d) => {
        rows.push({ tries: d.tries, outcome: `HTTP ${d.status}` })
        return say(line(elapsed(), "client", `try ${d.tries}: HTTP ${d.status}, done`))
      },
      onGiveup: (d) => {
        rows.push({ tries: d.tries, outcome: `${outcomeOf(d)}, gave up` })
        return say(line(elapsed(), "client", `try ${d.tries}: ${outcomeOf(d)}; giving up`))
      }
    })

    const body = yield* Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(url)
      return yield* response.text
    }).pipe(Effect.provide(layer))
    const total = elapsed()

    const waited = rows.reduce((sum, r) => sum + (r.wait ?? 0), 0)
    const width = Math.max(...rows.map((r) => r.outcome.length), "outcome".length)
    yield* say("\nsummary")
    yield* say(`  try  ${"outcome".padEnd(width)}  wait after`)
    for (const r of rows) {
      yield* say(
        `  ${String(r.tries).padStart(3)}  ${r.outcome.padEnd(width)}  ${r.wait === undefined ? "-" : seconds(r.wait)}`
      )
    }
    yield* say(`\n  attempts ${rows.length}, waited ${seconds(waited)}, total time ${seconds(total)}`)
    yield* say(`  body: ${JSON.stringify(body)}`)
    return { attempts: rows.length, waited, total, body } satisfies Summary
  }).pipe(Effect.scoped)
