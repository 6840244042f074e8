import { Backoff, InvalidOptionError, RetryBudget, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Data, Deferred, Effect, Exit, Fiber, TestClock } from "effect"

class Slow extends Data.TaggedError("Slow")<{ readonly copy: number }> {}
class Fatal extends Data.TaggedError("Fatal")<{ readonly copy: number }> {}

interface Trace {
  readonly starts: Array<number>
  readonly finalized: Array<number>
}

/**
 * A call whose n-th copy (0-based) takes `durations[n]` millis and then gives `outcomes[n]`
 * (default: success with its number); start times and finalizers are recorded.
 */
const scripted = (
  durations: ReadonlyArray<number>,
  outcomes: ReadonlyArray<"ok" | "slow" | "fatal"> = [],
  trace: Trace = { starts: [], finalized: [] }
) => {
  let n = 0
  const call = Effect.suspend(() => {
    const copy = n++
    return Effect.gen(function*() {
      trace.starts.push(yield* Clock.currentTimeMillis)
      yield* Effect.sleep(durations[Math.min(copy, durations.length - 1)]!)
      const outcome = outcomes[copy] ?? "ok"
      if (outcome === "slow") return yield* Effect.fail(new Slow({ copy }))
      if (outcome === "fatal") return yield* Effect.fail(new Fatal({ copy }))
      return copy
    }).pipe(Effect.onInterrupt(() => Effect.sync(() => trace.finalized.push(copy))))
  })
  return { call, trace, calls: () => n }
}

const settle = <A, E, R>(self: Effect.Effect<A, E, R>, steps: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.exit(self))
    for (const step of steps) yield* TestClock.adjust(step)
    return yield* Fiber.join(fiber)
  })

describe("Backoff.hedge", () => {
  it.effect("a call that finishes before the delay is never hedged", () =>
    Effect.gen(function*() {
      const s = scripted([50])
      const exit = yield* settle(s.call.pipe(Backoff.hedge({ delay: "100 millis" })), [1000])
      expect(exit).toStrictEqual(Exit.succeed(0))
      expect(s.calls()).toBe(1)
    }))

  it.effect("the second copy starts exactly at the delay; the first success wins and the loser is interrupted", () =>
    Effect.gen(function*() {
      const s = scripted([1000, 30])
      const fiber = yield* Effect.fork(s.call.pipe(Backoff.hedge({ delay: "100 millis" })))
      yield* TestClock.adjust(99)
      expect(s.trace.starts).toStrictEqual([0])
      yield* TestClock.adjust(1)
      expect(s.trace.starts).toStrictEqual([0, 100])
      yield* TestClock.adjust(30)
      const value = yield* Fiber.join(fiber)
      expect(value).toBe(1)
      // the loser's finalizer ran before hedge returned
      expect(s.trace.finalized).toStrictEqual([0])
      expect(yield* Clock.currentTimeMillis).toBe(130)
    }))

  it.effect("the primary may still win: then the hedge is interrupted", () =>
    Effect.gen(function*() {
      const s = scripted([150, 1000])
      const exit = yield* settle(s.call.pipe(Backoff.hedge({ delay: "100 millis" })), [100, 50])
      expect(exit).toStrictEqual(Exit.succeed(0))
      expect(s.trace.starts).toStrictEqual([0, 100])
      expect(s.trace.finalized).toStrictEqual([1])
    }))

  it.effect("maxAttempts copies in all, one per delay", () =>
    Effect.gen(function*() {
      const s = scripted([10_000])
      const fiber = yield* Effect.fork(s.call.pipe(Backoff.hedge({ delay: "100 millis", maxAttempts: 3 })))
      for (let i = 0; i < 10; i++) yield* TestClock.adjust(100)
      expect(s.trace.starts).toStrictEqual([0, 100, 200])
      yield* TestClock.adjust(10_000)
      expect(yield* Fiber.join(fiber)).toBe(0)
      expect([...s.trace.finalized].sort()).toStrictEqual([1, 2])
    }))

  it.effect("maxAttempts: 1 is the effect alone", () =>
    Effect.gen(function*() {
      const s = scripted([1000])
      const exit = yield* settle(s.call.pipe(Backoff.hedge({ delay: "1 millis", maxAttempts: 1 })), [1000])
      expect(exit).toStrictEqual(Exit.succeed(0))
      expect(s.calls()).toBe(1)
    }))

  it.effect("a failure while accepts starts the next copy at once; all failed gives the first copy's error", () =>
    Effect.gen(function*() {
      const s = scripted([30, 10, 500], ["slow", "slow", "slow"])
      const hedged = s.call.pipe(
        Backoff.hedge({ delay: "100 millis", maxAttempts: 3, while: (e) => e._tag === "Slow" })
      )
      const exit = yield* settle(hedged, [30, 10, 500])
      expect(exit).toStrictEqual(Exit.fail(new Slow({ copy: 0 })))
      expect(s.trace.starts).toStrictEqual([0, 30, 40])
    }))

  it.effect("when every copy failed the run waits for the ones still running", () =>
    Effect.gen(function*() {
      const s = scripted([300, 30], ["slow", "ok"])
      // copy 0 fails at 300, copy 1 (started at 100) succeeds at 130
      const exit = yield* settle(s.call.pipe(Backoff.hedge({ delay: "100 millis" })), [100, 30])
      expect(exit).toStrictEqual(Exit.succeed(1))
    }))

  it.effect("an error while rejects ends the run at once, the other copies interrupted", () =>
    Effect.gen(function*() {
      const s = scripted([1000, 50], ["ok", "fatal"])
      const hedged = s.call.pipe(Backoff.hedge({ delay: "100 millis", while: (e) => e._tag === "Slow" }))
      const exit = yield* settle(hedged, [100, 50])
      expect(exit).toStrictEqual(Exit.fail(new Fatal({ copy: 1 })))
      expect(s.trace.finalized).toStrictEqual([0])
    }))

  it.effect("a defect is never hedged around", () =>
    Effect.gen(function*() {
      let n = 0
      const call = Effect.suspend(() => n++ === 0 ? Effect.die("bug") : Effect.succeed("ok"))
      const exit = yield* settle(call.pipe(Backoff.hedge({ delay: "10 millis" })), [100])
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die").toBe(true)
      expect(n).toBe(1)
    }))

  it.effect("interrupting the hedge interrupts and awaits every copy", () =>
    Effect.gen(function*() {
      const s = scripted([10_000])
      const fiber = yield* Effect.fork(s.call.pipe(Backoff.hedge({ delay: "100 millis", maxAttempts: 3 })))
      yield* TestClock.adjust(250)
      yield* Fiber.interrupt(fiber)
      expect([...s.trace.finalized].sort()).toStrictEqual([0, 1, 2])
    }))

  it.effect("each extra copy withdraws a budget token; with none left there is no hedge", () =>
    Effect.gen(function*() {
      // a reserve of exactly one token, and runs deposit nothing
      const budget = yield* RetryBudget.make({ percentCanRetry: 0, minRetriesPerSecond: 0.1, ttl: "10 seconds" })
      const s = scripted([1000, 10])
      const hedged = s.call.pipe(Backoff.hedge({ delay: "100 millis", budget }))
      expect(yield* settle(hedged, [100, 10])).toStrictEqual(Exit.succeed(1))
      // the token is spent: the next run is not hedged, its primary runs to the end
      const second = scripted([1000, 10])
      const again = second.call.pipe(Backoff.hedge({ delay: "100 millis", budget }))
      expect(yield* settle(again, [100, 10, 890])).toStrictEqual(Exit.succeed(0))
      expect(second.trace.starts).toStrictEqual([110])
      expect(yield* budget.tryWithdraw).toBe(false)
    }))

  it.effect("budget: true withdraws from the RetryBudget in context", () =>
    Effect.gen(function*() {
      const s = scripted([1000, 10])
      const hedged = s.call.pipe(Backoff.hedge({ delay: "100 millis", budget: true }))
      const exit = yield* settle(hedged, [100, 10, 890]).pipe(
        Effect.provide(RetryBudget.layer({ percentCanRetry: 0, minRetriesPerSecond: 0 }))
      )
      expect(exit).toStrictEqual(Exit.succeed(0))
      expect(s.calls()).toBe(1)
    }))

  it.effect("composes inside Backoff.retry: each attempt is hedged", () =>
    Effect.gen(function*() {
      // attempt 1: copies 0 and 1 both fail; attempt 2: copy 2 is slow, copy 3 wins
      const s = scripted([10, 10, 1000, 10], ["slow", "slow", "ok", "ok"])
      const program = s.call.pipe(
        Backoff.hedge({ delay: "100 millis" }),
        Backoff.retry({ schedule: Wait.constant({ interval: "1 second" }), times: 3, logger: false })
      )
      const exit = yield* settle(program, [10, 10, 1000, 100, 10])
      expect(exit).toStrictEqual(Exit.succeed(3))
      expect(s.trace.starts).toStrictEqual([0, 10, 1020, 1120])
    }))

  it.effect("latencyQuantile: the floor until enough samples, then the quantile of the last window", () =>
    Effect.gen(function*() {
      const p90 = Backoff.latencyQuantile(0.9, { window: 10, minSamples: 5, floor: "20 millis" })
      expect(p90.currentMillis()).toBe(20)
      // five fast calls (40 millis each), unhedged: the delay becomes their p90
      for (let i = 0; i < 5; i++) {
        const s = scripted([40])
        expect(yield* settle(s.call.pipe(Backoff.hedge({ delay: p90 })), [20, 20])).toStrictEqual(Exit.succeed(0))
        // below minSamples the floor (20) applied: each of these was hedged at 20
        expect(s.trace.starts).toStrictEqual(i < 5 ? [s.trace.starts[0]!, s.trace.starts[0]! + 20] : [])
      }
      expect(p90.size()).toBe(5)
      expect(p90.currentMillis()).toBe(40)
      // the service slows down to 200 millis: after a window of slow calls the delay follows
      for (let i = 0; i < 10; i++) p90.record(200)
      expect(p90.currentMillis()).toBe(200)
      const slow = scripted([150, 10])
      yield* settle(slow.call.pipe(Backoff.hedge({ delay: p90 })), [150])
      expect(slow.calls()).toBe(1)
    }))

  it.effect("the hedge's delay is read when each run starts", () =>
    Effect.gen(function*() {
      const p50 = Backoff.latencyQuantile(0.5, { window: 4, minSamples: 1, floor: "1 millis" })
      p50.record(100)
      const s = scripted([1000, 10])
      const fiber = yield* Effect.fork(s.call.pipe(Backoff.hedge({ delay: p50 })))
      yield* TestClock.adjust(99)
      expect(s.calls()).toBe(1)
      yield* TestClock.adjust(1)
      expect(s.calls()).toBe(2)
      yield* TestClock.adjust(10)
      expect(yield* Fiber.join(fiber)).toBe(1)
      // the winner's own latency was recorded
      expect(p50.size()).toBe(2)
      expect(p50.currentMillis()).toBe(10)
    }))

  it.effect("a delay of zero starts every copy at once", () =>
    Effect.gen(function*() {
      const s = scripted([100, 50, 70])
      const exit = yield* settle(s.call.pipe(Backoff.hedge({ delay: 0, maxAttempts: 3 })), [50])
      expect(exit).toStrictEqual(Exit.succeed(1))
      expect(s.trace.starts).toStrictEqual([0, 0, 0])
      expect([...s.trace.finalized].sort()).toStrictEqual([0, 2])
    }))

  it.effect("copies that lose after finishing are not left running", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      let released = 0
      const call = Effect.gen(function*() {
        yield* Deferred.await(gate)
        return "value"
      }).pipe(Effect.ensuring(Effect.sync(() => released++)))
      const fiber = yield* Effect.fork(call.pipe(Backoff.hedge({ delay: "10 millis", maxAttempts: 3 })))
      yield* TestClock.adjust(30)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(fiber)).toBe("value")
      expect(released).toBe(3)
    }))

  it("bad options are InvalidOptionErrors naming the option", () => {
    const cases: ReadonlyArray<[unknown, string]> = [
      [{}, "delay"],
      [{ delay: -1 }, "delay"],
      [{ delay: "soon" }, "delay"],
      [{ delay: 10, maxAttempts: 0 }, "maxAttempts"],
      [{ delay: 10, maxAttempts: 1.5 }, "maxAttempts"],
      [{ delay: 10, maxAttempts: 101 }, "maxAttempts"],
      [{ delay: 10, while: true }, "while"],
      [{ delay: 10, budget: {} }, "budget"],
      [{ delay: 10, maxAttemps: 3 }, "hedge.maxAttemps"],
      [5, "hedge"]
    ]
    for (const [options, option] of cases) {
      let error: unknown
      try {
        Backoff.hedge(options as any)
      } catch (e) {
        error = e
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError).option).toBe(option)
    }
    expect(() => Backoff.latencyQuantile(0)).toThrow(/latencyQuantile.q/)
    expect(() => Backoff.latencyQuantile(1.5)).toThrow(InvalidOptionError)
    expect(() => Backoff.latencyQuantile(0.9, { window: 0 })).toThrow(/latencyQuantile.window/)
    expect(() => Backoff.latencyQuantile(0.9, { window: 5, minSamples: 6 })).toThrow(/latencyQuantile.minSamples/)
    expect(() => Backoff.latencyQuantile(0.9, { floor: "-1 seconds" })).toThrow(/latencyQuantile.floor/)
    expect(() => Backoff.latencyQuantile(0.9, { windw: 5 } as any)).toThrow(/latencyQuantile.windw/)
  })
})
