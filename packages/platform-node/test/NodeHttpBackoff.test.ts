import { InvalidOptionError, Wait } from "@effect-backoff/core"
import { NodeHttpBackoff } from "@effect-backoff/platform-node"
import { HttpClient, HttpClientError } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit } from "effect"
import { afterEach } from "vitest"
import { demo } from "../src/internal/demo.js"
import type { TestServer } from "./helpers.js"
import { reply, startServer } from "./helpers.js"

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const quick = { wait: Wait.constant({ interval: "2 millis" }), jitter: null, logger: false } as const

const get = (url: string) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.get(url)
    return { status: response.status, text: yield* response.text }
  })

describe("NodeHttpBackoff.layer", () => {
  it.live("retries 503, 503 and returns the 200 over the Node client", () =>
    Effect.gen(function*() {
      server = yield* Effect.promise(() => startServer((_req, res, n) => reply(res, n <= 2 ? 503 : 200, "ok")))
      const statuses: Array<number | undefined> = []
      const result = yield* get(server.url).pipe(
        Effect.provide(NodeHttpBackoff.layer({ ...quick, maxTries: 5, onBackoff: (d) => void statuses.push(d.status) }))
      )
      expect(result).toEqual({ status: 200, text: "ok" })
      expect(server.requests()).toBe(3)
      expect(statuses).toEqual([503, 503])
    }))

  it.live("retries a dropped connection; gives up with the last RequestError", () =>
    Effect.gen(function*() {
      server = yield* Effect.promise(() =>
        startServer((req, res, n) => n === 1 ? req.socket.destroy() : reply(res, 200, "back"))
      )
      const result = yield* get(server.url).pipe(Effect.provide(NodeHttpBackoff.layer({ ...quick, maxTries: 3 })))
      expect(result).toEqual({ status: 200, text: "back" })
      expect(server.requests()).toBe(2)

      yield* Effect.promise(() => server!.close())
      server = yield* Effect.promise(() => startServer((req) => req.socket.destroy()))
      const exit = yield* Effect.exit(
        get(server.url).pipe(Effect.provide(NodeHttpBackoff.layer({ ...quick, maxTries: 3 })))
      )
      expect(server.requests()).toBe(3)
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toBeInstanceOf(
        HttpClientError.RequestError
      )
    }))

  it.live("a POST is sent once; with an Idempotency-Key it is retried", () =>
    Effect.gen(function*() {
      server = yield* Effect.promise(() => startServer((_req, res, n) => reply(res, n === 1 || n === 2 ? 503 : 201)))
      const layer = NodeHttpBackoff.layer({ ...quick, maxTries: 5 })
      const plain = yield* Effect.flatMap(HttpClient.HttpClient, (c) => c.post(server!.url)).pipe(Effect.provide(layer))
      expect(plain.status).toBe(503)
      expect(server.requests()).toBe(1)
      const keyed = yield* Effect.flatMap(HttpClient.HttpClient, (c) =>
        c.post(server!.url, { headers: { "Idempotency-Key": "k1" } }))
        .pipe(Effect.provide(layer))
      expect(keyed.status).toBe(201)
      expect(server.requests()).toBe(3)
    }))

  it.live("handlers may use services from the layer's context", () =>
    Effect.gen(function*() {
      class Seen extends Context.Tag("Seen")<Seen, Array<string>>() {}
      server = yield* Effect.promise(() => startServer((_req, res, n) => reply(res, n === 1 ? 429 : 200)))
      const seen: Array<string> = []
      const layer = NodeHttpBackoff.layer({
        ...quick,
        onBackoff: (d) => Effect.map(Seen, (list) => void list.push(`${d.request.method} ${d.status}`))
      })
      yield* get(server.url).pipe(Effect.provide(layer), Effect.provideService(Seen, seen))
      expect(seen).toEqual(["GET 429"])
    }))

  it("validates its options when called", () => {
    expect(() => NodeHttpBackoff.layer({ maxTries: 0 })).toThrow(InvalidOptionError)
    expect(() => NodeHttpBackoff.layer({ maxRetryAfter: "-1 seconds" })).toThrow("maxRetryAfter")
  })
})

describe("the demo", () => {
  it.live("503, 503, 429, a dropped connection, then 200: five attempts, every event printed", () =>
    Effect.gen(function*() {
      const printed: Array<string> = []
      // Retry-After: 0 keeps the test on millisecond waits; `pnpm demo` uses 1
      const summary = yield* demo({ retryAfter: "0", print: (line) => printed.push(line) })
      expect(summary.attempts).toBe(5)
      expect(summary.body).toBe("hello from the flaky server")
      const events = printed.filter((l) => /^\s+\d+\.\d{3}s {2}(server|client)/.test(l)).map((l) =>
        l.trim().split(/\s+/).slice(1, 3).join(" ")
      )
      expect(events).toEqual([
        "server request",
        "client try",
        "server request",
        "client try",
        "server request",
        "client try",
        "server request",
        "client try",
        "server request",
        "client try"
      ])
      expect(printed.some((l) => l.includes("request 4 → connection dropped"))).toBe(true)
      expect(printed.some((l) => l.includes("try 5: HTTP 200, done"))).toBe(true)
      expect(printed.some((l) => l.trim().startsWith("attempts 5, waited"))).toBe(true)
    }))
})
