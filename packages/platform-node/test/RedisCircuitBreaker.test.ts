import { InvalidOptionError } from "@effect-backoff/core"
import { RedisCircuitBreaker } from "@effect-backoff/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Logger, Scope } from "effect"
import { Redis } from "ioredis"
import type { ChildProcessWithoutNullStreams } from "node:child_process"
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { packageDir } from "./helpers.js"
import type { RedisServer } from "./redis-server.js"
import { redisBinary, skipReason, startRedis } from "./redis-server.js"

const available = redisBinary !== undefined

describe("RedisCircuitBreaker options", () => {
  it.each([
    [{ key: "k" }, "redis"],
    [{ redis: "redis://127.0.0.1:1", key: "" }, "key"],
    [{ redis: "redis://127.0.0.1:1", key: "k", quorum: 0 }, "quorum"],
    [{ redis: "redis://127.0.0.1:1", key: "k", quorum: 1.5 }, "quorum"],
    [{ redis: "redis://127.0.0.1:1", key: "k", syncInterval: -1 }, "syncInterval"],
    [{ redis: "redis://127.0.0.1:1", key: "k", timeout: "soon" }, "timeout"],
    [{ redis: "redis://127.0.0.1:1", key: "k", probes: 0 }, "probes"],
    [{ redis: "redis://127.0.0.1:1", key: "k", clientId: "" }, "clientId"],
    [{ redis: "redis://127.0.0.1:1", key: "k", qourum: 2 }, "qourum"]
  ])("%o is an InvalidOptionError naming %s", (options, option) => {
    let error: unknown
    try {
      RedisCircuitBreaker.layer(options as any)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect((error as InvalidOptionError).option).toContain(option)
  })
})

let keys = 0
const freshKey = () => `test:breaker:${process.pid}:${++keys}`

const tsx = pathToFileURL(createRequire(`${packageDir}package.json`).resolve("tsx")).href
const fixture = fileURLToPath(new URL("./fixtures/redis-breaker-child.ts", import.meta.url))

/** A child process with one shared breaker, driven line by line (see the fixture). */
const child = (url: string, key: string, options: Record<string, unknown>) => {
  const p: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ["--import", tsx, fixture, url, key, JSON.stringify(options)],
    {
      cwd: packageDir,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, TSX_TSCONFIG_PATH: `${packageDir}../../tsconfig.json` }
    }
  )
  let buffer = ""
  const waiting: Array<(line: string) => void> = []
  const lines: Array<string> = []
  p.stdout.on("data", (d) => {
    buffer += d
    let i: number
    while ((i = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, i)
      buffer = buffer.slice(i + 1)
      if (line.startsWith("timestamp=")) continue // the breaker's own log lines
      const w = waiting.shift()
      if (w !== undefined) w(line)
      else lines.push(line)
    }
  })
  let stderr = ""
  p.stderr.on("data", (d) => stderr += d)
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const l = lines.shift()
      if (l !== undefined) return resolve(l)
      const timer = setTimeout(
        () => reject(new Error(`no answer from the child (had: ${JSON.stringify(lines)}): ${stderr}`)),
        60_000
      )
      waiting.push((line) => {
        clearTimeout(timer)
        resolve(line)
      })
    })
  const exited = new Promise<number | null>((resolve) => p.on("exit", (code) => resolve(code)))
  return {
    ready: next(),
    ask: (command: string) => {
      p.stdin.write(`${command}\n`)
      return next()
    },
    exited,
    kill: () => p.kill("SIGKILL")
  }
}

/** Asks until the answer is `expected` (at most 3 s); the last answer. */
const askUntil = (c: ReturnType<typeof child>, command: string, expected: string) =>
  Effect.gen(function*() {
    let answer = ""
    for (let i = 0; i < 150 && answer !== expected; i++) {
      if (i > 0) yield* sleep(20)
      answer = yield* Effect.promise(() => c.ask(command))
    }
    return answer
  })

const sleep = (ms: number) => Effect.promise(() => new Promise((r) => setTimeout(r, ms)))

/** Waits (at most 3 s) until `check` holds. */
const eventually = (check: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 150; i++) {
      if (yield* check) return
      yield* sleep(20)
    }
  })

/** Waits (at most 3 s) until the breakers decide from Redis. */
const connected = (...breakers: ReadonlyArray<RedisCircuitBreaker.RedisCircuitBreaker>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 150; i++) {
      let all = true
      for (const b of breakers) if ((yield* b.store) !== "redis") all = false
      if (all) return
      yield* sleep(20)
    }
    throw new Error("the breakers never reached Redis")
  })

/** Log lines, for the fallback's warning. */
const capture = () => {
  const lines: Array<string> = []
  const logger = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => {
      lines.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
  )
  return { lines, logger }
}

describe.skipIf(!available)(
  `RedisCircuitBreaker against a real redis-server${available ? "" : ` (skipped: ${skipReason})`}`,
  () => {
    let server: RedisServer
    let admin: Redis
    beforeAll(async () => {
      server = await startRedis()
      admin = new Redis(server.port, "127.0.0.1")
    }, 10_000)
    afterAll(async () => {
      admin?.disconnect()
      await server?.stop()
    })

    const fast = { syncInterval: "20 millis", halfOpenAfter: "10 seconds" }

    it.live("two processes share one breaker: one opens it, the other rejects", () =>
      Effect.gen(function*() {
        const key = freshKey()
        const [a, b] = [child(server.url, key, fast), child(server.url, key, fast)]
        try {
          yield* Effect.promise(() => Promise.all([a.ready, b.ready]))
          expect(yield* Effect.promise(() => b.ask("state"))).toBe("state closed redis")
          expect(yield* Effect.promise(() => a.ask("fail 5"))).toBe("failed 5 0")
          expect(yield* Effect.promise(() => a.ask("ok 1"))).toBe("ok 0 1") // a opened it itself at once
          yield* askUntil(b, "state", "state open redis")
          expect(yield* Effect.promise(() => b.ask("ok 3"))).toBe("ok 0 3")
          expect(yield* Effect.promise(() => a.ask("quit"))).toBe("closed")
          expect(yield* Effect.promise(() => b.ask("quit"))).toBe("closed")
          // nothing keeps them alive once the scope closed
          expect(yield* Effect.promise(() => Promise.all([a.exited, b.exited]))).toEqual([0, 0])
        } finally {
          a.kill()
          b.kill()
        }
      }), 120_000)

    it.live(
      "fleet-wide probes: of 4 processes asking at once when it half-opens, 1 probes",
      () =>
        Effect.gen(function*() {
          const key = freshKey()
          const options = { syncInterval: "20 millis", halfOpenAfter: "300 millis", probeTimeout: "2 seconds" }
          const fleet = [0, 1, 2, 3].map(() => child(server.url, key, options))
          try {
            yield* Effect.promise(() => Promise.all(fleet.map((c) => c.ready)))
            expect(yield* Effect.promise(() => fleet[0]!.ask("fail 5"))).toBe("failed 5 0")
            yield* sleep(500) // everyone saw it open, and its wait is over
            const answers = yield* Effect.promise(() => Promise.all(fleet.map((c) => c.ask("probe 300"))))
            expect(answers.filter((a) => a === "probe admitted")).toHaveLength(1)
            // the probe succeeded: closed for everyone
            for (const c of fleet) yield* askUntil(c, "state", "state closed redis")
            for (const c of fleet) expect(yield* Effect.promise(() => c.ask("state"))).toBe("state closed redis")
            for (const c of fleet) expect(yield* Effect.promise(() => c.ask("quit"))).toBe("closed")
          } finally {
            for (const c of fleet) c.kill()
          }
        }),
      120_000
    )

    it.live("quorum 2: one client failing alone does not open it; a second one does", () =>
      Effect.gen(function*() {
        const key = freshKey()
        const options = {
          redis: server.url,
          key,
          quorum: 2,
          syncInterval: "20 millis",
          halfOpenAfter: "10 seconds"
        } as const
        const a = yield* RedisCircuitBreaker.make({ ...options, clientId: "a" })
        const b = yield* RedisCircuitBreaker.make({ ...options, clientId: "b" })
        yield* connected(a, b)
        for (let i = 0; i < 20; i++) yield* Effect.either(a.execute(Effect.fail("down")))
        // a's failures are on the server, and b has read them since
        yield* eventually(
          Effect.map(Effect.promise(() => admin.get(key)), (t) => t !== null && t.includes("\"window\":20"))
        )
        yield* sleep(150)
        expect(yield* a.state).toBe("closed")
        expect(yield* b.state).toBe("closed")
        yield* Effect.either(b.execute(Effect.fail("down")))
        expect(yield* b.state).toBe("open")
        yield* eventually(Effect.map(a.state, (s) => s === "open"))
        expect(yield* a.state).toBe("open")
        const stored = JSON.parse((yield* Effect.promise(() => admin.get(key)))!.split("|")[1]!)
        expect(stored.name).toBe("open")
      }).pipe(Effect.scoped), 20_000)

    it.live("without a quorum one client opens it for all", () =>
      Effect.gen(function*() {
        const key = freshKey()
        const options = { redis: server.url, key, syncInterval: "20 millis", halfOpenAfter: "10 seconds" } as const
        const a = yield* RedisCircuitBreaker.make({ ...options, clientId: "a" })
        const b = yield* RedisCircuitBreaker.make({ ...options, clientId: "b" })
        yield* connected(a, b)
        for (let i = 0; i < 5; i++) yield* Effect.either(a.execute(Effect.fail("down")))
        yield* eventually(Effect.map(b.state, (s) => s === "open"))
        expect(yield* b.state).toBe("open")
      }).pipe(Effect.scoped), 20_000)

    it.live(
      "Redis stalled (CLIENT PAUSE): calls are not delayed, one command in flight, nothing counted twice",
      () =>
        Effect.gen(function*() {
          const key = freshKey()
          const { lines, logger } = capture()
          const breaker = yield* RedisCircuitBreaker.make({
            redis: server.url,
            key,
            syncInterval: "20 millis",
            timeout: "50 millis",
            policy: undefined,
            halfOpenAfter: "10 seconds"
          }).pipe(Effect.provide(logger))
          yield* connected(breaker)
          const before = yield* Effect.promise(() => admin.info("commandstats"))
          const calls = (s: string) => Number(/cmdstat_evalsha:calls=(\d+)/.exec(s)?.[1] ?? 0)
          for (let i = 0; i < 3; i++) yield* Effect.either(breaker.execute(Effect.fail("down")))
          yield* Effect.promise(() => admin.call("CLIENT", "PAUSE", "1500", "ALL"))
          const started = performance.now()
          for (let i = 0; i < 50; i++) yield* breaker.execute(Effect.void)
          // not one call waited for the stalled server (machine load aside, a call is micro-seconds)
          expect(performance.now() - started).toBeLessThan(1000)
          yield* eventually(Effect.map(breaker.store, (s) => s === "local"))
          expect(yield* breaker.store).toBe("local")
          expect(lines.filter((l) => l.includes("Redis is unreachable"))).toHaveLength(1)
          // answered once the pause is over, after what was sent during it
          const after = yield* Effect.promise(() => admin.info("commandstats"))
          // 20 ms ticks over 1.5 s would be 75 commands; one in flight at a time sends one or two
          expect(calls(after) - calls(before)).toBeLessThanOrEqual(4)
          yield* eventually(Effect.map(breaker.store, (s) => s === "redis"))
          expect(yield* breaker.store).toBe("redis")
          yield* sleep(100)
          const stored = JSON.parse((yield* Effect.promise(() => admin.get(key)))!.split("|")[1]!)
          // the three failures were counted once, then the successes cleared the count
          expect(stored.name).toBe("closed")
          expect(stored.window).toBe(0)
          expect(lines.filter((l) => l.includes("Redis is unreachable"))).toHaveLength(1)
        }).pipe(Effect.scoped),
      20_000
    )

    it.live("a failure batch sent before a stall counts once", () =>
      Effect.gen(function*() {
        const key = freshKey()
        const breaker = yield* RedisCircuitBreaker.make({
          redis: server.url,
          key,
          syncInterval: "20 millis",
          timeout: "30 millis",
          policy: undefined,
          halfOpenAfter: "10 seconds"
        }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger)))
        yield* connected(breaker)
        yield* Effect.promise(() => admin.call("CLIENT", "PAUSE", "400", "WRITE"))
        for (let i = 0; i < 3; i++) yield* Effect.either(breaker.execute(Effect.fail("down")))
        yield* sleep(700)
        const stored = JSON.parse((yield* Effect.promise(() => admin.get(key)))!.split("|")[1]!)
        expect(stored.window).toBe(3)
      }).pipe(Effect.scoped), 20_000)

    it.live("the key holding a wrong type: calls go on locally, said once", () =>
      Effect.gen(function*() {
        const key = freshKey()
        yield* Effect.promise(() => admin.hset(key, "f", "v"))
        const { lines, logger } = capture()
        const breaker = yield* RedisCircuitBreaker.make({ redis: server.url, key, syncInterval: "20 millis" }).pipe(
          Effect.provide(logger)
        )
        expect(yield* breaker.execute(Effect.succeed(1))).toBe(1)
        for (let i = 0; i < 100 && (yield* breaker.store) === "redis"; i++) yield* sleep(20)
        yield* sleep(100)
        expect(yield* breaker.store).toBe("local")
        for (let i = 0; i < 5; i++) yield* Effect.either(breaker.execute(Effect.fail("down")))
        expect(yield* breaker.state).toBe("open") // the local breaker, same options
        const warned = lines.filter((l) => l.includes("Redis is unreachable"))
        expect(warned).toHaveLength(1)
        expect(warned[0]).toContain("WRONGTYPE")
      }).pipe(Effect.scoped), 20_000)

    it.live("a caller's client that is reconnecting: nothing waits in its offline queue", () =>
      Effect.gen(function*() {
        const client = new Redis({ port: 1, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => 50 })
        client.on("error", () => {})
        client.connect().catch(() => undefined)
        const breaker = yield* RedisCircuitBreaker.make({ redis: client, key: freshKey(), syncInterval: "10 millis" })
          .pipe(Effect.provide(Logger.remove(Logger.defaultLogger)))
        yield* sleep(300)
        expect(yield* breaker.execute(Effect.succeed(1))).toBe(1)
        expect(yield* breaker.store).toBe("local")
        expect((client as unknown as { offlineQueue: { length: number } }).offlineQueue.length).toBe(0)
        client.disconnect()
      }).pipe(Effect.scoped), 20_000)

    it.live(
      "no open handle: with Redis down, the process exits by itself once the scope closes",
      () =>
        Effect.gen(function*() {
          const c = child("redis://127.0.0.1:1", freshKey(), { syncInterval: "20 millis" })
          try {
            expect(yield* Effect.promise(() => c.ready)).toBe("ready")
            expect(yield* Effect.promise(() => c.ask("ok 3"))).toBe("ok 3 0")
            // the store is "local" once a sync has failed: a busy machine may need a few intervals
            let state = ""
            for (let i = 0; i < 100 && state !== "state closed local"; i++) {
              state = yield* Effect.promise(() => c.ask("state"))
              if (state !== "state closed local") yield* sleep(20)
            }
            expect(state).toBe("state closed local")
            const asked = performance.now()
            expect(yield* Effect.promise(() => c.ask("quit"))).toBe("closed")
            expect(yield* Effect.promise(() => c.exited)).toBe(0)
            // a reconnect timer or a socket left would keep it alive for as long as Redis is down
            expect(performance.now() - asked).toBeLessThan(5000)
          } finally {
            c.kill()
          }
        }),
      120_000
    )
  }
)

describe.skipIf(!available)("RedisCircuitBreaker with Redis killed and restarted", () => {
  it.live("calls go on locally (said once), then the shared state again", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => startRedis()), (s) =>
        Effect.promise(() => s.stop()))
      const key = freshKey()
      const { lines, logger } = capture()
      const options = {
        redis: server.url,
        key,
        syncInterval: "20 millis",
        timeout: "50 millis",
        halfOpenAfter: "10 seconds"
      } as const
      const a = yield* RedisCircuitBreaker.make({ ...options, clientId: "a" }).pipe(Effect.provide(logger))
      const b = yield* RedisCircuitBreaker.make({ ...options, clientId: "b" }).pipe(
        Effect.provide(Logger.remove(Logger.defaultLogger))
      )
      yield* connected(a, b)
      yield* Effect.promise(() =>
        server.stop()
      )
      const started = performance.now()
      for (let i = 0; i < 20; i++) expect(yield* a.execute(Effect.succeed(i))).toBe(i)
      expect(performance.now() - started).toBeLessThan(1000)
      yield* eventually(Effect.map(a.store, (s) => s === "local"))
      expect(yield* a.store).toBe("local")
      expect(lines.filter((l) => l.includes("Redis is unreachable"))).toHaveLength(1)
      yield* Effect.promise(() => server.start())
      let back = false
      for (let i = 0; i < 60 && !back; i++) {
        yield* sleep(50)
        back = (yield* a.store) === "redis" && (yield* b.store) === "redis"
      }
      expect(back).toBe(true)
      expect(lines.filter((l) => l.includes("Redis is unreachable"))).toHaveLength(1)
      // shared again: a's failures open it for b
      for (let i = 0; i < 5; i++) yield* Effect.either(a.execute(Effect.fail("down")))
      yield* eventually(Effect.map(b.state, (s) => s === "open"))
      expect(yield* b.state).toBe("open")
    }).pipe(Effect.scoped), 30_000)

  it.live("the scope closing disconnects the client it made", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const breaker = yield* RedisCircuitBreaker.make({ redis: "redis://127.0.0.1:1", key: freshKey() }).pipe(
        Effect.provideService(Scope.Scope, scope),
        Effect.provide(Logger.remove(Logger.defaultLogger))
      )
      expect(yield* breaker.execute(Effect.succeed(1))).toBe(1)
      yield* Scope.close(scope, Exit.void)
    }), 5_000)
})
