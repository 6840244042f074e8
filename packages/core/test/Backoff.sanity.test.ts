import { Backoff, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, TestClock, Option, Exit } from "effect"

describe("sanity", () => {
  it.effect("constant 1s maxTime 3.5s", () =>
    Effect.gen(function*() {
      let calls = 0
      const waits: number[] = []
      const gives: any[] = []
      const eff = Effect.suspend(() => { calls++; return Effect.fail("boom") }).pipe(
        Backoff.onException({ wait: Wait.constant(), maxTime: "3.5 seconds", jitter: null,
          onBackoff: (d) => { waits.push(Duration.toSeconds(d.wait)) },
          onGiveup: (d) => { gives.push({ tries: d.tries, elapsed: Duration.toSeconds(d.elapsed), keys: Object.keys(d) }) } })
      )
      const fiber = yield* Effect.fork(Effect.exit(eff))
      yield* TestClock.adjust("10 seconds")
      const exit = yield* Fiber.join(fiber)
      expect(exit).toEqual(Exit.fail("boom"))
      expect(waits).toEqual([1, 1, 1, 0.5])
      expect(gives).toEqual([{ tries: 5, elapsed: 3.5, keys: ["target", "args", "tries", "elapsed", "exception"] }])
      expect(calls).toBe(5)
    }))
  it.effect("expo maxValue 3 maxTime 20", () =>
    Effect.gen(function*() {
      const waits: number[] = []
      let tries = 0
      const eff = Effect.fail("x").pipe(
        Backoff.onException({ wait: Wait.expo({ maxValue: "3 seconds" }), maxTime: "20 seconds", jitter: null, raiseOnGiveup: false,
          onBackoff: (d) => { waits.push(Duration.toSeconds(d.wait)) }, onGiveup: (d) => { tries = d.tries } })
      )
      const fiber = yield* Effect.fork(eff)
      yield* TestClock.adjust("30 seconds")
      const r = yield* Fiber.join(fiber)
      expect(Option.isNone(r)).toBe(true)
      expect(waits).toEqual([1, 2, 3, 3, 3, 3, 3, 2])
      expect(tries).toBe(9)
    }))
  it.effect("predicate list", () =>
    Effect.gen(function*() {
      const waits: number[] = []
      let n = 0
      const f = Backoff.onPredicate(function readQueue(x: number) { return Effect.sync(() => ++n > 5 ? x : 0) }, { wait: Wait.constant({ interval: [1000, 2000, 3000, 6000, 9000] }), jitter: null,
          onBackoff: (d) => { waits.push(Duration.toSeconds(d.wait)) } })
      const fiber = yield* Effect.fork(f(7))
      yield* TestClock.adjust("30 seconds")
      const r = yield* Fiber.join(fiber)
      expect(r).toBe(7)
      expect(waits).toEqual([1, 2, 3, 6, 9])
    }))
})
