/**
 * Backoff: onException: python-backoff behaviours, wait strategies as plain Schedules, zero waits.
 */
import { Backoff, Jitter, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Duration, Effect, Exit, Option, Random, Schedule } from "effect"
import { failing, flaky } from "./backoff-helpers.js"
import { HttpError, NetError, OtherError, ParseError, runFor, secs, TimeoutError } from "./helpers.js"

describe("onException: python-backoff behaviours", () => {
  it.effect("maxTries 3: 3 calls, 2 backoffs, 1 giveup with tries 3, fails with the last error itself", () =>
    Effect.gen(function*() {
      const counter = { calls: 0 }
      const errors = [new HttpError({ message: "1" }), new HttpError({ message: "2" }), new HttpError({ message: "3" })]
      const backoffs: Array<number> = []
      const giveups: Array<number> = []
      const successes: Array<number> = []
      const retried = failing(errors, counter).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTries: 3,
        onBackoff: (d) => {
          backoffs.push(d.tries)
        },
        onGiveup: (d) => {
          giveups.push(d.tries)
        },
        onSuccess: (d) => {
          successes.push(d.tries)
        }
      }))
      const exit = yield* runFor(retried)
      expect(counter.calls).toBe(3)
      expect(backoffs).toEqual([1, 2])
      expect(giveups).toEqual([3])
      expect(successes).toEqual([])
      expect(Exit.isFailure(exit)).toBe(true)
      // the last error itself, not a wrapper and not the first error
      expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)).toEqual(Option.some(errors[2]))
      if (Exit.isFailure(exit)) expect(Option.getOrThrow(Cause.failureOption(exit.cause))).toBe(errors[2])
    }))

  it.effect("succeeds after failures: onSuccess once with the tries of the successful call", () =>
    Effect.gen(function*() {
      const counter = { calls: 0 }
      const successes: Array<number> = []
      const retried = flaky(2, "boom", "ok", counter).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTries: 5,
        onSuccess: (d) => {
          successes.push(d.tries)
        }
      }))
      const exit = yield* runFor(retried)
      expect(exit).toEqual(Exit.succeed("ok"))
      expect(counter.calls).toBe(3)
      expect(successes).toEqual([3])
    }))

  it.effect("exception as a class: subclasses match, other errors pass through at once", () =>
    Effect.gen(function*() {
      const counter = { calls: 0 }
      const retried = flaky(2, new TimeoutError("slow"), "ok", counter).pipe(
        Backoff.onException({ wait: Wait.constant(), jitter: null, exception: NetError })
      )
      expect(yield* runFor(retried)).toEqual(Exit.succeed("ok"))
      expect(counter.calls).toBe(3)

      const other = { calls: 0 }
      const handled: Array<string> = []
      const parse = new ParseError("bad")
      const passes = failing([parse], other).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        exception: NetError,
        onBackoff: () => {
          handled.push("backoff")
        },
        onGiveup: () => {
          handled.push("giveup")
        },
        onSuccess: () => {
          handled.push("success")
        }
      }))
      const exit = yield* Effect.exit(passes) // no clock adjust: it must not sleep
      expect(exit).toEqual(Exit.fail(parse))
      expect(other.calls).toBe(1)
      expect(handled).toEqual([])
    }))

  it.effect("exception as a Data.TaggedError class", () =>
    Effect.gen(function*() {
      const counter = { calls: 0 }
      const retried = flaky(2, new HttpError({ message: "503" }), "ok", counter).pipe(
        Backoff.onException({ wait: Wait.constant(), jitter: null, exception: HttpError })
      )
      expect(yield* runFor(retried)).toEqual(Exit.succeed("ok"))
      expect(counter.calls).toBe(3)
      const other = { calls: 0 }
      const passes = failing([new OtherError({ code: 1 })], other).pipe(
        // @ts-expect-error a filter no member of the error type can match is a compile error (at run time: passes through)
        Backoff.onException({ wait: Wait.constant(), jitter: null, exception: HttpError })
      )
      expect(yield* Effect.exit(passes)).toEqual(Exit.fail(new OtherError({ code: 1 })))
      expect(other.calls).toBe(1)
    }))

  it.effect("exception as a _tag string", () =>
    Effect.gen(function*() {
      const counter = { calls: 0 }
      const retried = flaky(3, new HttpError({ message: "503" }), "ok", counter).pipe(
        Backoff.onException({ wait: Wait.constant(), jitter: null, exception: "HttpError" })
      )
      expect(yield* runFor(retried)).toEqual(Exit.succeed("ok"))
      expect(counter.calls).toBe(4)
      const other = { calls: 0 }
      const passes = failing([new OtherError({ code: 2 })], other).pipe(
        // @ts-expect-error a filter no member of the error type can match is a compile error (at run time: passes through)
        Backoff.onException({ wait: Wait.constant(), jitter: null, exception: "HttpError" })
      )
      expect(yield* Effect.exit(passes)).toEqual(Exit.fail(new OtherError({ code: 2 })))
      expect(other.calls).toBe(1)
      // a string error is not an object with _tag: it does not match
      const str = { calls: 0 }
      const strPasses = failing(["HttpError"], str).pipe(
        // @ts-expect-error a filter no member of the error type can match is a compile error (at run time: passes through)
        Backoff.onException({ wait: Wait.constant(), jitter: null, exception: "HttpError" })
      )
      expect(yield* Effect.exit(strPasses)).toEqual(Exit.fail("HttpError"))
      expect(str.calls).toBe(1)
    }))

  it.effect("exception as an array (python's tuple): any member matches", () =>
    Effect.gen(function*() {
      const counter = { calls: 0 }
      const errors: ReadonlyArray<unknown> = [
        new TimeoutError("t"),
        new HttpError({ message: "503" }),
        new NetError("n"),
        new ParseError("p")
      ]
      const retried = failing(errors, counter).pipe(
        Backoff.onException({ wait: Wait.constant(), jitter: null, exception: [NetError, "HttpError"] })
      )
      const exit = yield* runFor(retried)
      // the first three are retried; the ParseError passes through at the fourth call
      expect(counter.calls).toBe(4)
      expect(exit).toEqual(Exit.fail(errors[3]))
    }))

  it.effect("exception as a predicate", () =>
    Effect.gen(function*() {
      const counter = { calls: 0 }
      const errors = [{ status: 503 }, { status: 502 }, { status: 404 }]
      const seen: Array<unknown> = []
      const retried = failing(errors, counter).pipe(
        Backoff.onException({
          wait: Wait.constant(),
          jitter: null,
          exception: (e) => {
            seen.push(e)
            return e.status >= 500
          }
        })
      )
      const exit = yield* runFor(retried)
      expect(counter.calls).toBe(3)
      expect(exit).toEqual(Exit.fail({ status: 404 }))
      expect(seen).toEqual(errors)
    }))

  it.effect("giveup predicate stops on the third distinct error", () =>
    Effect.gen(function*() {
      const counter = { calls: 0 }
      const errors = [1, 2, 3, 4, 5].map((code) => new OtherError({ code }))
      const asked: Array<number> = []
      const giveups: Array<{ tries: number; exception: unknown }> = []
      const retried = failing(errors, counter).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        giveup: (e) => {
          asked.push(e.code)
          return e.code === 3
        },
        onGiveup: (d) => {
          giveups.push({ tries: d.tries, exception: d.exception })
        }
      }))
      const exit = yield* runFor(retried)
      expect(counter.calls).toBe(3)
      expect(asked).toEqual([1, 2, 3])
      expect(giveups).toEqual([{ tries: 3, exception: errors[2] }])
      expect(exit).toEqual(Exit.fail(errors[2]))
    }))

  it.effect("giveup predicate returning an Effect", () =>
    Effect.gen(function*() {
      const counter = { calls: 0 }
      const errors = [1, 2, 3, 4, 5].map((code) => new OtherError({ code }))
      let giveups = 0
      const retried = failing(errors, counter).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        giveup: (e) => Effect.sync(() => e.code === 3),
        onGiveup: () => {
          giveups++
        }
      }))
      expect(yield* runFor(retried)).toEqual(Exit.fail(errors[2]))
      expect(counter.calls).toBe(3)
      expect(giveups).toBe(1)
    }))

  it.effect("giveup is asked first, even on the last allowed try", () =>
    Effect.gen(function*() {
      const counter = { calls: 0 }
      const asked: Array<number> = []
      const retried = failing(["e"], counter).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTries: 2,
        giveup: () => {
          asked.push(counter.calls)
          return false
        }
      }))
      expect(yield* runFor(retried)).toEqual(Exit.fail("e"))
      expect(asked).toEqual([1, 2])
    }))

  it.effect("constant interval list [1,2,3] s: 3 backoffs with those waits, then giveup at tries 4", () =>
    Effect.gen(function*() {
      const counter = { calls: 0 }
      const waits: Array<number> = []
      const giveups: Array<{ tries: number; elapsed: number }> = []
      const retried = failing(["e"], counter).pipe(Backoff.onException({
        wait: Wait.constant({ interval: ["1 second", "2 seconds", "3 seconds"] }),
        jitter: null,
        onBackoff: (d) => {
          waits.push(secs(d.wait))
        },
        onGiveup: (d) => {
          giveups.push({ tries: d.tries, elapsed: secs(d.elapsed) })
        }
      }))
      expect(yield* runFor(retried)).toEqual(Exit.fail("e"))
      expect(counter.calls).toBe(4)
      expect(waits).toEqual([1, 2, 3])
      expect(giveups).toEqual([{ tries: 4, elapsed: 6 }])
    }))

  it.effect("the default wait is expo and the default jitter is full (seeded: reproducible, within [0, expo])", () =>
    Effect.gen(function*() {
      const collect = (seed: number) =>
        Effect.gen(function*() {
          const waits: Array<number> = []
          const retried = Effect.fail("e").pipe(Backoff.onException({
            maxTries: 6,
            onBackoff: (d) => {
              waits.push(Duration.toMillis(d.wait))
            }
          }))
          yield* runFor(Effect.withRandom(retried, Random.make(seed)), "10 minutes")
          return waits
        })
      const a = yield* collect(7)
      const b = yield* collect(7)
      const c = yield* collect(8)
      expect(a).toHaveLength(5)
      expect(a).toEqual(b)
      expect(a).not.toEqual(c)
      a.forEach((w, i) => {
        expect(w).toBeGreaterThanOrEqual(0)
        expect(w).toBeLessThanOrEqual(1000 * 2 ** i)
      })
      // jittered: not the bare expo sequence
      expect(a).not.toEqual([1000, 2000, 4000, 8000, 16000])
    }))

  it.effect("jitter: null and Jitter.none give the bare waits", () =>
    Effect.gen(function*() {
      for (const jitter of [null, Jitter.none]) {
        const waits: Array<number> = []
        const retried = Effect.fail("e").pipe(Backoff.onException({
          maxTries: 4,
          jitter,
          onBackoff: (d) => {
            waits.push(secs(d.wait))
          }
        }))
        yield* runFor(retried)
        expect(waits).toEqual([1, 2, 4])
      }
    }))

  it.effect("a custom jitter is applied to every wait", () =>
    Effect.gen(function*() {
      const waits: Array<number> = []
      const halve: Jitter.Jitter = (d) => Effect.succeed(Duration.times(d, 0.5))
      const retried = Effect.fail("e").pipe(Backoff.onException({
        maxTries: 4,
        jitter: halve,
        onBackoff: (d) => {
          waits.push(secs(d.wait))
        }
      }))
      yield* runFor(retried)
      expect(waits).toEqual([0.5, 1, 2])
    }))
})

describe("wait strategies as plain Schedules", () => {
  it.effect("any Schedule works as a wait: its delays are the waits, its end is a give-up", () =>
    Effect.gen(function*() {
      const waits: Array<number> = []
      let calls = 0
      const retried = Effect.suspend(() => {
        calls++
        return Effect.fail("e")
      }).pipe(Backoff.onException({
        wait: Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(3))),
        jitter: null,
        onBackoff: (d) => {
          waits.push(Duration.toMillis(d.wait))
        }
      }))
      expect(yield* runFor(retried)).toEqual(Exit.fail("e"))
      expect(waits).toEqual([100, 200, 400])
      expect(calls).toBe(4)
    }))

  it.effect("Wait.runtime: the wait comes from the error; default jitter applies, jitter: null honours it exactly", () =>
    Effect.gen(function*() {
      const run = (jitter: Jitter.Jitter | null | undefined) =>
        Effect.gen(function*() {
          const waits: Array<number> = []
          let calls = 0
          const retried = Effect.suspend(() => Effect.fail({ retryAfter: ++calls * 1000 })).pipe(
            Backoff.onException({
              wait: Wait.runtime((e: { readonly retryAfter: number }) => e.retryAfter),
              maxTries: 4,
              ...(jitter === undefined ? {} : { jitter }),
              onBackoff: (d) => {
                waits.push(Duration.toMillis(d.wait))
              }
            })
          )
          yield* runFor(Effect.withRandom(retried, Random.make("runtime")))
          return waits
        })
      expect(yield* run(null)).toEqual([1000, 2000, 3000])
      const jittered = yield* run(undefined)
      expect(jittered).toHaveLength(3)
      jittered.forEach((w, i) => expect(w).toBeLessThanOrEqual((i + 1) * 1000))
      expect(jittered).not.toEqual([1000, 2000, 3000])
    }))
})

describe("zero waits", () => {
  it.effect("a zero wait skips the sleep: the run completes with no TestClock.adjust and no clock sleep", () =>
    Effect.gen(function*() {
      let calls = 0
      let backoffs = 0
      const retried = Effect.suspend(() => ++calls < 5 ? Effect.fail("e") : Effect.succeed("ok")).pipe(
        Backoff.onException({
          wait: Wait.constant({ interval: 0 }),
          onBackoff: () => {
            backoffs++
          }
        })
      )
      // no fork, no adjust: a sleep on the TestClock would never end
      expect(yield* Effect.exit(retried)).toEqual(Exit.succeed("ok"))
      expect(calls).toBe(5)
      expect(backoffs).toBe(4)

      // and the loop never asks the Clock to sleep
      const clock = yield* Effect.clock
      let sleeps = 0
      const counting: Clock.Clock = {
        [Clock.ClockTypeId]: Clock.ClockTypeId,
        unsafeCurrentTimeMillis: () => clock.unsafeCurrentTimeMillis(),
        unsafeCurrentTimeNanos: () => clock.unsafeCurrentTimeNanos(),
        currentTimeMillis: clock.currentTimeMillis,
        currentTimeNanos: clock.currentTimeNanos,
        sleep: (d) => {
          sleeps++
          return clock.sleep(d)
        }
      }
      calls = 0
      expect(yield* Effect.exit(Effect.withClock(retried, counting))).toEqual(Exit.succeed("ok"))
      expect(sleeps).toBe(0)
    }))
})
