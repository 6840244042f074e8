import { RetryBudget, Wait } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterEach } from "vitest"
import type { TestServer } from "./helpers.js"
import { reply, startServer } from "./helpers.js"

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const CALLS = 50
const MAX_TRIES = 5

/** `CALLS` GETs, 10 at a time, through retryTransient with `options`; the give-up reasons. */
const send = (url: string, options: HttpBackoff.Options) =>
  Effect.gen(function*() {
    const reasons: Array<string> = []
    const client = (yield* HttpClient.HttpClient).pipe(
      HttpBackoff.retryTransient({
        wait: Wait.constant({ interval: 0 }),
        jitter: null,
        logger: false,
        maxTries: MAX_TRIES,
        ...options,
        onGiveup: (d) => void reasons.push(d.reason)
      })
    )
    const statuses = yield* Effect.forEach(
      Array.from({ length: CALLS }),
      () => Effect.map(client.get(url), (r) => r.status),
      { concurrency: 10 }
    )
    return { statuses, reasons }
  }).pipe(Effect.provide(NodeHttpClient.layer))

describe("HttpBackoff.retryTransient with a retry budget (loopback server failing 100%)", () => {
  it.live("without a budget the server sees maxTries × the calls", () =>
    Effect.gen(function*() {
      server = yield* Effect.promise(() => startServer((_req, res) => reply(res, 503)))
      const { reasons, statuses } = yield* send(server.url, {})
      expect(statuses.every((s) => s === 503)).toBe(true)
      expect(server.requests()).toBe(MAX_TRIES * CALLS)
      expect(new Set(reasons)).toEqual(new Set(["maxTries"]))
    }), 30_000)

  it.live(
    "with a budget it sees at most (1 + percentCanRetry) × the calls + the reserve",
    () =>
      Effect.gen(function*() {
        server = yield* Effect.promise(() => startServer((_req, res) => reply(res, 503)))
        const options = { percentCanRetry: 0.2, ttl: "10 seconds", minRetriesPerSecond: 1 } as const
        const budget = yield* RetryBudget.make(options)
        const { reasons, statuses } = yield* send(server.url, { budget })
        const reserve = 1 * 10
        expect(statuses.every((s) => s === 503)).toBe(true)
        expect(server.requests()).toBeLessThanOrEqual((1 + 0.2) * CALLS + reserve)
        expect(server.requests()).toBeGreaterThanOrEqual(CALLS)
        expect(reasons.length).toBe(CALLS)
        expect(reasons.filter((r) => r === "budget").length).toBeGreaterThan(CALLS / 2)
      }),
    30_000
  )

  it.live("budget: true takes the RetryBudget from the context", () =>
    Effect.gen(function*() {
      server = yield* Effect.promise(() => startServer((_req, res) => reply(res, 503)))
      const { statuses } = yield* send(server.url, { budget: true }).pipe(
        Effect.provide(RetryBudget.layer({ percentCanRetry: 0, minRetriesPerSecond: 0 }))
      )
      expect(statuses.length).toBe(CALLS)
      expect(server.requests()).toBe(CALLS) // an empty budget: no retry at all
    }), 30_000)
})
