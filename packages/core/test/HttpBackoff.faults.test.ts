/**
 * `retryTransient` against a real node:http server on 127.0.0.1 that misbehaves, with both
 * real clients: `NodeHttpClient` (@effect/platform-node) and `FetchHttpClient`
 * (@effect/platform). Each server is started on an ephemeral port and closed with every
 * socket and timer when its test ends; every wait is a few hundred milliseconds at most.
 *
 * - a retried response whose body stalls or trickles never holds the loop: its body is
 *   discarded at once, and the request ends within `maxTime` plus one attempt's timeout;
 * - a request whose body is a one-shot stream is sent once;
 * - a retried response is released when the run is interrupted (an outer timeout, a fiber
 *   interrupt), the server sees its response aborted;
 * - 500 retried requests leave no socket open on the server.
 */
import { Wait } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import type { Layer } from "effect"
import { Effect, Exit, Fiber, Option, Stream } from "effect"
import * as http from "node:http"
import type { AddressInfo, Socket } from "node:net"

// ---------------------------------------------------------------------------
// the server
// ---------------------------------------------------------------------------

/** What the server saw of one request: when it came, and how its response ended. */
interface Seen {
  readonly n: number
  readonly method: string
  readonly at: number
  body: string
  /** the response was written to the end */
  finished: boolean
  /** when the response's connection closed (the client aborted it, or after the end) */
  closedAt: number | undefined
}

interface Server {
  readonly url: string
  readonly seen: Array<Seen>
  /**
   * Sockets open right now that carried a request. (The Fetch client's pool may also hold
   * a connection it never sent a request on: no response, no load, not counted.)
   */
  readonly open: () => number
  /** the most sockets open at once */
  readonly peak: () => number
  /** responses neither written to the end nor closed: held open by a client */
  readonly pending: () => number
  readonly closeIdle: () => void
  /** a timer the server needs (cleared when the server closes) */
  readonly later: (ms: number, f: () => void) => void
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen, server: Server) => void

const startServer = (handler: Handler) =>
  Effect.acquireRelease(
    Effect.async<{ readonly api: Server; readonly close: () => Promise<void> }>((resume) => {
      const t0 = performance.now()
      const seen: Array<Seen> = []
      const sockets = new Set<Socket>()
      const used = new WeakSet<Socket>()
      const timers = new Set<NodeJS.Timeout>()
      let peak = 0
      const later = (ms: number, f: () => void) => {
        const t = setTimeout(() => {
          timers.delete(t)
          f()
        }, ms)
        timers.add(t)
      }
      const server = http.createServer((req, res) => {
        const entry: Seen = {
          n: seen.length + 1,
          method: req.method ?? "",
          at: performance.now() - t0,
          body: "",
          finished: false,
          closedAt: undefined
        }
        seen.push(entry)
        used.add(req.socket)
        req.setEncoding("utf8")
        req.on("data", (chunk: string) => entry.body += chunk)
        res.on("finish", () => entry.finished = true)
        res.on("close", () => entry.closedAt = performance.now() - t0)
        handler(req, res, entry, api)
      })
      server.on("connection", (socket) => {
        sockets.add(socket)
        peak = Math.max(peak, sockets.size)
        socket.on("close", () => sockets.delete(socket))
      })
      const api: Server = {
        url: "",
        seen,
        open: () => [...sockets].filter((socket) => used.has(socket)).length,
        peak: () => peak,
        pending: () => seen.filter((s) => !s.finished && s.closedAt === undefined).length,
        closeIdle: () => server.closeIdleConnections(),
        later
      }
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({
          api: { ...api, url: `http://127.0.0.1:${port}` },
          close: () =>
            new Promise<void>((done) => {
              for (const t of timers) clearTimeout(t)
              server.closeAllConnections()
              for (const socket of sockets) socket.destroy()
              server.close(() => done())
            })
        }))
      })
    }),
    ({ close }) => Effect.promise(close)
  ).pipe(Effect.map(({ api }) => api))

/** Writes `bytes` of body as fast as the client takes it, stopping if it goes away. */
const writeLarge = (res: http.ServerResponse, bytes: number) => {
  const chunk = Buffer.alloc(64 * 1024, 120)
  let left = bytes
  const pump = () => {
    while (left > 0 && !res.destroyed) {
      left -= chunk.length
      if (left <= 0) {
        res.end(chunk)
        return
      }
      if (!res.write(chunk)) return
    }
  }
  res.on("drain", pump)
  pump()
}

/** 503, `content-length: 100`, one byte, then silence. */
const stalled503 = (res: http.ServerResponse) => {
  res.writeHead(503, { "content-type": "text/plain", "content-length": "100" })
  res.write("x")
}

const ok = (res: http.ServerResponse, text = "ok") => {
  res.writeHead(200, { "content-type": "text/plain", "content-length": String(Buffer.byteLength(text)) })
  res.end(text)
}

/** Polls `check` every 10 ms for up to `ms`: for what the server sees a moment after the client acts. */
const eventually = (check: () => boolean, ms = 1_000) =>
  Effect.gen(function*() {
    const until = performance.now() + ms
    while (!check() && performance.now() < until) yield* Effect.sleep("10 millis")
    return check()
  })

const now = Effect.sync(() => performance.now())

// ---------------------------------------------------------------------------
// the clients
// ---------------------------------------------------------------------------

const clients: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["NodeHttpClient", NodeHttpClient.layer],
  ["FetchHttpClient", FetchHttpClient.layer]
]

/** The per-attempt timeout of the issue: inside the retry, so each attempt has its own. */
const withAttemptTimeout = (ms: number) => HttpClient.transformResponse(Effect.timeout(`${ms} millis`))

/** Generous slack for a loaded 2-core machine; a hang is seconds, so it stays far apart. */
const SLACK = 400

for (const [name, layer] of clients) {
  describe(`retryTransient with ${name} against a misbehaving loopback server`, () => {
    it.scopedLive(
      "a stalled body (503, content-length 100, one byte, silence) ends within maxTime + one timeout",
      () =>
        Effect.gen(function*() {
          const server = yield* startServer((_req, res) => stalled503(res))
          const client = (yield* HttpClient.HttpClient).pipe(
            withAttemptTimeout(300),
            HttpBackoff.retryTransient({ maxTries: 3, maxTime: "500 millis", logger: false })
          )
          const t0 = yield* now
          const exit = yield* client.get(server.url).pipe(Effect.timeout("3 seconds"), Effect.exit)
          const elapsed = (yield* now) - t0
          // gave up with the last 503, well before a stalled body could have ended
          expect(Exit.isSuccess(exit) && exit.value.status).toBe(503)
          expect(elapsed).toBeLessThan(500 + 300 + SLACK)
          expect(server.seen.length).toBeGreaterThanOrEqual(2)
          expect(server.seen.length).toBeLessThanOrEqual(3)
          // each retried response was aborted before the next request came: never read to the end
          for (let i = 0; i < server.seen.length - 1; i++) {
            expect(server.seen[i]!.finished).toBe(false)
            expect(server.seen[i]!.closedAt).toBeDefined()
            expect(server.seen[i]!.closedAt!).toBeLessThanOrEqual(server.seen[i + 1]!.at)
          }
        }).pipe(Effect.provide(layer)),
      10_000
    )

    it.scopedLive("a body trickling for 3 s does not stretch a 400 ms budget", () =>
      Effect.gen(function*() {
        const server = yield* startServer((_req, res, _seen, srv) => {
          res.writeHead(503, { "content-type": "text/plain", "content-length": "31" })
          let sent = 0
          const drip = () => {
            if (res.destroyed) return
            if (++sent === 31) return res.end("x")
            res.write("x")
            srv.later(100, drip)
          }
          drip()
        })
        const client = (yield* HttpClient.HttpClient).pipe(
          withAttemptTimeout(300),
          HttpBackoff.retryTransient({ maxTries: 3, maxTime: "400 millis", logger: false })
        )
        const t0 = yield* now
        const exit = yield* client.get(server.url).pipe(Effect.timeout("5 seconds"), Effect.exit)
        const elapsed = (yield* now) - t0
        expect(Exit.isSuccess(exit) && exit.value.status).toBe(503)
        expect(elapsed).toBeLessThan(400 + 300 + SLACK)
        expect(server.seen.slice(0, -1).every((s) => !s.finished && s.closedAt !== undefined)).toBe(true)
      }).pipe(Effect.provide(layer)), 10_000)

    it.scopedLive("a PUT with a one-shot stream body is sent once: no empty second body", () =>
      Effect.gen(function*() {
        const server = yield* startServer((req, res, seen) => {
          // answer once the body is in, as a store would
          req.on("end", () =>
            seen.n === 1 ? (res.writeHead(503), res.end("busy")) : ok(res, `stored ${seen.body.length}`))
        })
        const client = (yield* HttpClient.HttpClient).pipe(
          HttpBackoff.retryTransient({
            wait: Wait.constant({ interval: "5 millis" }),
            jitter: null,
            maxTries: 3,
            logger: false
          })
        )
        // a web ReadableStream is read once: a second attempt would find it drained
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("hello world"))
            controller.close()
          }
        })
        const request = HttpClientRequest.put(`${server.url}/doc`).pipe(
          HttpClientRequest.bodyStream(
            Stream.fromReadableStream(() =>
              body, (e) => e),
            { contentType: "text/plain" }
          )
        )
        const response = yield* client.execute(request)
        expect(response.status).toBe(503)
        expect(server.seen.map((s) => `${s.method} ${JSON.stringify(s.body)}`)).toEqual(["PUT \"hello world\""])
      }).pipe(Effect.provide(layer)), 10_000)

    it.scopedLive("the same PUT with the body as bytes is retried, whole each time", () =>
      Effect.gen(function*() {
        const server = yield* startServer((req, res, seen) => {
          req.on("end", () => seen.n === 1 ? (res.writeHead(503), res.end("busy")) : ok(res, `stored ${seen.body}`))
        })
        const client = (yield* HttpClient.HttpClient).pipe(
          HttpBackoff.retryTransient({
            wait: Wait.constant({ interval: "5 millis" }),
            jitter: null,
            maxTries: 3,
            logger: false
          })
        )
        const request = HttpClientRequest.put(`${server.url}/doc`).pipe(
          HttpClientRequest.bodyUint8Array(new TextEncoder().encode("hello world"), "text/plain")
        )
        const response = yield* client.execute(request)
        expect(yield* response.text).toBe("stored hello world")
        expect(server.seen.map((s) => s.body)).toEqual(["hello world", "hello world"])
      }).pipe(Effect.provide(layer)), 10_000)

    it.scopedLive(
      "a retried 32 MB response is released before the sleep; an outer timeout in the sleep sends nothing more",
      () =>
        Effect.gen(function*() {
          const server = yield* startServer((_req, res) => {
            res.writeHead(503, { "content-type": "application/octet-stream" })
            writeLarge(res, 32 * 1024 * 1024)
          })
          const client = (yield* HttpClient.HttpClient).pipe(
            HttpBackoff.retryTransient({
              wait: Wait.constant({ interval: "2 seconds" }),
              jitter: null,
              maxTries: 3,
              logger: false
            })
          )
          const exit = yield* client.get(server.url).pipe(Effect.timeout("300 millis"), Effect.exit)
          expect(Exit.isFailure(exit)).toBe(true)
          // the client layer is still open here: only the release can have closed the response
          expect(yield* eventually(() => server.pending() === 0 && server.open() === 0)).toBe(true)
          expect(server.seen).toHaveLength(1)
          expect(server.seen[0]!.finished).toBe(false)
        }).pipe(Effect.provide(layer)),
      10_000
    )

    it.scopedLive(
      "interrupted before the loop releases it (in a slow giveup), the response is released",
      () =>
        Effect.gen(function*() {
          const server = yield* startServer((_req, res) => {
            res.writeHead(503, { "content-type": "application/octet-stream" })
            writeLarge(res, 32 * 1024 * 1024)
          })
          const client = (yield* HttpClient.HttpClient).pipe(
            HttpBackoff.retryTransient({
              wait: Wait.constant({ interval: "5 millis" }),
              jitter: null,
              maxTries: 3,
              logger: false,
              // the response is held while this runs: nothing has released it yet
              giveup: () => Effect.as(Effect.sleep("5 seconds"), false)
            })
          )
          const fiber = yield* Effect.fork(client.get(server.url))
          expect(yield* eventually(() => server.seen.length === 1)).toBe(true)
          yield* Effect.sleep("100 millis")
          yield* Fiber.interrupt(fiber)
          expect(yield* eventually(() => server.pending() === 0 && server.open() === 0)).toBe(true)
          expect(server.seen[0]!.finished).toBe(false)
        }).pipe(Effect.provide(layer)),
      10_000
    )

    it.scopedLive(
      "500 retried requests (large, stalled and Retry-After bodies, some cut by a timeout) leave no socket open",
      () =>
        Effect.gen(function*() {
          const REQUESTS = 500
          const CONCURRENCY = 50
          const attempts = new Map<string, number>()
          const server = yield* startServer((req, res) => {
            const id = String(req.headers["x-req"])
            const n = (attempts.get(id) ?? 0) + 1
            attempts.set(id, n)
            if (n > 1) return ok(res)
            const kind = Number(id) % 10
            if (kind === 0) {
              // a long Retry-After: the outer timeout below interrupts this run in its sleep
              res.writeHead(503, { "retry-after": "5" })
              return writeLarge(res, 256 * 1024)
            }
            if (kind < 5) return stalled503(res)
            res.writeHead(503, { "content-type": "application/octet-stream" })
            writeLarge(res, 64 * 1024)
          })
          const client = (yield* HttpClient.HttpClient).pipe(
            withAttemptTimeout(2_000),
            HttpBackoff.retryTransient({
              wait: Wait.constant({ interval: "5 millis" }),
              jitter: null,
              maxTries: 3,
              logger: false
            })
          )
          const t0 = yield* now
          const results = yield* Effect.forEach(
            Array.from({ length: REQUESTS }, (_, i) => i),
            (i) =>
              client.execute(HttpClientRequest.get(server.url).pipe(HttpClientRequest.setHeader("x-req", String(i))))
                .pipe(
                  Effect.flatMap((response) => response.text),
                  Effect.timeout(i % 10 === 0 ? "500 millis" : "10 seconds"),
                  Effect.option
                ),
            { concurrency: CONCURRENCY }
          )
          const wallMs = Math.round((yield* now) - t0)
          const cut = results.filter(Option.isNone).length
          // every run ended: the 10% with Retry-After 5 s were cut in their sleep, the others got "ok"
          expect(results.filter((r) => Option.isSome(r) && r.value === "ok")).toHaveLength(REQUESTS - REQUESTS / 10)
          expect(cut).toBe(REQUESTS / 10)
          // idle keep-alive connections are the client's pool, not a leak: close them, then
          // count what is still open (a socket held by a response nobody released)
          server.closeIdle()
          const clean = yield* eventually(() => server.pending() === 0 && server.open() === 0, 2_000)
          console.log(
            `${name}: ${REQUESTS} requests, ${server.seen.length} attempts in ${wallMs} ms, peak ${server.peak()} sockets, ` +
              `${server.open()} open and ${server.pending()} responses held at the end`
          )
          expect(clean).toBe(true)
          expect(server.peak()).toBeLessThanOrEqual(2 * CONCURRENCY + 5)
        }).pipe(Effect.provide(layer)),
      60_000
    )
  })
}
