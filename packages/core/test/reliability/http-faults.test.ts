/**
 * HTTP faults against a real loopback server (127.0.0.1, an ephemeral port, started and
 * closed by the test): 1,000 requests at concurrency 50, each with a seeded plan of
 * failures (connection resets, 503s, 429s with a small or an over-long Retry-After, slow
 * responses past the client's timeout) before a 200 or never. Every request settles exactly
 * once; every GET succeeds or gives up within its budget; no POST without an
 * Idempotency-Key reaches the server twice (the server counts per request id).
 */
import { Wait } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import { FetchHttpClient, HttpClient, HttpClientError, HttpClientRequest } from "@effect/platform"
import type { HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Option } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { activeTimers, prng } from "./support.js"

const REQUESTS = 1_000
const CONCURRENCY = 50
const MAX_TRIES = 6
const MAX_TIME = 5_000
/**
 * The client's timeout per attempt. Generous: on a loaded 2-core machine a loopback request
 * at concurrency 50 can take a few hundred ms, and a spurious timeout only costs an attempt.
 */
const TIMEOUT = 1_000
/** how long a "slow" reply keeps the client waiting: past its timeout */
const SLOW = 1_500
/** scheduling slack for the wall-clock budget check */
const SLACK = 1_500

type Action = "reset" | "503" | "429-0" | "429-long" | "slow-timeout" | "slow-ok" | "200"
type Method = "GET" | "POST" | "POST+key"

interface Plan {
  readonly id: number
  readonly method: Method
  /** the server's reply to attempt i; the last one repeats */
  readonly actions: ReadonlyArray<Action>
}

/** slow replies are rarer: each costs a full client timeout */
const FAILURES: ReadonlyArray<Action> = [
  "reset",
  "reset",
  "503",
  "503",
  "429-0",
  "429-0",
  "429-long",
  "429-long",
  "slow-timeout"
]

const makePlans = (seed: number): ReadonlyArray<Plan> => {
  const r = prng(seed)
  return Array.from({ length: REQUESTS }, (_, id) => {
    const method: Method = r.chance(0.8) ? "GET" : r.chance(0.5) ? "POST" : "POST+key"
    const failures = r.chance(0.1) ? MAX_TRIES + 2 : r.int(0, 4) // some never succeed within maxTries
    const actions: Array<Action> = []
    for (let i = 0; i < failures; i++) actions.push(r.pick(FAILURES))
    actions.push(r.chance(0.15) ? "slow-ok" : "200")
    return { id, method, actions }
  })
}

/** The server: answers attempt n of request `x-req` as its plan says; counts (and logs) attempts per id. */
const startServer = (plans: ReadonlyArray<Plan>, t0: number) =>
  Effect.acquireRelease(
    Effect.async<{
      readonly url: string
      readonly attempts: Map<number, number>
      readonly serverLog: Map<number, Array<string>>
      readonly server: http.Server
    }>(
      (resume) => {
        const attempts = new Map<number, number>()
        const serverLog = new Map<number, Array<string>>()
        const timers = new Set<NodeJS.Timeout>()
        const server = http.createServer((req, res) => {
          const id = Number(req.headers["x-req"])
          const n = (attempts.get(id) ?? 0) + 1
          attempts.set(id, n)
          const plan = plans[id]!
          const action = plan.actions[Math.min(n, plan.actions.length) - 1]!
          const sl = serverLog.get(id) ?? []
          sl.push(`${n}:${action}@${Date.now() - t0}ms`)
          serverLog.set(id, sl)

          const reply = (status: number, headers: Record<string, string> = {}) => {
            if (!res.writableEnded && !res.destroyed) {
              res.writeHead(status, { "content-type": "text/plain", ...headers })
              res.end(`${status} for ${id} #${n}`)
            }
          }
          const later = (ms: number, f: () => void) => {
            const t = setTimeout(() => {
              timers.delete(t)
              f()
            }, ms)
            timers.add(t)
          }
          switch (action) {
            case "reset":
              req.socket.destroy()
              return
            case "503":
              return reply(503)
            case "429-0":
              return reply(429, { "retry-after": "0" })
            case "429-long":
              // one hour: maxRetryAfter caps it
              return reply(429, { "retry-after": "3600" })
            case "slow-timeout":
              return later(SLOW, () => reply(200))
            case "slow-ok":
              return later(20, () => reply(200))
            case "200":
              return reply(200)
          }
        })
        server.on("close", () => {
          for (const t of timers) clearTimeout(t)
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, attempts, server, serverLog }))
        })
      }
    ),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

type Result =
  | { readonly id: number; readonly kind: "ok"; readonly status: number; readonly ms: number }
  | { readonly id: number; readonly kind: "response"; readonly status: number; readonly ms: number }
  | { readonly id: number; readonly kind: "error"; readonly error: string; readonly ms: number }

describe("HTTP faults against a loopback server", () => {
  it.scopedLive(
    `${REQUESTS} requests with resets, 503s, 429s and slow replies: none lost, no POST twice`,
    () =>
      Effect.gen(function*() {
        const timersBefore = activeTimers()
        const plans = makePlans(7)
        const t0 = Date.now()
        const srv = yield* startServer(plans, t0)
        const ends = new Map<number, Array<string>>()
        const end = (what: string) => (d: HttpBackoff.SuccessDetails | HttpBackoff.GiveupDetails) => {
          const id = Number(new URL(d.request.url).pathname.split("/").pop())
          const list = ends.get(id) ?? []
          list.push(what)
          ends.set(id, list)
        }
        let backoffs = 0
        /** the client's side of each request: its backoffs, for failure messages */
        const trace = new Map<number, Array<string>>()
        let longestWait = 0
        const base = yield* Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer)
        const client = base.pipe(
          // the client's own timeout on each attempt: a TimeoutException, which is retried
          HttpClient.transformResponse(Effect.timeout(Duration.millis(TIMEOUT))),
          HttpBackoff.retryTransient({
            wait: Wait.expo({ factor: "5 millis", maxValue: "40 millis" }),
            maxTries: MAX_TRIES,
            maxTime: Duration.millis(MAX_TIME),
            maxRetryAfter: "30 millis",
            logger: false,
            onBackoff: (d) => {
              const id = Number(new URL(d.request.url).pathname.split("/").pop())
              const l = trace.get(id) ?? []
              const why = d.status ?? (d.exception as { readonly _tag?: string } | undefined)?._tag
              l.push(`${d.tries}:${why}@${Date.now() - t0}ms wait ${Duration.toMillis(d.wait).toFixed(0)}`)
              trace.set(id, l)
              backoffs++
              longestWait = Math.max(longestWait, Duration.toMillis(d.wait))
            },
            onSuccess: end("success"),
            onGiveup: end("giveup")
          })
        )

        const one = (plan: Plan): Effect.Effect<Result> =>
          Effect.gen(function*() {
            const url = `${srv.url}/r/${plan.id}`
            let request = plan.method === "GET" ? HttpClientRequest.get(url) : HttpClientRequest.post(url)
            request = HttpClientRequest.setHeader(request, "x-req", String(plan.id))
            if (plan.method === "POST+key") {
              request = HttpClientRequest.setHeader(request, "idempotency-key", `k${plan.id}`)
            }
            const started = Date.now()
            const exit = yield* Effect.exit(
              Effect.flatMap(client.execute(request), (response: HttpClientResponse.HttpClientResponse) =>
                Effect.as(
                  Effect.orElseSucceed(response.text, () => ""),
                  response
                ))
            )
            const ms = Date.now() - started
            if (Exit.isSuccess(exit)) {
              const status = exit.value.status
              return { id: plan.id, kind: status === 200 ? "ok" : "response", status, ms } as const
            }
            const error = Option.getOrUndefined(Cause.failureOption(exit.cause))
            const name = error === undefined
              ? `defect ${Cause.pretty(exit.cause)}`
              : Cause.isTimeoutException(error)
              ? "TimeoutException"
              : HttpClientError.isHttpClientError(error)
              ? `${error._tag}/${error.reason}`
              : `other ${String(error)}`
            return { id: plan.id, kind: "error", error: name, ms } as const
          })

        const started = Date.now()
        const results = yield* Effect.forEach(plans, one, { concurrency: CONCURRENCY })
        const wall = Date.now() - started

        // none lost: every request settled exactly once, with its own id
        expect(results).toHaveLength(REQUESTS)
        expect(new Set(results.map((r) => r.id)).size).toBe(REQUESTS)
        // every request reached the server
        // every retried request reached the server (a POST that timed out on the way may not have)
        expect(plans.filter((p) => p.method !== "POST" && !srv.attempts.has(p.id)).map((p) => p.id)).toEqual([])

        const problems: Array<string> = []
        /** retried requests whose plan reached a 200 in time but that ended otherwise (spurious client timeouts) */
        const short: Array<string> = []
        for (const r of results) {
          const plan = plans[r.id]!
          const attempts = srv.attempts.get(r.id) ?? 0
          const retried = plan.method !== "POST"
          if (r.kind === "error" && !["RequestError/Transport", "TimeoutException"].includes(r.error)) {
            problems.push(`${r.id}: unexpected ${r.error}`)
          }
          if (r.kind === "response" && ![503, 429].includes(r.status)) problems.push(`${r.id}: status ${r.status}`)
          if (!retried) {
            // no POST without an Idempotency-Key is ever sent twice, and none ends in a handler
            if (attempts > 1) problems.push(`POST ${r.id} reached the server ${attempts} times`)
            if (ends.has(r.id)) problems.push(`POST ${r.id} ran ${ends.get(r.id)}`)
            continue
          }
          if (attempts > MAX_TRIES) problems.push(`${r.id}: ${attempts} attempts > maxTries`)
          // each retried request ends in exactly one onSuccess or onGiveup, matching its result
          const e = ends.get(r.id) ?? []
          if (e.length !== 1) problems.push(`${r.id}: end events ${e}`)
          else if ((e[0] === "success") !== (r.kind === "ok")) problems.push(`${r.id}: ${e[0]} but ${r.kind}`)
          // within its budget: no attempt starts after maxTime, and an attempt lasts at most the timeout
          if (r.ms > MAX_TIME + TIMEOUT + SLACK) problems.push(`${r.id}: took ${r.ms} ms`)
          // a plan that reaches its 200 within maxTries (with room to spare for the time budget) succeeds
          const fails = plan.actions.length - 1
          if (fails < MAX_TRIES && r.kind !== "ok") {
            short.push(`${r.id}: plan ${plan.actions} ended ${JSON.stringify(r)} after ${attempts} attempts`)
            // only the client's clock can cut such a plan short: a timeout, or the time budget
            if (!(r.kind === "error" && r.error === "TimeoutException") && r.ms < MAX_TIME) problems.push(short.at(-1)!)
          }
          if (fails >= MAX_TRIES && r.kind === "ok") problems.push(`${r.id}: succeeded past its plan`)
        }
        const explain = (p: string) => {
          const id = Number(p.split(":")[0])
          return `${p}\n  client backoffs ${trace.get(id)}\n  server ${srv.serverLog.get(id)}`
        }
        expect(problems.slice(0, 5).map(explain)).toEqual([])
        // liveness: nearly every plan that reaches a 200 within maxTries gets it
        const reachable = plans.filter((p) => p.method !== "POST" && p.actions.length - 1 < MAX_TRIES).length
        expect(short.length, short.slice(0, 5).map(explain).join("\n")).toBeLessThan(reachable * 0.05)

        // 429 with Retry-After: 3600 was capped by maxRetryAfter (30 ms), never slept for an hour
        expect(longestWait).toBeLessThanOrEqual(40)

        const count = (f: (r: Result) => boolean) => results.filter(f).length
        const tally = {
          requests: REQUESTS,
          wallMs: wall,
          serverAttempts: [...srv.attempts.values()].reduce((a, b) => a + b, 0),
          backoffs,
          ok: count((r) => r.kind === "ok"),
          gaveUpWithResponse: count((r) => r.kind === "response"),
          gaveUpWithError: count((r) => r.kind === "error"),
          postsNotRetried: plans.filter((p) => p.method === "POST").length,
          spuriousTimeouts: short.length
        }
        console.log(`http faults: ${JSON.stringify(tally)}`)
        expect(tally.ok).toBeGreaterThan(REQUESTS / 2)
        expect(tally.gaveUpWithError).toBeGreaterThan(0)
        expect(tally.gaveUpWithResponse).toBeGreaterThan(0)
        // the client's own timers are gone (the server's are cleared when it closes)
        expect(activeTimers()).toBeLessThanOrEqual(timersBefore + 10)
      }),
    120_000
  )
})
