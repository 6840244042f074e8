/**
 * The Redis budget under faults, against a real redis-server: a server that stalls
 * (CLIENT PAUSE), one that is killed and restarted under the caller's own client, and a
 * program ending while Redis is down. A fleet is bounded as a whole: a deposit counts
 * once whatever the timeouts, and nothing is queued without bound or replayed.
 */
import { RetryBudget } from "@effect-backoff/core"
import { RedisRetryBudget } from "@effect-backoff/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { Redis } from "ioredis"
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import * as net from "node:net"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { SCRIPT } from "../src/internal/redisRetryBudget.js"
import { packageDir } from "./helpers.js"
import type { RedisServer } from "./redis-server.js"
import { redisBinary, skipReason, startRedis } from "./redis-server.js"

const available = redisBinary !== undefined
const UNIT = 1_000_000
let keys = 0
const freshKey = () => `test:budget-faults:${process.pid}:${++keys}`
const quiet = Effect.provide(Logger.remove(Logger.defaultLogger))

const drain = (budget: RetryBudget.RetryBudget, max = 1000) =>
  Effect.gen(function*() {
    let n = 0
    while (n < max && (yield* budget.tryWithdraw)) n++
    return n
  })

describe.skipIf(!available)(
  `RedisRetryBudget under faults${available ? "" : ` (skipped: ${skipReason})`}`,
  () => {
    let server: RedisServer
    let admin: Redis
    beforeAll(async () => {
      server = await startRedis()
      admin = new Redis(server.url)
    }, 10_000)
    afterAll(async () => {
      admin?.disconnect()
      await server?.stop()
    })

    const adminDo = <A>(f: (redis: Redis) => Promise<A>) => Effect.promise(() => f(admin))
    /** Scripts run on the server since the last CONFIG RESETSTAT. */
    const scriptsRun = adminDo(async (r) => {
      const info = await r.info("commandstats")
      let calls = 0
      for (const m of info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)) calls += Number(m[1])
      return calls
    })
    /** The units deposited in a budget's window, as the server holds them. */
    const deposited = (key: string) => adminDo(async (r) => Number(await r.hget(key, "ds") ?? 0))

    it.live(
      "the script applies a batch once: the same id sent again (a replay) changes nothing",
      () =>
        Effect.gen(function*() {
          const key = freshKey()
          const s = RetryBudget.resolve({ percentCanRetry: 0.5, minRetriesPerSecond: 0 })
          const args = [
            10,
            0,
            0,
            0,
            s.depositUnits,
            s.reserveUnits,
            s.withdrawUnits,
            s.bucketMillis,
            s.buckets,
            s.ttlMillis
          ]
            .map(String)
          const run = (id: string) => adminDo((r) => r.eval(SCRIPT, 2, key, `{${key}}:batch:${id}`, ...args))
          expect(yield* run("a")).toEqual([0, String(5 * UNIT)])
          expect(yield* run("a")).toEqual([-1, "0"]) // seen: not applied again
          expect(yield* deposited(key)).toBe(5 * UNIT)
          yield* run("b")
          expect(yield* deposited(key)).toBe(10 * UNIT)
        }),
      10_000
    )

    it.live(
      "a 1.5 s stall (CLIENT PAUSE) after 100 deposits: the budget holds at most 20 tokens",
      () =>
        Effect.scoped(
          Effect.gen(function*() {
            const key = freshKey()
            const budget = yield* RedisRetryBudget.make({
              redis: server.url,
              key,
              percentCanRetry: 0.2,
              minRetriesPerSecond: 0,
              timeout: "100 millis"
            })
            for (let i = 0; i < 100; i++) yield* budget.deposit
            yield* adminDo((r) => r.call("CLIENT", "PAUSE", "1500", "ALL"))
            // the flush fiber times out again and again during the stall; Redis wakes at 1.5 s
            yield* Effect.sleep("2000 millis")
            expect(yield* deposited(key)).toBeLessThanOrEqual(20 * UNIT)
            expect(yield* deposited(key)).toBe(20 * UNIT) // and they count once, not zero times
            expect(yield* drain(budget)).toBe(20)
          }).pipe(quiet)
        ),
      10_000
    )

    it.live(
      "during a stall the fallback grants from the outage on (no whole reserve at once), and Redis counts it afterwards",
      () =>
        Effect.scoped(
          Effect.gen(function*() {
            const key = freshKey()
            const budget = yield* RedisRetryBudget.make({
              redis: server.url,
              key,
              percentCanRetry: 1,
              minRetriesPerSecond: 2, // a reserve of 20 tokens over the default 10 s ttl
              timeout: "100 millis"
            })
            for (let i = 0; i < 5; i++) yield* budget.deposit
            expect(yield* budget.tryWithdraw).toBe(true) // on Redis: 5 runs + 20 reserve, 1 taken
            yield* adminDo((r) => r.call("CLIENT", "PAUSE", "1000", "ALL"))
            for (let i = 0; i < 3; i++) yield* budget.deposit
            let granted = 0
            for (let i = 0; i < 30; i++) if (yield* budget.tryWithdraw) granted++
            // the 3 runs since, and a reserve built at 2 per second for well under a second
            expect(granted).toBeGreaterThanOrEqual(3)
            expect(granted).toBeLessThanOrEqual(5)
            yield* Effect.sleep("1500 millis") // Redis wakes; the flush sends the runs and the local grants
            expect(Number(yield* adminDo((r) => r.hget(key, "ds")))).toBe(8 * UNIT)
            // the local grants are counted; the withdrawal that timed out at the stall's start may be too,
            // once Redis runs it (an error on the side of fewer retries)
            const withdrawn = Number(yield* adminDo((r) => r.hget(key, "ws")))
            expect(withdrawn).toBeGreaterThanOrEqual((1 + granted) * UNIT)
            expect(withdrawn).toBeLessThanOrEqual((2 + granted) * UNIT)
          }).pipe(quiet)
        ),
      10_000
    )

    it.live(
      "a 3 s stall: at most one flush in flight, at most 10 scripts run",
      () =>
        Effect.scoped(
          Effect.gen(function*() {
            const key = freshKey()
            const budget = yield* RedisRetryBudget.make({
              redis: server.url,
              key,
              percentCanRetry: 0.2,
              minRetriesPerSecond: 0,
              timeout: "100 millis"
            })
            yield* adminDo((r) => r.config("RESETSTAT"))
            yield* adminDo((r) => r.call("CLIENT", "PAUSE", "3000", "ALL"))
            // runs go on during the stall (deposits every 50 ms), and a few retries
            for (let i = 0; i < 60; i++) {
              yield* budget.deposit
              if (i % 10 === 0) yield* budget.tryWithdraw
              yield* Effect.sleep("50 millis")
            }
            yield* Effect.sleep("300 millis")
            const scripts = yield* scriptsRun
            expect(scripts).toBeLessThanOrEqual(10)
            expect(yield* deposited(key)).toBeLessThanOrEqual(60 * 0.2 * UNIT) // each run once at most
          }).pipe(quiet)
        ),
      15_000
    )

    it.live(
      "the caller's own client (default options), Redis down 3 s: no growing queue, no replay",
      () =>
        Effect.gen(function*() {
          const key = freshKey()
          const redis = new Redis(server.url) // default options: offline queue on, 20 retries per request
          redis.on("error", () => {})
          const offline = () => (redis as unknown as { offlineQueue: { length: number } }).offlineQueue.length
          yield* Effect.scoped(
            Effect.gen(function*() {
              const budget = yield* RedisRetryBudget.make({
                redis,
                key,
                percentCanRetry: 0.2,
                minRetriesPerSecond: 0,
                timeout: "100 millis"
              })
              yield* budget.deposit
              expect(yield* budget.tryWithdraw).toBe(false)
              yield* Effect.promise(() => server.stop())
              let most = 0
              // 100 runs during the outage, a retry tried now and then
              for (let i = 0; i < 30; i++) {
                for (let j = 0; j < 3; j++) yield* budget.deposit
                if (i % 5 === 0) yield* budget.tryWithdraw
                yield* Effect.sleep("100 millis")
                most = Math.max(most, offline())
              }
              for (let j = 0; j < 9; j++) yield* budget.deposit
              expect(most).toBeLessThanOrEqual(1) // at most the one command in flight
              yield* Effect.promise(() => server.start())
              // ioredis reconnects (its default backoff: at most 2 s), then the budget flushes
              let held = 0
              for (let i = 0; i < 60 && held === 0; i++) {
                yield* Effect.sleep("100 millis")
                held = yield* deposited(key)
              }
              yield* Effect.sleep("500 millis")
              // 100 runs at 0.2 fund at most 20 tokens (the one before the outage was lost with the server)
              expect(yield* deposited(key)).toBeLessThanOrEqual(20 * UNIT)
              expect(yield* deposited(key)).toBeGreaterThan(0)
              expect(offline()).toBe(0)
            }).pipe(quiet)
          )
          expect(redis.status).toBe("ready") // the caller's client is left open
          redis.disconnect()
        }),
      20_000
    )

    it.live("the fallback's warning says Redis is unreachable, in our words", () =>
      Effect.gen(function*() {
        const port = yield* Effect.promise(() =>
          new Promise<number>((resolve) => {
            const s = net.createServer()
            s.listen(0, "127.0.0.1", () => {
              const p = (s.address() as net.AddressInfo).port
              s.close(() => resolve(p))
            })
          })
        )
        const lines: Array<string> = []
        const logger = Logger.replace(
          Logger.defaultLogger,
          Logger.make(({ logLevel, message }) => {
            lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
          })
        )
        yield* Effect.scoped(
          Effect.gen(function*() {
            const budget = yield* RedisRetryBudget.make({
              redis: `redis://127.0.0.1:${port}`,
              key: "k",
              percentCanRetry: 1,
              minRetriesPerSecond: 0
            })
            yield* budget.deposit
            expect(yield* budget.tryWithdraw).toBe(true) // decided locally: the run's own token
          }).pipe(Effect.provide(logger))
        )
        const warnings = lines.filter((l) => l.startsWith("WARN"))
        expect(warnings).toHaveLength(1)
        expect(warnings[0]).toMatch(
          /^WARN RedisRetryBudget k: Redis is unreachable \(not connected: \w+\); retries are decided by a local budget until it answers$/
        )
        expect(warnings[0]).not.toMatch(/Stream|writeable|enableOfflineQueue/)
      }), 10_000)
  }
)

describe("RedisRetryBudget closing with Redis down", () => {
  it.live(
    "a program that ends exits quickly: its client's reconnect and disconnect timers do not hold it",
    () =>
      Effect.gen(function*() {
        const tsx = pathToFileURL(createRequire(`${packageDir}package.json`).resolve("tsx")).href
        const fixture = fileURLToPath(new URL("./fixtures/redis-budget-exit.ts", import.meta.url))
        // a port nobody listens on: Redis is down for the whole program
        const port = yield* Effect.promise(() =>
          new Promise<number>((resolve) => {
            const s = net.createServer()
            s.listen(0, "127.0.0.1", () => {
              const p = (s.address() as net.AddressInfo).port
              s.close(() => resolve(p))
            })
          })
        )
        const { lingered, out } = yield* Effect.promise(() =>
          new Promise<{ lingered: number; out: string }>((resolve, reject) => {
            const child = spawn(process.execPath, ["--import", tsx, fixture, `redis://127.0.0.1:${port}`, "k"], {
              cwd: packageDir,
              stdio: ["ignore", "pipe", "inherit"],
              env: { ...process.env, TSX_TSCONFIG_PATH: `${packageDir}../../tsconfig.json` }
            })
            let out = ""
            let ended = 0
            child.stdout.on("data", (d) => {
              out += d
              if (ended === 0 && out.includes("ended")) ended = performance.now()
            })
            const kill = setTimeout(() => child.kill("SIGKILL"), 50_000) // tsx compiles first: slow on a busy machine
            child.on("close", (code) => {
              clearTimeout(kill)
              if (code === 0 && ended > 0) resolve({ lingered: performance.now() - ended, out })
              else reject(new Error(`child exited ${code}: ${out}`))
            })
          })
        )
        expect(lingered).toBeLessThan(1000)
        expect(out).toMatch(/ended 2/) // the run's retry was funded by the local budget
        expect(out).toMatch(/Redis is unreachable/)
      }),
    60_000
  )
})
