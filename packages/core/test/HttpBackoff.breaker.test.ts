/**
 * `retryTransient` with a keyed circuit breaker against two real node:http servers on
 * 127.0.0.1 (two ports: two hosts to the breaker): one answers 503, the other 200. The
 * breaker is keyed by host, so the failing host's breaker opens and the other's stays
 * closed; a retryable response counts as a failure to the breaker.
 */
import { CircuitBreaker, Wait } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

const server = (status: number) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly host: string; readonly hits: () => number }>((resume) => {
      let hits = 0
      const s = http.createServer((_req, res) => {
        hits++
        res.writeHead(status, { "content-type": "text/plain" }).end(String(status))
      })
      s.listen(0, "127.0.0.1", () => {
        const { port } = s.address() as AddressInfo
        resume(Effect.succeed(Object.assign(s, {
          url: `http://127.0.0.1:${port}/x`,
          host: `127.0.0.1:${port}`,
          hits: () => hits
        })))
      })
    }),
    (s) =>
      Effect.async<void>((resume) => {
        const srv = s as unknown as http.Server
        srv.closeAllConnections()
        srv.close(() => resume(Effect.void))
      })
  )

describe("HttpBackoff.retryTransient with a keyed breaker", () => {
  it.live(
    "is keyed by host: the failing host opens, the other stays closed",
    () =>
      Effect.scoped(
        Effect.gen(function*() {
          const down = yield* server(503)
          const up = yield* server(200)
          const breakers = yield* CircuitBreaker.keyed(
            { policy: CircuitBreaker.consecutive(2), halfOpenAfter: "1 minute" },
            { capacity: 10 }
          )
          const reasons: Array<string> = []
          // two 503s open the breaker of `down`; try 3 is rejected, and its minute does not
          // fit in maxTime: the run gives up at once with the OpenError
          const bounded = (yield* HttpClient.HttpClient).pipe(HttpBackoff.retryTransient({
            wait: Wait.constant({ interval: "1 millis" }),
            jitter: null,
            maxTries: 4,
            maxTime: "5 seconds",
            breaker: breakers,
            logger: false,
            onGiveup: (d) => void reasons.push(d.reason)
          }))
          const first = yield* Effect.flip(bounded.get(down.url))
          expect(CircuitBreaker.isOpenError(first)).toBe(true)
          expect(reasons).toEqual(["circuitOpen"])
          expect(down.hits()).toBe(2)
          const ok = yield* bounded.get(up.url)
          expect(ok.status).toBe(200)
          expect(yield* breakers.keys).toEqual([down.host, up.host])
          expect(yield* (yield* breakers.get(down.host)).state).toBe("open")
          expect(yield* (yield* breakers.get(up.host)).state).toBe("closed")
          // the open host is not called again: the run gives up at once
          const again = yield* Effect.flip(bounded.get(down.url))
          expect(CircuitBreaker.isOpenError(again) && again.key).toBe(down.host)
          expect(down.hits()).toBe(2)
        }).pipe(Effect.provide(NodeHttpClient.layer))
      ),
    10_000
  )

  it.live("breakerKey keys it otherwise", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const down = yield* server(503)
        const breakers = yield* CircuitBreaker.keyed({ policy: CircuitBreaker.consecutive(1) }, { capacity: 10 })
        const client = (yield* HttpClient.HttpClient).pipe(HttpBackoff.retryTransient({
          maxTries: 1,
          breaker: breakers,
          breakerKey: (request) => `tenant:${request.method}`,
          logger: false
        }))
        const response = yield* client.get(down.url)
        expect(response.status).toBe(503)
        expect(yield* breakers.keys).toEqual(["tenant:GET"])
        expect(yield* (yield* breakers.get("tenant:GET")).state).toBe("open")
      }).pipe(Effect.provide(NodeHttpClient.layer))
    ), 10_000)
})
