import { Timeline, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, TestClock } from "effect"
import type { LogLine } from "./helpers.js"
import { captureLogs } from "./helpers.js"

/** Events as plain data: [tag, at seconds, tries, wait seconds?]. */
const plain = (events: ReadonlyArray<Timeline.Event>) =>
  events.map((e) =>
    e.wait === undefined
      ? [e._tag, Duration.toSeconds(e.at), e.tries]
      : [e._tag, Duration.toSeconds(e.at), e.tries, Duration.toSeconds(e.wait)]
  )

describe("Timeline.run", () => {
  it.effect("stamps: a Call at its start, the other events at the end of the call (durations included)", () =>
    Effect.gen(function*() {
      const r = yield* Timeline.run(
        { wait: Wait.constant(), jitter: null, logger: false },
        [Timeline.fail("a", "200 millis"), Timeline.fail("b", "300 millis"), Timeline.succeed("ok", "100 millis")]
      )
      expect(plain(r.events)).toEqual([
        ["Call", 0, 1],
        ["Backoff", 0.2, 1, 1],
        ["Call", 1.2, 2],
        ["Backoff", 1.5, 2, 1],
        ["Call", 2.5, 3],
        ["Success", 2.6, 3]
      ])
      expect(Duration.toMillis(r.total)).toBeCloseTo(2600, 9)
      expect(r.result).toEqual(Exit.succeed("ok"))
      expect(r.cutOff).toBe(false)
      expect(r.calls).toBe(3)
    }))

  it.effect("the documented example: expo, 4 tries, two failures then success", () =>
    Effect.gen(function*() {
      const r = yield* Timeline.run(
        { wait: Wait.expo(), maxTries: 4, jitter: null, logger: false },
        [Timeline.fail("503"), Timeline.fail("503"), Timeline.succeed("ok")]
      )
      expect(r.events.map((e) => `${Duration.toSeconds(e.at)}s ${e._tag}`)).toEqual([
        "0s Call",
        "0s Backoff",
        "1s Call",
        "1s Backoff",
        "3s Call",
        "3s Success"
      ])
      expect(Duration.toSeconds(r.total)).toBe(3)
    }))

  it.effect("the last outcome repeats; giving up ends with the last error", () =>
    Effect.gen(function*() {
      const r = yield* Timeline.run(
        { wait: Wait.constant(), jitter: null, maxTries: 4, logger: false },
        [Timeline.fail("first"), Timeline.fail("again", "1 second")]
      )
      expect(plain(r.events)).toEqual([
        ["Call", 0, 1],
        ["Backoff", 0, 1, 1],
        ["Call", 1, 2],
        ["Backoff", 2, 2, 1],
        ["Call", 3, 3],
        ["Backoff", 4, 3, 1],
        ["Call", 5, 4],
        ["Giveup", 6, 4]
      ])
      expect(r.result).toEqual(Exit.fail("again"))
      expect(r.calls).toBe(4)
      expect(r.cutOff).toBe(false)
    }))

  it.effect("the max-time trace: constant 1s, maxTime 3.5s", () =>
    Effect.gen(function*() {
      const r = yield* Timeline.run(
        { wait: Wait.constant(), jitter: null, maxTime: "3.5 seconds", logger: false },
        [Timeline.fail("e")]
      )
      expect(r.events.filter((e) => e._tag === "Backoff").map((e) => Duration.toSeconds(e.wait!))).toEqual([
        1,
        1,
        1,
        0.5
      ])
      expect(plain(r.events.slice(-1))).toEqual([["Giveup", 3.5, 5]])
      expect(Duration.toSeconds(r.total)).toBe(3.5)
    }))

  it.effect("maxCalls cuts off an unlimited policy against endless failures, and marks it", () =>
    Effect.gen(function*() {
      const r = yield* Timeline.run(
        { wait: Wait.constant(), jitter: null, logger: false },
        [Timeline.fail("e")],
        { maxCalls: 5 }
      )
      expect(r.cutOff).toBe(true)
      expect(r.calls).toBe(5)
      expect(r.events.filter((e) => e._tag === "Call")).toHaveLength(5)
      expect(r.events.some((e) => e._tag === "Giveup")).toBe(false)
      expect(Exit.isInterrupted(r.result)).toBe(true)
    }))

  it.effect("the default maxCalls is 10,000", () =>
    Effect.gen(function*() {
      const r = yield* Timeline.run(
        { wait: Wait.constant({ interval: 0 }), jitter: null, logger: false },
        [Timeline.fail("e")]
      )
      expect(r.cutOff).toBe(true)
      expect(r.calls).toBe(10_000)
    }))

  it.effect("a run that ends by itself with exactly maxCalls calls is not cut off", () =>
    Effect.gen(function*() {
      const r = yield* Timeline.run(
        { wait: Wait.constant(), jitter: null, maxTries: 5, logger: false },
        [Timeline.fail("e")],
        { maxCalls: 5 }
      )
      expect(r.cutOff).toBe(false)
      expect(r.calls).toBe(5)
      expect(r.result).toEqual(Exit.fail("e"))
    }))

  it.effect("a clamped sleep that rounds to zero nanoseconds ends the run instead of spinning", () =>
    Effect.gen(function*() {
      const r = yield* Timeline.run(
        { wait: Wait.constant(), jitter: null, maxTime: 1000.0000004, logger: false },
        [Timeline.fail("e")],
        { maxCalls: 100 }
      )
      expect(r.cutOff).toBe(false)
      expect(r.calls).toBe(3)
      expect(r.events.at(-1)!._tag).toBe("Giveup")
    }))

  it.effect("seeds: the same seed gives identical events with jitter on; different seeds differ", () =>
    Effect.gen(function*() {
      const options = { wait: Wait.expo(), maxTries: 8, logger: false } as const
      const outcomes = [Timeline.fail("e")]
      const a = yield* Timeline.run(options, outcomes, { seed: 42 })
      const b = yield* Timeline.run(options, outcomes, { seed: 42 })
      const c = yield* Timeline.run(options, outcomes, { seed: 43 })
      const d1 = yield* Timeline.run(options, outcomes)
      const d2 = yield* Timeline.run(options, outcomes)
      expect(plain(a.events)).toEqual(plain(b.events))
      expect(plain(a.events)).not.toEqual(plain(c.events))
      expect(plain(d1.events)).toEqual(plain(d2.events))
      // jitter is on: waits are within [0, expo] and not the bare expo values
      const waits = a.events.filter((e) => e._tag === "Backoff").map((e) => Duration.toMillis(e.wait!))
      expect(waits).toHaveLength(7)
      waits.forEach((w, i) => expect(w).toBeLessThanOrEqual(1000 * 2 ** i))
      expect(waits).not.toEqual([1000, 2000, 4000, 8000, 16000, 32000, 64000])
    }))

  it.effect("the caller's TestClock is left alone, and no adjust is needed", () =>
    Effect.gen(function*() {
      const before = yield* Clock.currentTimeMillis
      const r = yield* Timeline.run(
        { wait: Wait.constant({ interval: "1 hour" }), jitter: null, maxTries: 3, logger: false },
        [Timeline.fail("e", "1 minute")]
      )
      expect(Duration.toMillis(r.total)).toBe(3 * 60_000 + 2 * 3_600_000)
      expect(yield* Clock.currentTimeMillis).toBe(before)
      expect(Array.from(yield* TestClock.sleeps())).toEqual([])
    }))

  it.effect("handlers in the options run as usual, after the recorder, with the virtual elapsed", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const r = yield* Timeline.run(
        {
          wait: Wait.constant(),
          jitter: null,
          maxTries: 2,
          logger: false,
          onBackoff: (d) => {
            seen.push(`backoff ${d.tries} ${Duration.toSeconds(d.elapsed)}`)
          },
          onGiveup: [(d) => {
            seen.push(`giveup ${d.tries} ${Duration.toSeconds(d.elapsed)}`)
          }]
        },
        [Timeline.fail("e", "2 seconds")]
      )
      expect(seen).toEqual(["backoff 1 2", "giveup 2 5"])
      expect(r.events.map((e) => e._tag)).toEqual(["Call", "Backoff", "Call", "Giveup"])
    }))

  it.effect("the default log lines run too, with the virtual waits", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      yield* captureLogs(
        Timeline.run({ wait: Wait.expo(), jitter: null, maxTries: 3, target: "getUrl" }, [Timeline.fail("503")]),
        lines
      )
      expect(lines.map((l) => l.message)).toEqual([
        "Backing off getUrl(...) for 1.0s (503)",
        "Backing off getUrl(...) for 2.0s (503)",
        "Giving up getUrl(...) after 3 tries (503)"
      ])
    }))

  it.effect("raiseOnGiveup: false gives a None result", () =>
    Effect.gen(function*() {
      const r = yield* Timeline.run(
        { wait: Wait.constant(), jitter: null, maxTries: 2, raiseOnGiveup: false, logger: false },
        [Timeline.fail("e")]
      )
      expect(Exit.isSuccess(r.result)).toBe(true)
      expect(r.events.at(-1)!._tag).toBe("Giveup")
    }))
})

describe("Timeline.runPredicate", () => {
  it.effect("re-runs while the predicate holds and stamps the events", () =>
    Effect.gen(function*() {
      const r = yield* Timeline.runPredicate(
        { wait: Wait.constant(), jitter: null, logger: false },
        [0, Timeline.succeed(0, "500 millis"), 42]
      )
      expect(plain(r.events)).toEqual([
        ["Call", 0, 1],
        ["Backoff", 0, 1, 1],
        ["Call", 1, 2],
        ["Backoff", 1.5, 2, 1],
        ["Call", 2.5, 3],
        ["Success", 2.5, 3]
      ])
      expect(r.result).toEqual(Exit.succeed(42))
    }))

  it.effect("the onPredicate list trace [1,2,3,6,9] gives up with the last value", () =>
    Effect.gen(function*() {
      const r = yield* Timeline.runPredicate(
        {
          wait: Wait.constant({ interval: ["1 second", "2 seconds", "3 seconds", "6 seconds", "9 seconds"] }),
          jitter: null,
          predicate: (x: string | null) => x === null,
          logger: false
        },
        [null]
      )
      expect(r.events.filter((e) => e._tag === "Backoff").map((e) => Duration.toSeconds(e.wait!))).toEqual([
        1,
        2,
        3,
        6,
        9
      ])
      expect(plain(r.events.slice(-1))).toEqual([["Giveup", 21, 6]])
      expect(r.result).toEqual(Exit.succeed(null))
    }))
})
