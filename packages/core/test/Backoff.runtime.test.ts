/**
 * Backoff: runtime configuration and maxTime traces.
 */
import { Backoff, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Config, ConfigProvider, Duration, Effect, Exit } from "effect"
import { failing, flaky } from "./backoff-helpers.js"
import { runFor, secs } from "./helpers.js"

describe("runtime configuration", () => {
  it.effect("maxTries as an Effect: read once per run, never at construction", () =>
    Effect.gen(function*() {
      let reads = 0
      let limit = 2
      const maxTries = Effect.sync(() => {
        reads++
        return limit
      })
      const counter = { calls: 0 }
      const policy = Backoff.onException({ wait: Wait.constant(), jitter: null, maxTries })
      const retried = policy(failing(["e"], counter))
      const fn = Backoff.onException(() => Effect.fail("f"), { wait: Wait.constant(), jitter: null, maxTries })
      expect(reads).toBe(0)
      fn() // building the run's Effect does not read either
      expect(reads).toBe(0)

      expect(yield* runFor(retried)).toEqual(Exit.fail("e"))
      expect(reads).toBe(1)
      expect(counter.calls).toBe(2)

      limit = 4
      counter.calls = 0
      expect(yield* runFor(retried)).toEqual(Exit.fail("e"))
      expect(reads).toBe(2)
      expect(counter.calls).toBe(4)
    }))

  it.effect("maxTries as a Config: read once per run through the current ConfigProvider", () =>
    Effect.gen(function*() {
      let reads = 0
      const maxTries = Config.integer("BACKOFF_MAX_TRIES").pipe(Config.map((n) => {
        reads++
        return n
      }))
      const counter = { calls: 0 }
      const retried = failing(["e"], counter).pipe(
        Backoff.onException({ wait: Wait.constant(), jitter: null, maxTries })
      )
      expect(reads).toBe(0)
      const run = (value: string) =>
        runFor(retried).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["BACKOFF_MAX_TRIES", value]]))))
      expect(yield* run("3")).toEqual(Exit.fail("e"))
      expect(counter.calls).toBe(3)
      expect(reads).toBe(1)
      counter.calls = 0
      expect(yield* run("5")).toEqual(Exit.fail("e"))
      expect(counter.calls).toBe(5)
      expect(reads).toBe(2)
    }))

  it.effect("maxTime as a Config and as an Effect, read once per run", () =>
    Effect.gen(function*() {
      let reads = 0
      const fromConfig = Config.duration("BACKOFF_MAX_TIME").pipe(Config.map((d) => {
        reads++
        return d
      }))
      const waits: Array<number> = []
      const retried = Effect.fail("e").pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTime: fromConfig,
        onBackoff: (d) => {
          waits.push(secs(d.wait))
        }
      }))
      expect(reads).toBe(0)
      yield* runFor(retried).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["BACKOFF_MAX_TIME", "3.5 seconds"]])))
      )
      expect(waits).toEqual([1, 1, 1, 0.5])
      expect(reads).toBe(1)

      let effectReads = 0
      const waits2: Array<number> = []
      const retried2 = Effect.fail("e").pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTime: Effect.sync(() => {
          effectReads++
          return "2 seconds" as const
        }),
        onBackoff: (d) => {
          waits2.push(secs(d.wait))
        }
      }))
      expect(effectReads).toBe(0)
      yield* runFor(retried2)
      yield* runFor(retried2)
      expect(effectReads).toBe(2)
      expect(waits2).toEqual([1, 1, 1, 1])
    }))

  it.effect("wait as an Effect producing a strategy: read once per run, each run with fresh state", () =>
    Effect.gen(function*() {
      let reads = 0
      const wait = Effect.sync(() => {
        reads++
        return Wait.constant({ interval: ["1 second", "2 seconds"] })
      })
      const waits: Array<number> = []
      const retried = Effect.fail("e").pipe(Backoff.onException({
        wait,
        jitter: null,
        onBackoff: (d) => {
          waits.push(secs(d.wait))
        }
      }))
      expect(reads).toBe(0)
      yield* runFor(retried)
      yield* runFor(retried)
      expect(reads).toBe(2)
      expect(waits).toEqual([1, 2, 1, 2])
    }))

  it.effect("reading runtime options does not count towards maxTime", () =>
    Effect.gen(function*() {
      const waits: Array<number> = []
      const giveups: Array<{ tries: number; elapsed: number }> = []
      const retried = Effect.fail("e").pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTime: Effect.as(Effect.sleep("5 seconds"), "2 seconds"),
        onBackoff: (d) => {
          waits.push(secs(d.wait))
        },
        onGiveup: (d) => {
          giveups.push({ tries: d.tries, elapsed: secs(d.elapsed) })
        }
      }))
      yield* runFor(retried)
      expect(waits).toEqual([1, 1])
      expect(giveups).toEqual([{ tries: 3, elapsed: 2 }])
    }))
})

describe("maxTime traces (jitter: null)", () => {
  const trace = (
    options: { wait: Wait.Wait<unknown>; maxTime: Duration.DurationInput },
    callTime?: Duration.DurationInput
  ) =>
    Effect.gen(function*() {
      const waits: Array<number> = []
      const giveups: Array<{ tries: number; elapsed: number }> = []
      let calls = 0
      const call = Effect.suspend(() => {
        calls++
        return callTime === undefined ? Effect.fail("e") : Effect.zipRight(Effect.sleep(callTime), Effect.fail("e"))
      })
      const retried = call.pipe(Backoff.onException({
        ...options,
        jitter: null,
        onBackoff: (d) => {
          waits.push(secs(d.wait))
        },
        onGiveup: (d) => {
          giveups.push({ tries: d.tries, elapsed: secs(d.elapsed) })
        }
      }))
      const start = yield* Clock.currentTimeMillis
      const exit = yield* runFor(retried)
      expect(exit).toEqual(Exit.fail("e"))
      return { waits, giveups, calls, start }
    })

  it.effect("constant 1s, maxTime 3.5s: waits 1,1,1,0.5, giveup at tries 5 after 3.5s", () =>
    Effect.gen(function*() {
      const r = yield* trace({ wait: Wait.constant(), maxTime: "3.5 seconds" })
      expect(r.waits).toEqual([1, 1, 1, 0.5])
      expect(r.giveups).toEqual([{ tries: 5, elapsed: 3.5 }])
      expect(r.calls).toBe(5)
    }))

  it.effect("expo, maxTime 10s: waits 1,2,4,3, giveup at tries 5", () =>
    Effect.gen(function*() {
      const r = yield* trace({ wait: Wait.expo(), maxTime: "10 seconds" })
      expect(r.waits).toEqual([1, 2, 4, 3])
      expect(r.giveups).toEqual([{ tries: 5, elapsed: 10 }])
    }))

  it.effect("expo maxValue 3s, maxTime 20s: waits 1,2,3,3,3,3,3,2, giveup at tries 9", () =>
    Effect.gen(function*() {
      const r = yield* trace({ wait: Wait.expo({ maxValue: "3 seconds" }), maxTime: "20 seconds" })
      expect(r.waits).toEqual([1, 2, 3, 3, 3, 3, 3, 2])
      expect(r.giveups).toEqual([{ tries: 9, elapsed: 20 }])
    }))

  it.effect("a first call taking 5s with maxTime 2s: giveup after the first call", () =>
    Effect.gen(function*() {
      const r = yield* trace({ wait: Wait.constant(), maxTime: "2 seconds" }, "5 seconds")
      expect(r.waits).toEqual([])
      expect(r.calls).toBe(1)
      expect(r.giveups).toEqual([{ tries: 1, elapsed: 5 }])
    }))

  it.effect("calls that take time count: 400ms calls, constant 1s, maxTime 3s", () =>
    Effect.gen(function*() {
      // call 1: 0-0.4, wait 1 → call 2: 1.4-1.8, wait 1 → call 3: 2.8-3.2 → giveup (elapsed 3.2 >= 3)
      const r = yield* trace({ wait: Wait.constant(), maxTime: "3 seconds" }, "400 millis")
      expect(r.waits).toEqual([1, 1])
      expect(r.giveups.map((g) => g.tries)).toEqual([3])
      expect(r.giveups[0]!.elapsed).toBeCloseTo(3.2, 9)
    }))

  it.effect("after a sleep that lands exactly on maxTime, one more attempt runs (and may succeed)", () =>
    Effect.gen(function*() {
      let calls = 0
      const waits: Array<number> = []
      const retried = Effect.suspend(() => ++calls < 3 ? Effect.fail("e") : Effect.succeed("ok")).pipe(
        Backoff.onException({
          wait: Wait.constant(),
          jitter: null,
          maxTime: "2 seconds",
          onBackoff: (d) => {
            waits.push(secs(d.wait))
          }
        })
      )
      expect(yield* runFor(retried)).toEqual(Exit.succeed("ok"))
      expect(waits).toEqual([1, 1])
      expect(calls).toBe(3)
    }))

  it.effect("a clamped sleep that rounds to zero nanoseconds still ends the run (no endless zero sleeps)", () =>
    Effect.gen(function*() {
      // 0.4 ns of budget are left after the first 1s wait: a Duration rounds that sleep to 0
      const waits: Array<number> = []
      const giveups: Array<number> = []
      let calls = 0
      const retried = Effect.suspend(() => {
        calls++
        return Effect.fail("e")
      }).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTime: 1000.0000004,
        maxTries: 50, // a safety net: without the rule the run would spin on zero sleeps
        onBackoff: (d) => {
          waits.push(Duration.toMillis(d.wait))
        },
        onGiveup: (d) => {
          giveups.push(d.tries)
        }
      }))
      expect(yield* runFor(retried)).toEqual(Exit.fail("e"))
      expect(calls).toBe(3)
      expect(giveups).toEqual([3])
      expect(waits).toHaveLength(2)
      expect(waits[0]).toBe(1000)
    }))

  it.effect("maxTime 0: the first failure gives up", () =>
    Effect.gen(function*() {
      let calls = 0
      const retried = Effect.suspend(() => {
        calls++
        return Effect.fail("e")
      }).pipe(Backoff.onException({ wait: Wait.constant(), jitter: null, maxTime: 0 }))
      expect(yield* Effect.exit(retried)).toEqual(Exit.fail("e"))
      expect(calls).toBe(1)
    }))

  it.effect("maxTries: Infinity means unlimited", () =>
    Effect.gen(function*() {
      const counter = { calls: 0 }
      const retried = flaky(50, "e", "ok", counter).pipe(
        Backoff.onException({ wait: Wait.constant({ interval: "1 millis" }), jitter: null, maxTries: Infinity })
      )
      expect(yield* runFor(retried)).toEqual(Exit.succeed("ok"))
      expect(counter.calls).toBe(51)
    }))
})
