import type { RetryBudget } from "@effect-backoff/core"
import { Backoff, InvalidOptionError, Wait } from "@effect-backoff/core"
import { RedisRetryBudget } from "@effect-backoff/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Logger, Metric, Scope, TestClock } from "effect"
import { Redis } from "ioredis"
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { packageDir } from "./helpers.js"
import type { RedisServer } from "./redis-server.js"
import { redisBinary, skipReason, startRedis } from "./redis-server.js"

const available = redisBinary !== undefined
const underCI = process.env.CI === "true"

if (!available) {
  describe("RedisRetryBudget without a server binary", () => {
    if (underCI) {
      it("under CI the Redis tests must run: redis-server is required", () => {
        throw new Error(`RedisRetryBudget tests cannot run under CI: ${skipReason}`)
      })
    } else {
      it.skip(`RedisRetryBudget against a real server skipped: ${skipReason}`, () => {})
    }
  })
}

describe("RedisRetryBudget options", () => {
  it.each([
    [{ key: "k" }, "redis"],
    [{ redis: "redis://127.0.0.1:1", key: "" }, "key"],
    [{ redis: "redis://127.0.0.1:1", key: "k", timeout: -1 }, "timeout"],
    [{ redis: "redis://127.0.0.1:1", key: "k", percentCanRetry: -1 }, "percentCanRetry"],
    [{ redis: "redis://127.0.0.1:1", key: "k", ttl: "0 seconds" }, "ttl"],
    [{ redis: "redis://127.0.0.1:1", key: "k", tll: "1 second" }, "tll"]
  ])("%o is an InvalidOptionError naming %s", (options, option) => {
    let error: unknown
    try {
      RedisRetryBudget.layer(options as any)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect((error as InvalidOptionError).option).toBe(option)
  })
})

let keys = 0
const freshKey = () => `test:budget:${process.pid}:${++keys}`

describe.skipIf(!available)(
  `RedisRetryBudget against a real redis-server${available ? "" : ` (skipped: ${skipReason})`}`,
  () => {
    let server: RedisServer
    beforeAll(async () => {
      server = await startRedis()
    }, 10_000)
    afterAll(async () => {
      await server?.stop()
    })

    /** A Redis budget (on whatever Clock the test runs), with its scope. */
    const budgetOf = (options: Omit<RedisRetryBudget.Options, "redis" | "key">, key = freshKey()) =>
      RedisRetryBudget.make({ redis: server.url, key, ...options })

    const drain = (budget: RetryBudget.RetryBudget, max = 1000) =>
      Effect.gen(function*() {
        let n = 0
        while (n < max && (yield* budget.tryWithdraw)) n++
        return n
      })

    // time comes from the Effect Clock, so the TestClock drives the script's buckets too
    it.scoped("the same arithmetic: 10 runs at 0.1 fund exactly one retry", () =>
      Effect.gen(function*() {
        const budget = yield* budgetOf({ percentCanRetry: 0.1, minRetriesPerSecond: 0 })
        for (let i = 0; i < 9; i++) yield* budget.deposit
        expect(yield* budget.tryWithdraw).toBe(false)
        yield* budget.deposit
        expect(yield* budget.tryWithdraw).toBe(true)
        expect(yield* budget.tryWithdraw).toBe(false)
      }))

    // time is the server's (TIME in the script): a window of real time, whatever the client's clock
    it.live(
      "deposits expire after ttl; the reserve is always there; withdrawals expire with the window",
      () =>
        Effect.scoped(Effect.gen(function*() {
          const budget = yield* budgetOf({ percentCanRetry: 1, ttl: "1 second", minRetriesPerSecond: 2 })
          for (let i = 0; i < 3; i++) yield* budget.deposit
          expect(yield* drain(budget)).toBe(3 + 2)
          yield* Effect.sleep("300 millis")
          expect(yield* budget.tryWithdraw).toBe(false) // withdrawals count for at least ttl
          yield* Effect.sleep("850 millis")
          expect(yield* drain(budget)).toBe(2) // deposits gone, the reserve back

          const late = yield* budgetOf({ percentCanRetry: 1, ttl: "1 second", minRetriesPerSecond: 0 })
          yield* late.deposit
          yield* late.deposit
          yield* Effect.sleep("700 millis")
          expect(yield* late.tryWithdraw).toBe(true) // within ttl
          yield* Effect.sleep("450 millis")
          yield* late.deposit
          yield* late.deposit
          expect(yield* drain(late)).toBe(1) // the first two expired, the withdrawal has not
        })),
      10_000
    )

    it.scoped(
      "the client's clock does not move the window: a clock minutes ahead sees the same budget",
      () =>
        Effect.gen(function*() {
          const budget = yield* budgetOf({ percentCanRetry: 0.5, minRetriesPerSecond: 0 })
          for (let i = 0; i < 10; i++) yield* budget.deposit
          expect(yield* budget.tryWithdraw).toBe(true) // sends the runs: 5 tokens, 1 taken
          yield* TestClock.adjust("30 seconds") // 3 ttls on this client's clock, none on the server's
          expect(yield* drain(budget)).toBe(4)
        }),
      10_000
    )

    it.scoped("two budgets on one key are one budget; another key is another", () =>
      Effect.gen(function*() {
        const key = freshKey()
        const a = yield* budgetOf({ percentCanRetry: 0.5, minRetriesPerSecond: 0 }, key)
        const b = yield* budgetOf({ percentCanRetry: 0.5, minRetriesPerSecond: 0 }, key)
        const c = yield* budgetOf({ percentCanRetry: 0.5, minRetriesPerSecond: 0 })
        for (let i = 0; i < 4; i++) yield* a.deposit
        expect(yield* b.tryWithdraw).toBe(false) // a's runs are counted in a, not yet sent
        expect(yield* a.tryWithdraw).toBe(true) // sent with a's withdrawal: 2 tokens, 1 taken
        expect(yield* b.tryWithdraw).toBe(true) // the one left, seen from b
        expect(yield* a.tryWithdraw).toBe(false)
        expect(yield* b.tryWithdraw).toBe(false)
        yield* c.deposit
        yield* c.deposit
        expect(yield* drain(c)).toBe(1)
      }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger))))

    it.live("two processes sharing one key are bounded as one", () =>
      Effect.gen(function*() {
        const key = freshKey()
        const tsx = pathToFileURL(createRequire(`${packageDir}package.json`).resolve("tsx")).href
        const child = fileURLToPath(new URL("./fixtures/redis-budget-child.ts", import.meta.url))
        const start = () => {
          const p = spawn(process.execPath, ["--import", tsx, child, server.url, key, "100", "50"], {
            cwd: packageDir,
            stdio: ["pipe", "pipe", "inherit"],
            env: { ...process.env, TSX_TSCONFIG_PATH: `${packageDir}../../tsconfig.json` }
          })
          let out = ""
          const ready = new Promise<void>((resolve) =>
            p.stdout.on("data", (d) => {
              out += d
              if (out.includes("ready")) resolve()
            })
          )
          const done = new Promise<number>((resolve, reject) =>
            p.on("close", (code) => {
              const m = /granted (\d+)/.exec(out)
              if (code === 0 && m !== null) resolve(Number(m[1]))
              else reject(new Error(`child exited ${code}: ${out}`))
            })
          )
          return { p, ready, done }
        }
        const children = [start(), start()]
        yield* Effect.promise(() => Promise.all(children.map((c) => c.ready)))
        for (const c of children) c.p.stdin.end("go\n")
        const granted = yield* Effect.promise(() => Promise.all(children.map((c) => c.done)))
        // 200 runs at 0.1, no reserve: 20 retries for the pair, not 10 each on top of each other's
        expect(granted[0]! + granted[1]!).toBe(20)
      }), 60_000) // two tsx processes: slow to start on a busy machine

    it.live(
      "Redis killed mid-run: calls go on with a local budget (logged once, counted), then back to Redis",
      () =>
        Effect.gen(function*() {
          const key = freshKey()
          const lines: Array<{ message: string; level: string }> = []
          const logger = Logger.replace(
            Logger.defaultLogger,
            Logger.make(({ logLevel, message }) => {
              lines.push({
                level: logLevel.label,
                message: Array.isArray(message) ? message.join(" ") : String(message)
              })
            })
          )
          const before = (yield* Metric.value(RedisRetryBudget.metrics.fallbacks)).count
          const scope = yield* Scope.make()
          const budget = yield* RedisRetryBudget.make({
            redis: server.url,
            key,
            percentCanRetry: 1,
            minRetriesPerSecond: 0,
            timeout: "100 millis"
          }).pipe(Scope.extend(scope), Effect.provide(logger))
          let calls = 0
          const policy = Backoff.onException({
            wait: Wait.constant({ interval: 0 }),
            maxTries: 3,
            logger: false,
            budget
          })
          const run = policy(Effect.suspend(() => ++calls % 2 === 1 ? Effect.fail("flaky") : Effect.succeed(calls)))
          const results: Array<Exit.Exit<number, string>> = []
          const some = (n: number) =>
            Effect.gen(function*() {
              for (let i = 0; i < n; i++) results.push(yield* Effect.exit(run))
            }).pipe(Effect.provide(logger))

          yield* some(10)
          const redis = new Redis(server.url, { lazyConnect: true })
          yield* Effect.promise(() => redis.connect())
          const withdrawnBefore = Number(yield* Effect.promise(() => redis.hget(key, "ws")))
          expect(withdrawnBefore).toBeGreaterThan(0) // the retries used the shared budget
          redis.disconnect()

          yield* Effect.promise(() => server.stop())
          const t0 = Date.now()
          yield* some(20)
          expect(Date.now() - t0).toBeLessThan(2000) // never stuck on the store
          expect(results.every(Exit.isSuccess)).toBe(true) // a token per run: each run's one retry is funded
          expect((yield* Metric.value(RedisRetryBudget.metrics.fallbacks)).count - before).toBe(1)
          expect(lines.filter((l) => l.level === "WARN").length).toBe(1)
          const warning = lines.find((l) => l.level === "WARN")!.message
          // in our words, not the client library's ("Stream isn't writeable ...")
          expect(warning).toMatch(/Redis is unreachable \(.+\); retries are decided by a local budget until it answers/)
          expect(warning).not.toMatch(/Stream|enableOfflineQueue/)

          yield* Effect.promise(() => server.start())
          // the flush fiber asks again at least every 100 ms; ioredis reconnects within ~1 s
          let back = false
          for (let i = 0; i < 100 && !back; i++) {
            yield* Effect.sleep("50 millis")
            back = lines.some((l) => l.message.includes("answers again"))
          }
          expect(back).toBe(true)
          yield* some(10)
          const again = new Redis(server.url, { lazyConnect: true })
          yield* Effect.promise(() => again.connect())
          expect(Number(yield* Effect.promise(() => again.hget(key, "ws")))).toBeGreaterThan(0) // retries on Redis again
          again.disconnect()
          expect(lines.filter((l) => l.level === "WARN").length).toBe(1)

          const handles = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length
          const open = handles()
          yield* Scope.close(scope, Exit.void)
          yield* Effect.sleep("50 millis")
          expect(handles()).toBeLessThan(open) // the layer's own client is closed
        }),
      30_000
    )

    it.live("a client given by the caller is used as is and left open", () =>
      Effect.gen(function*() {
        const redis = new Redis(server.url)
        const key = freshKey()
        yield* Effect.scoped(Effect.gen(function*() {
          const budget = yield* RedisRetryBudget.make({ redis, key, percentCanRetry: 1, minRetriesPerSecond: 0 })
          yield* budget.deposit
          expect(yield* budget.tryWithdraw).toBe(true)
          expect(yield* budget.tryWithdraw).toBe(false)
        }))
        expect(redis.status).toBe("ready")
        expect(
          yield* Effect.promise(() => redis.ping())
        ).toBe("PONG")
        // the script is loaded once; after SCRIPT FLUSH the budget falls back to EVAL
        yield* Effect.promise(() => redis.script("FLUSH"))
        yield* Effect.scoped(Effect.gen(function*() {
          const budget = yield* RedisRetryBudget.make({
            redis,
            key: freshKey(),
            percentCanRetry: 1,
            minRetriesPerSecond: 0
          })
          yield* budget.deposit
          expect(yield* budget.tryWithdraw).toBe(true)
        }))
        redis.disconnect()
      }), 10_000)

    it.live("deposits are flushed without any withdrawal, at least every 100 ms", () =>
      Effect.gen(function*() {
        const key = freshKey()
        const redis = new Redis(server.url)
        yield* Effect.scoped(Effect.gen(function*() {
          const budget = yield* RedisRetryBudget.make({
            redis: server.url,
            key,
            percentCanRetry: 0.5,
            minRetriesPerSecond: 0
          })
          for (let i = 0; i < 10; i++) yield* budget.deposit
          yield* Effect.sleep("150 millis")
          expect(Number(yield* Effect.promise(() => redis.hget(key, "ds")))).toBe(10 * 500_000)
        }))
        redis.disconnect()
      }), 10_000)
  }
)
