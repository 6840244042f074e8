/**
 * Backoff: onPredicate.
 */
import { Backoff, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { HttpError, runFor, secs } from "./helpers.js"

describe("onPredicate", () => {
  it.effect("constant list [1,2,3,6,9] s: those waits, then giveup at tries 6 returning the last value", () =>
    Effect.gen(function*() {
      let calls = 0
      const waits: Array<number> = []
      const giveups: Array<{ tries: number; value: unknown }> = []
      const poll = Effect.sync(() => {
        calls++
        return null
      }).pipe(Backoff.onPredicate({
        wait: Wait.constant({ interval: ["1 second", "2 seconds", "3 seconds", "6 seconds", "9 seconds"] }),
        jitter: null,
        predicate: (x) => x === null,
        onBackoff: (d) => {
          waits.push(secs(d.wait))
        },
        onGiveup: (d) => {
          giveups.push({ tries: d.tries, value: d.value })
        }
      }))
      const exit = yield* runFor(poll)
      expect(exit).toEqual(Exit.succeed(null))
      expect(calls).toBe(6)
      expect(waits).toEqual([1, 2, 3, 6, 9])
      expect(giveups).toEqual([{ tries: 6, value: null }])
    }))

  it.effect("the default predicate retries falsy values and returns the first truthy one", () =>
    Effect.gen(function*() {
      const values: ReadonlyArray<unknown> = [0, "", null, undefined, false, Number.NaN, 0n, "found"]
      let calls = 0
      const retried: Array<unknown> = []
      const poll = Effect.sync(() => values[calls++]).pipe(Backoff.onPredicate({
        wait: Wait.constant({ interval: "10 millis" }),
        jitter: null,
        onBackoff: (d) => {
          retried.push(d.value)
        }
      }))
      expect(yield* runFor(poll)).toEqual(Exit.succeed("found"))
      expect(calls).toBe(8)
      expect(retried).toEqual(values.slice(0, 7))
    }))

  it.effect("a predicate returning an Effect is awaited", () =>
    Effect.gen(function*() {
      let calls = 0
      const poll = Effect.sync(() => ++calls).pipe(Backoff.onPredicate({
        wait: Wait.constant(),
        jitter: null,
        predicate: (n) => Effect.succeed(n < 4)
      }))
      expect(yield* runFor(poll)).toEqual(Exit.succeed(4))
      expect(calls).toBe(4)
    }))

  it.effect("maxTries: returns the last value after giving up", () =>
    Effect.gen(function*() {
      let calls = 0
      const poll = Effect.sync(() => ++calls).pipe(Backoff.onPredicate({
        wait: Wait.constant(),
        jitter: null,
        maxTries: 3,
        predicate: () => true
      }))
      expect(yield* runFor(poll)).toEqual(Exit.succeed(3))
      expect(calls).toBe(3)
    }))

  it.effect("failures pass through untouched, with no handler called", () =>
    Effect.gen(function*() {
      let calls = 0
      const handled: Array<string> = []
      const poll = Effect.suspend(() => {
        calls++
        return Effect.fail(new HttpError({ message: "x" }))
      }).pipe(Backoff.onPredicate({
        wait: Wait.constant(),
        jitter: null,
        predicate: () => true,
        onBackoff: () => {
          handled.push("b")
        },
        onGiveup: () => {
          handled.push("g")
        },
        onSuccess: () => {
          handled.push("s")
        }
      }))
      expect(yield* Effect.exit(poll)).toEqual(Exit.fail(new HttpError({ message: "x" })))
      expect(calls).toBe(1)
      expect(handled).toEqual([])
    }))
})
