import { RetryBudget, Wait } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"

/** A fake HttpClient: 503 to everything until `healthyFrom` requests were seen, then 200. */
const fake = (healthyFrom: number) => {
  const sent: Array<string> = []
  const client = HttpClient.make((request) =>
    Effect.sync(() => {
      sent.push(request.method)
      return HttpClientResponse.fromWeb(request, new Response(null, { status: sent.length > healthyFrom ? 200 : 503 }))
    })
  )
  return { client, sent }
}

const policy = { wait: Wait.constant({ interval: 0 }), jitter: null, maxTries: 3, logger: false } as const

// Finagle's rule: every request deposits, the ones HttpBackoff will not retry included
describe("retryTransient: every request deposits in the retry budget", () => {
  it.effect("9 POSTs (sent once) and 1 GET at percentCanRetry 0.1, no reserve: the GET gets its retry", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0.1, minRetriesPerSecond: 0 })
      const { client, sent } = fake(10)
      const retried = client.pipe(HttpBackoff.retryTransient({ ...policy, budget }))
      for (let i = 0; i < 9; i++) expect((yield* retried.post("http://x/orders")).status).toBe(503)
      expect(sent).toHaveLength(9) // not retried
      expect((yield* retried.get("http://x/orders")).status).toBe(200)
      expect(sent).toEqual([...Array(9).fill("POST"), "GET", "GET"])
      expect(yield* budget.tryWithdraw).toBe(false) // exactly one token, spent
    }))

  it.effect("a one-shot stream body deposits too; budget: true uses the budget in context", () =>
    Effect.gen(function*() {
      const { client, sent } = fake(10)
      const retried = client.pipe(HttpBackoff.retryTransient({ ...policy, budget: true }))
      const streamed = HttpClientRequest.put("http://x/upload").pipe(
        HttpClientRequest.bodyStream(Stream.make(new Uint8Array([1, 2, 3])))
      )
      for (let i = 0; i < 9; i++) expect((yield* retried.execute(streamed)).status).toBe(503)
      expect(sent).toHaveLength(9)
      expect((yield* retried.get("http://x/orders")).status).toBe(200)
      expect(sent.slice(9)).toEqual(["GET", "GET"])
    }).pipe(Effect.provide(RetryBudget.layer({ percentCanRetry: 0.1, minRetriesPerSecond: 0 }))))

  it.effect("without a budget a POST is sent as it is", () =>
    Effect.gen(function*() {
      const { client, sent } = fake(10)
      const retried = client.pipe(HttpBackoff.retryTransient(policy))
      expect((yield* retried.post("http://x/orders")).status).toBe(503)
      expect(sent).toEqual(["POST"])
    }))
})
