import { InvalidOptionError, Jitter, Wait } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import { FetchHttpClient, HttpClient, HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Logger, Option, Random, Stream, TestClock } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

/** A scripted server reply for the fake client: a status (with headers), or a transport error. */
type Reply =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }
  | { readonly transport: true }
  | { readonly hang: true }

/**
 * A fake HttpClient answering from a script (the last reply repeats); it records each
 * request and the Clock time it was sent at, so timing is asserted on virtual time.
 */
const scripted = (replies: ReadonlyArray<Reply>) => {
  const sent: Array<{ readonly method: string; readonly url: string; readonly at: number }> = []
  const client = HttpClient.make((request, url) =>
    Effect.flatMap(Effect.clockWith((clock) => clock.currentTimeMillis), (at) => {
      const reply = replies[Math.min(sent.length, replies.length - 1)]!
      sent.push({ method: request.method, url: url.toString(), at })
      if ("transport" in reply) {
        return Effect.fail(
          new HttpClientError.RequestError({ request, reason: "Transport", description: "socket hang up" })
        )
      }
      if ("hang" in reply) return Effect.never
      return Effect.succeed(HttpClientResponse.fromWeb(
        request,
        new Response(reply.body ?? null, { status: reply.status, headers: reply.headers ?? {} })
      ))
    })
  )
  return { client, sent }
}

/** A real node:http server on 127.0.0.1, an ephemeral port, closed when the test's scope ends. */
const server = (handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly requests: () => number; readonly server: http.Server }>((resume) => {
      let n = 0
      const s = http.createServer((req, res) => {
        n++
        handler(req, res, n)
      })
      s.listen(0, "127.0.0.1", () => {
        const { port } = s.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, requests: () => n, server: s }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

const reply = (res: http.ServerResponse, status: number, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "text/plain", ...headers })
  res.end(`status ${status}`)
}

/** The real client for the loopback tests: Node's fetch through @effect/platform. */
const fetchClient = Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer)

/** Short, exact waits for real I/O. */
const quick = { wait: Wait.constant({ interval: "5 millis" }), jitter: null, logger: false } as const

const seconds = (d: Duration.Duration) => Duration.toSeconds(d)

// ---------------------------------------------------------------------------
// against a real server on 127.0.0.1
// ---------------------------------------------------------------------------

describe("retryTransient against a loopback server", () => {
  it.scopedLive("503, 503, 200: three requests, two backoffs, a success with its status", () =>
    Effect.gen(function*() {
      const srv = yield* server((_req, res, n) => reply(res, n <= 2 ? 503 : 200))
      const backoffs: Array<HttpBackoff.BackoffDetails> = []
      const successes: Array<HttpBackoff.SuccessDetails> = []
      const client = (yield* fetchClient).pipe(HttpBackoff.retryTransient({
        ...quick,
        maxTries: 5,
        onBackoff: (d) => void backoffs.push(d),
        onSuccess: (d) => void successes.push(d)
      }))
      const response = yield* client.get(`${srv.url}/thing?x=1`)
      expect(response.status).toBe(200)
      expect(yield* response.text).toBe("status 200")
      expect(srv.requests()).toBe(3)
      expect(backoffs.map((d) => [d.tries, d.status, d.value?.status])).toEqual([[1, 503, 503], [2, 503, 503]])
      expect(backoffs[0]!.request).toEqual({ method: "GET", url: `${srv.url}/thing?x=1` })
      expect(successes).toHaveLength(1)
      expect(successes[0]!.status).toBe(200)
      expect(successes[0]!.tries).toBe(3)
      expect(successes[0]!.target).toBe(`GET ${srv.url}/thing?x=1`)
      expect(successes[0]!.args[0].method).toBe("GET")
    }))

  it.scopedLive("a reset connection is retried as a transport error", () =>
    Effect.gen(function*() {
      const srv = yield* server((req, res, n) => {
        if (n === 1) req.socket.destroy()
        else reply(res, 200)
      })
      const errors: Array<unknown> = []
      const client = (yield* fetchClient).pipe(HttpBackoff.retryTransient({
        ...quick,
        maxTries: 3,
        onBackoff: (d) => void errors.push(d.exception)
      }))
      const response = yield* client.get(srv.url)
      expect(response.status).toBe(200)
      expect(srv.requests()).toBe(2)
      expect(errors).toHaveLength(1)
      expect(errors[0]).toBeInstanceOf(HttpClientError.RequestError)
      expect((errors[0] as HttpClientError.RequestError).reason).toBe("Transport")
    }))

  it.scopedLive("giving up on transport errors fails with the last error", () =>
    Effect.gen(function*() {
      const srv = yield* server((req) => req.socket.destroy())
      const giveups: Array<HttpBackoff.GiveupDetails> = []
      const client = (yield* fetchClient).pipe(HttpBackoff.retryTransient({
        ...quick,
        maxTries: 3,
        onGiveup: (d) => void giveups.push(d)
      }))
      const exit = yield* Effect.exit(client.get(srv.url))
      expect(srv.requests()).toBe(3)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.getOrThrow(error)).toBeInstanceOf(HttpClientError.RequestError)
      expect(giveups).toHaveLength(1)
      expect(giveups[0]!.tries).toBe(3)
      expect("status" in giveups[0]!).toBe(false)
    }))

  it.scopedLive("giving up on a status returns the last response and runs onGiveup", () =>
    Effect.gen(function*() {
      const srv = yield* server((_req, res) => reply(res, 502))
      const giveups: Array<number | undefined> = []
      const client = (yield* fetchClient).pipe(HttpBackoff.retryTransient({
        ...quick,
        maxTries: 4,
        onGiveup: (d) => void giveups.push(d.status)
      }))
      const response = yield* client.get(srv.url)
      expect(response.status).toBe(502)
      expect(yield* response.text).toBe("status 502")
      expect(srv.requests()).toBe(4)
      expect(giveups).toEqual([502])
    }))

  for (const status of [400, 404]) {
    it.scopedLive(`${status} is returned at once as a success`, () =>
      Effect.gen(function*() {
        const srv = yield* server((_req, res) => reply(res, status))
        const events: Array<string> = []
        const client = (yield* fetchClient).pipe(HttpBackoff.retryTransient({
          ...quick,
          maxTries: 5,
          onSuccess: (d) => void events.push(`success ${d.status}`),
          onBackoff: () => void events.push("backoff")
        }))
        const response = yield* client.get(srv.url)
        expect(response.status).toBe(status)
        expect(srv.requests()).toBe(1)
        expect(events).toEqual([`success ${status}`])
      }))
  }

  it.scopedLive("POST is not retried", () =>
    Effect.gen(function*() {
      const srv = yield* server((_req, res) => reply(res, 503))
      const events: Array<string> = []
      const client = (yield* fetchClient).pipe(HttpBackoff.retryTransient({
        ...quick,
        maxTries: 5,
        onBackoff: () => void events.push("backoff"),
        onGiveup: () => void events.push("giveup")
      }))
      const response = yield* client.post(srv.url, { body: undefined })
      expect(response.status).toBe(503)
      expect(srv.requests()).toBe(1)
      expect(events).toEqual([])
    }))

  it.scopedLive("POST with an Idempotency-Key is retried, with its body each time", () =>
    Effect.gen(function*() {
      const bodies: Array<string> = []
      const srv = yield* server((req, res, n) => {
        let body = ""
        req.on("data", (chunk) => body += chunk)
        req.on("end", () => {
          bodies.push(`${req.headers["idempotency-key"]}:${body}`)
          reply(res, n === 1 ? 503 : 201)
        })
      })
      const client = (yield* fetchClient).pipe(HttpBackoff.retryTransient({ ...quick, maxTries: 5 }))
      const request = HttpClientRequest.post(`${srv.url}/orders`).pipe(
        HttpClientRequest.setHeader("Idempotency-Key", "order-42"),
        HttpClientRequest.bodyText("one order")
      )
      const response = yield* client.execute(request)
      expect(response.status).toBe(201)
      expect(srv.requests()).toBe(2)
      expect(bodies).toEqual(["order-42:one order", "order-42:one order"])
    }))

  it.scopedLive("retryNonIdempotent: true retries a plain POST", () =>
    Effect.gen(function*() {
      const srv = yield* server((_req, res, n) => reply(res, n === 1 ? 429 : 200))
      const client = (yield* fetchClient).pipe(HttpBackoff.retryTransient({ ...quick, retryNonIdempotent: true }))
      const response = yield* client.post(srv.url)
      expect(response.status).toBe(200)
      expect(srv.requests()).toBe(2)
    }))

  it.scopedLive("Retry-After from a real server raises a millisecond policy wait", () =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const srv = yield* server((_req, res, n) => {
        times.push(performance.now())
        reply(res, n === 1 ? 503 : 200, n === 1 ? { "Retry-After": "1" } : {})
      })
      const waits: Array<number> = []
      const client = (yield* fetchClient).pipe(HttpBackoff.retryTransient({
        ...quick,
        maxRetryAfter: "200 millis",
        onBackoff: (d) => void waits.push(Duration.toMillis(d.wait))
      }))
      const response = yield* client.get(srv.url)
      expect(response.status).toBe(200)
      expect(waits).toEqual([200])
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(190)
    }))
})

// ---------------------------------------------------------------------------
// timing on virtual time, with a scripted client
// ---------------------------------------------------------------------------

/** Forks `effect`, then moves the TestClock in steps, returning the result. */
const runFor = <A, E>(effect: Effect.Effect<A, E>, total: Duration.DurationInput) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.exit(effect))
    yield* TestClock.adjust(total)
    return yield* Fiber.join(fiber)
  })

describe("retryTransient on virtual time", () => {
  it.effect("429 with Retry-After: 3 sleeps exactly 3 seconds, even over a shorter policy wait", () =>
    Effect.gen(function*() {
      const { client, sent } = scripted([{ status: 429, headers: { "Retry-After": "3" } }, { status: 200 }])
      const waits: Array<number> = []
      const retried = HttpBackoff.retryTransient(client, {
        wait: Wait.expo(), // 1 s before jitter
        logger: false,
        onBackoff: (d) => void waits.push(seconds(d.wait))
      })
      const fiber = yield* Effect.fork(retried.get("http://api.test/x"))
      yield* TestClock.adjust("2999 millis")
      expect(sent).toHaveLength(1)
      yield* TestClock.adjust("1 millis")
      const response = yield* Fiber.join(fiber)
      expect(response.status).toBe(200)
      expect(sent.map((s) => s.at)).toEqual([0, 3000])
      expect(waits).toEqual([3])
    }))

  it.effect("the Retry-After floor applies after jitter", () =>
    Effect.gen(function*() {
      const { client, sent } = scripted([{ status: 503, headers: { "Retry-After": "2" } }, { status: 200 }])
      const retried = client.pipe(HttpBackoff.retryTransient({
        wait: Wait.constant({ interval: "10 seconds" }),
        jitter: () => Effect.succeed(Duration.zero), // a jitter that would wait nothing
        logger: false
      }))
      const exit = yield* runFor(retried.get("http://api.test/"), "1 minute")
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(sent.map((s) => s.at)).toEqual([0, 2000])
    }))

  it.effect("a policy wait longer than Retry-After wins", () =>
    Effect.gen(function*() {
      const { client, sent } = scripted([{ status: 503, headers: { "Retry-After": "1" } }, { status: 200 }])
      const retried = client.pipe(
        HttpBackoff.retryTransient({ wait: Wait.constant({ interval: "5 seconds" }), jitter: null, logger: false })
      )
      yield* runFor(retried.get("http://api.test/"), "1 minute")
      expect(sent.map((s) => s.at)).toEqual([0, 5000])
    }))

  it.effect("an HTTP-date Retry-After is measured against the Effect Clock", () =>
    Effect.gen(function*() {
      const start = Date.UTC(2025, 0, 15, 12, 0, 0)
      yield* TestClock.setTime(start)
      const { client, sent } = scripted([
        { status: 503, headers: { "Retry-After": "Wed, 15 Jan 2025 12:00:07 GMT" } },
        { status: 200 }
      ])
      const retried = client.pipe(
        HttpBackoff.retryTransient({ wait: Wait.constant({ interval: "1 second" }), jitter: null, logger: false })
      )
      yield* runFor(retried.get("http://api.test/"), "1 minute")
      expect(sent.map((s) => s.at - start)).toEqual([0, 7000])
    }))

  it.effect("an unparseable Retry-After falls back to the policy wait", () =>
    Effect.gen(function*() {
      const { client, sent } = scripted([{ status: 503, headers: { "Retry-After": "soon" } }, { status: 200 }])
      const retried = client.pipe(
        HttpBackoff.retryTransient({ wait: Wait.constant({ interval: "2 seconds" }), jitter: null, logger: false })
      )
      yield* runFor(retried.get("http://api.test/"), "1 minute")
      expect(sent.map((s) => s.at)).toEqual([0, 2000])
    }))

  it.effect("maxRetryAfter caps the header; the default cap is 60 seconds", () =>
    Effect.gen(function*() {
      const script = [{ status: 429, headers: { "Retry-After": "3600" } }, { status: 200 }]
      const capped = scripted(script)
      yield* runFor(
        capped.client.pipe(HttpBackoff.retryTransient({ maxRetryAfter: "5 seconds", jitter: null, logger: false })).get(
          "http://api.test/"
        ),
        "2 hours"
      )
      expect(capped.sent.map((s) => s.at)).toEqual([0, 5000])

      const byDefault = scripted(script)
      const start = yield* TestClock.currentTimeMillis
      yield* runFor(
        byDefault.client.pipe(HttpBackoff.retryTransient({ jitter: null, logger: false })).get("http://api.test/"),
        "2 hours"
      )
      expect(byDefault.sent.map((s) => s.at - start)).toEqual([0, 60_000])
    }))

  it.effect("the maxTime budget cuts a long Retry-After and then gives up with the last response", () =>
    Effect.gen(function*() {
      const { client, sent } = scripted([{ status: 503, headers: { "Retry-After": "30" } }])
      const waits: Array<number> = []
      const giveups: Array<[number, number]> = []
      const retried = client.pipe(HttpBackoff.retryTransient({
        maxTime: "4 seconds",
        jitter: null,
        logger: false,
        onBackoff: (d) => void waits.push(seconds(d.wait)),
        onGiveup: (d) => void giveups.push([d.tries, seconds(d.elapsed)])
      }))
      const exit = yield* runFor(retried.get("http://api.test/"), "1 minute")
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(503)
      expect(waits).toEqual([4])
      expect(sent.map((s) => s.at)).toEqual([0, 4000])
      expect(giveups).toEqual([[2, 4]])
    }))

  it.effect("a timeout inside the client is retried", () =>
    Effect.gen(function*() {
      const { client, sent } = scripted([{ hang: true }, { status: 200 }])
      const retried = client.pipe(
        HttpClient.transformResponse(Effect.timeout("2 seconds")),
        HttpBackoff.retryTransient({ wait: Wait.constant({ interval: "1 second" }), jitter: null, logger: false })
      )
      const exit = yield* runFor(retried.get("http://api.test/"), "1 minute")
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
      expect(sent.map((s) => s.at)).toEqual([0, 3000])
    }))

  it.effect("a ResponseError carrying a retryable status is retried, and its Retry-After honoured", () =>
    Effect.gen(function*() {
      const { client, sent } = scripted([{ status: 503, headers: { "Retry-After": "4" } }, { status: 503 }])
      const retried = client.pipe(
        HttpClient.filterStatusOk,
        HttpBackoff.retryTransient({
          wait: Wait.constant({ interval: "1 second" }),
          jitter: null,
          maxTries: 3,
          logger: false
        })
      )
      const exit = yield* runFor(retried.get("http://api.test/"), "1 minute")
      expect(sent.map((s) => s.at)).toEqual([0, 4000, 5000])
      const error = Exit.isFailure(exit) ? Option.getOrThrow(Cause.failureOption(exit.cause)) : undefined
      expect(error).toBeInstanceOf(HttpClientError.ResponseError)
    }))

  it.effect("other errors pass through at once with no handler called", () =>
    Effect.gen(function*() {
      let calls = 0
      const events: Array<string> = []
      const client = HttpClient.make((request) => {
        calls++
        return Effect.fail(new HttpClientError.RequestError({ request, reason: "Encode" }))
      }).pipe(HttpBackoff.retryTransient({ logger: false, onGiveup: () => void events.push("giveup") }))
      const exit = yield* runFor(client.get("http://api.test/"), "1 minute")
      expect(Exit.isFailure(exit)).toBe(true)
      expect(calls).toBe(1)
      expect(events).toEqual([])
    }))

  it.effect("giveup receives the response and stops at once", () =>
    Effect.gen(function*() {
      const { client, sent } = scripted([{ status: 503, headers: { "x-final": "yes" } }, { status: 200 }])
      const seen: Array<number> = []
      const retried = client.pipe(HttpBackoff.retryTransient({
        logger: false,
        giveup: (outcome) => "status" in outcome && outcome.headers["x-final"] === "yes",
        onGiveup: (d) => void seen.push(d.status!)
      }))
      const exit = yield* runFor(retried.get("http://api.test/"), "1 minute")
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(503)
      expect(sent).toHaveLength(1)
      expect(seen).toEqual([503])
    }))

  it.effect("retryOn widens what is retried", () =>
    Effect.gen(function*() {
      const { client, sent } = scripted([{ status: 404 }, { status: 404 }, { status: 200 }])
      const retried = client.pipe(HttpBackoff.retryTransient({
        jitter: null,
        logger: false,
        retryOn: (r) => HttpBackoff.isTransientStatus(r.status) || r.status === 404
      }))
      const exit = yield* runFor(retried.get("http://api.test/"), "1 minute")
      expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
      expect(sent.map((s) => s.at)).toEqual([0, 1000, 3000])
    }))

  it.effect("the default log lines show the request and the status", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make(({ message }) => lines.push(String(Array.isArray(message) ? message[0] : message)))
      const { client } = scripted([{ status: 429, headers: { "Retry-After": "3" } }, { status: 503 }])
      const retried = client.pipe(HttpBackoff.retryTransient({ maxTries: 2, jitter: null }))
      yield* runFor(
        retried.get("http://api.test/a").pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger))),
        "1 minute"
      )
      expect(lines).toEqual([
        "Backing off GET http://api.test/a(...) for 3.0s (HTTP 429 Too Many Requests, Retry-After: 3)",
        "Giving up GET http://api.test/a(...) after 2 tries (HTTP 503 Service Unavailable)"
      ])
    }))

  it.effect("a retried response's body is discarded at once, before the sleep, never read; the returned one is untouched", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      let n = 0
      const client = HttpClient.make((request) =>
        Effect.sync(() => {
          const i = ++n
          events.push(`send ${i}`)
          // highWaterMark 0 and a pull that never delivers: reading this body would hang
          const body = new ReadableStream<Uint8Array>({
            pull: () => new Promise<void>(() => {}),
            cancel: () => {
              events.push(`discard ${i}`)
            }
          }, { highWaterMark: 0 })
          return HttpClientResponse.fromWeb(request, new Response(body, { status: 503 }))
        })
      ).pipe(
        HttpBackoff.retryTransient({
          maxTries: 3,
          wait: Wait.constant({ interval: "1 second" }),
          jitter: null,
          logger: false
        })
      )
      const fiber = yield* Effect.fork(client.get("http://api.test/"))
      yield* TestClock.adjust("500 millis")
      // mid-sleep: the first response is already gone
      expect(events).toEqual(["send 1", "discard 1"])
      yield* TestClock.adjust("1 minute")
      const response = yield* Fiber.join(fiber)
      expect(response.status).toBe(503)
      expect(events).toEqual(["send 1", "discard 1", "send 2", "discard 2", "send 3"])
    }))

  it.effect("a request with a stream body gets one attempt, even with retryNonIdempotent; a bytes body is retried", () =>
    Effect.gen(function*() {
      const options = { retryNonIdempotent: true, jitter: null, logger: false } as const
      const { client, sent } = scripted([{ status: 503 }, { status: 200 }])
      const retried = client.pipe(HttpBackoff.retryTransient(options))
      const streamed = HttpClientRequest.put("http://api.test/doc").pipe(
        HttpClientRequest.bodyStream(Stream.make(new TextEncoder().encode("hello world")))
      )
      const first = yield* runFor(retried.execute(streamed), "1 minute")
      expect(Exit.isSuccess(first) && first.value.status).toBe(503)
      expect(sent).toHaveLength(1)
      const bytes = HttpClientRequest.put("http://api.test/doc").pipe(
        HttpClientRequest.bodyUint8Array(new TextEncoder().encode("hello world"))
      )
      const again = scripted([{ status: 503 }, { status: 200 }])
      const second = yield* runFor(again.client.pipe(HttpBackoff.retryTransient(options)).execute(bytes), "1 minute")
      expect(Exit.isSuccess(second) && second.value.status).toBe(200)
      expect(again.sent).toHaveLength(2)
    }))

  it.effect("interrupting during a Retry-After sleep sends nothing more", () =>
    Effect.gen(function*() {
      const { client, sent } = scripted([{ status: 503, headers: { "Retry-After": "10" } }, { status: 200 }])
      const fiber = yield* Effect.fork(
        client.pipe(HttpBackoff.retryTransient({ logger: false })).get("http://api.test/")
      )
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("1 minute")
      expect(sent).toHaveLength(1)
    }))

  it.effect("jitter stays seeded: with Retry-After absent the policy's jittered wait is used", () =>
    Effect.gen(function*() {
      const { client, sent } = scripted([{ status: 503 }, { status: 200 }])
      const retried = client.pipe(
        HttpBackoff.retryTransient({
          wait: Wait.constant({ interval: "10 seconds" }),
          jitter: Jitter.full,
          logger: false
        })
      )
      yield* runFor(retried.get("http://api.test/").pipe(Effect.withRandom(Random.make(7))), "1 minute")
      const expected = yield* Jitter.full(Duration.seconds(10)).pipe(Effect.withRandom(Random.make(7)))
      expect(sent[1]!.at).toBe(Duration.toMillis(expected))
    }))
})

// ---------------------------------------------------------------------------
// options and forms
// ---------------------------------------------------------------------------

describe("retryTransient options", () => {
  const invalidOption = (f: () => unknown): InvalidOptionError => {
    try {
      f()
    } catch (e) {
      if (e instanceof InvalidOptionError) return e
      throw e
    }
    throw new Error("no error was thrown")
  }

  it("bad options throw InvalidOptionError naming the option and value, at construction", () => {
    expect(invalidOption(() => HttpBackoff.retryTransient({ maxRetryAfter: -1 })).message).toBe(
      "maxRetryAfter must be a non-negative duration (\"2 seconds\", a number of milliseconds, a Duration), got -1"
    )
    expect(invalidOption(() => HttpBackoff.retryTransient({ retryNonIdempotent: "yes" as any })).option).toBe(
      "retryNonIdempotent"
    )
    expect(invalidOption(() => HttpBackoff.retryTransient({ maxTries: 0 })).message).toBe(
      "maxTries must be an integer >= 1, got 0"
    )
    expect(invalidOption(() => HttpBackoff.retryTransient({ retryOn: 503 as any })).option).toBe("retryOn")
    expect(invalidOption(() => HttpBackoff.retryTransient({ exception: "RequestError" } as any)).option).toBe(
      "exception"
    )
    expect(invalidOption(() => HttpBackoff.retryTransient({ giveup: true as any })).option).toBe("giveup")
    expect(invalidOption(() => HttpBackoff.waitRetryAfter(Wait.expo(), { maxRetryAfter: "-5 seconds" })).option).toBe(
      "maxRetryAfter"
    )
  })

  it.effect("data-first and data-last forms behave the same", () =>
    Effect.gen(function*() {
      const a = scripted([{ status: 503 }, { status: 200 }])
      const b = scripted([{ status: 503 }, { status: 200 }])
      const options = { wait: Wait.constant({ interval: "1 second" }), jitter: null, logger: false } as const
      yield* runFor(HttpBackoff.retryTransient(a.client, options).get("http://api.test/"), "1 minute")
      const start = yield* TestClock.currentTimeMillis
      yield* runFor(b.client.pipe(HttpBackoff.retryTransient(options)).get("http://api.test/"), "1 minute")
      expect(a.sent.map((s) => s.at)).toEqual([0, 1000])
      expect(b.sent.map((s) => s.at - start)).toEqual([0, 1000])
    }))

  it("isIdempotent and isTransientStatus", () => {
    for (const method of ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"] as const) {
      expect(HttpBackoff.isIdempotent(HttpClientRequest.make(method)("/"))).toBe(true)
    }
    expect(HttpBackoff.isIdempotent(HttpClientRequest.post("/"))).toBe(false)
    expect(HttpBackoff.isIdempotent(HttpClientRequest.patch("/"))).toBe(false)
    expect(
      HttpBackoff.isIdempotent(HttpClientRequest.post("/").pipe(HttpClientRequest.setHeader("Idempotency-Key", "k")))
    ).toBe(true)
    expect([408, 425, 429, 500, 502, 503, 504].every(HttpBackoff.isTransientStatus)).toBe(true)
    expect([200, 301, 400, 401, 404, 409, 501, 505].some(HttpBackoff.isTransientStatus)).toBe(false)
  })
})

// ---------------------------------------------------------------------------
// Retry-After parsing
// ---------------------------------------------------------------------------

describe("retryAfter", () => {
  const at = (value: string | undefined, now = Date.UTC(2015, 9, 21, 7, 28, 0)) => {
    const response = HttpClientResponse.fromWeb(
      HttpClientRequest.get("/"),
      new Response(null, { status: 503, headers: value === undefined ? {} : { "Retry-After": value } })
    )
    return Option.map(HttpBackoff.retryAfter(response, now), Duration.toMillis)
  }

  const table: ReadonlyArray<readonly [string | undefined, Option.Option<number>]> = [
    ["3", Option.some(3000)],
    ["0", Option.some(0)],
    ["120", Option.some(120_000)],
    [" 42 ", Option.some(42_000)],
    ["1.5", Option.some(1500)],
    ["Wed, 21 Oct 2015 07:28:30 GMT", Option.some(30_000)], // IMF-fixdate
    ["wed, 21 oct 2015 07:29:00 gmt", Option.some(60_000)], // case-insensitive
    ["Wednesday, 21-Oct-15 07:28:05 GMT", Option.some(5000)], // RFC 850
    ["Wed Oct 21 07:28:10 2015", Option.some(10_000)], // asctime
    ["Wed Oct  1 07:28:10 2015", Option.some(0)], // asctime, padded day, in the past
    ["Tue, 20 Oct 2015 07:28:00 GMT", Option.some(0)], // in the past: go now
    [undefined, Option.none()],
    ["", Option.none()],
    ["-1", Option.none()],
    ["soon", Option.none()],
    ["3 seconds", Option.none()],
    ["1e3", Option.none()],
    ["Wed, 31 Feb 2015 07:28:30 GMT", Option.none()], // no such day
    ["Wed, 21 Oct 2015 25:28:30 GMT", Option.none()], // no such hour
    ["Wed, 21 Oct 2015 07:28:30 PST", Option.none()], // HTTP dates are GMT
    ["2015-10-21T07:28:30Z", Option.none()] // ISO 8601 is not an HTTP date
  ]
  for (const [value, expected] of table) {
    it(`${JSON.stringify(value)} → ${Option.getOrElse(Option.map(expected, String), () => "none")}`, () => {
      expect(at(value)).toEqual(expected)
    })
  }

  it("an RFC 850 two-digit year more than 50 years ahead is in the past century", () => {
    const now = Date.UTC(2030, 0, 1)
    // "99" read as 2099 would be 69 years ahead, so it is 1999: in the past, zero
    expect(at("Friday, 31-Dec-99 23:59:59 GMT", now)).toEqual(Option.some(0))
    // "35" is 2035: five years ahead
    expect(Option.map(at("Monday, 01-Jan-35 00:00:00 GMT", now), (ms) => Math.round(ms / 86_400_000))).toEqual(
      Option.some(1826)
    )
  })

  it("without now, a date is measured against the system time", () => {
    const inAnHour = new Date(performance.timeOrigin + performance.now() + 3_600_000).toUTCString()
    const response = HttpClientResponse.fromWeb(
      HttpClientRequest.get("/"),
      new Response(null, { status: 503, headers: { "Retry-After": inAnHour } })
    )
    const millis = Duration.toMillis(Option.getOrThrow(HttpBackoff.retryAfter(response)))
    expect(millis).toBeGreaterThan(3_590_000)
    expect(millis).toBeLessThanOrEqual(3_600_000)
  })
})

describe("waitRetryAfter", () => {
  const response = (headers: Record<string, string>) =>
    HttpClientResponse.fromWeb(HttpClientRequest.get("/"), new Response(null, { status: 503, headers }))

  it.effect("max(fallback, Retry-After) for responses and errors carrying one; the fallback otherwise", () =>
    Effect.gen(function*() {
      const withHeader = response({ "Retry-After": "5" })
      const error = new HttpClientError.ResponseError({
        request: withHeader.request,
        response: response({ "Retry-After": "3" }),
        reason: "StatusCode"
      })
      const waits = yield* Wait.delays(
        HttpBackoff.waitRetryAfter(Wait.constant({ interval: "2 seconds" })),
        5,
        [withHeader, response({}), error, "not a response", response({ "Retry-After": "1" })]
      )
      expect(waits.map(seconds)).toEqual([5, 2, 3, 2, 2])
    }))

  it.effect("caps the header at maxRetryAfter and ends with the fallback", () =>
    Effect.gen(function*() {
      const long = response({ "Retry-After": "600" })
      const waits = yield* Wait.delays(
        HttpBackoff.waitRetryAfter(Wait.constant({ interval: ["1 second", "1 second"] }), {
          maxRetryAfter: "10 seconds"
        }),
        5,
        [long, long, long]
      )
      expect(waits.map(seconds)).toEqual([10, 10])
    }))

  it.effect("the default cap is 60 seconds", () =>
    Effect.gen(function*() {
      const waits = yield* Wait.delays(HttpBackoff.waitRetryAfter(Wait.expo()), 1, [
        response({ "Retry-After": "3600" })
      ])
      expect(waits.map(seconds)).toEqual([60])
    }))
})
