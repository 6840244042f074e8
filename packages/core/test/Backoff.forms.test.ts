/**
 * Backoff: raiseOnGiveup, the function form, defects and interruption, concurrency, stacking.
 */
import { Backoff, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Deferred, Effect, Exit, Fiber, FiberRef, Option, TestClock } from "effect"
import { defectOf, flaky, Id } from "./backoff-helpers.js"
import { HttpError, NetError, ParseError, runFor, TimeoutError } from "./helpers.js"

describe("raiseOnGiveup: false", () => {
  it.effect("None on giving up, Some on success, None when the strategy ends; onGiveup still runs", () =>
    Effect.gen(function*() {
      let giveups = 0
      const options = {
        wait: Wait.constant(),
        jitter: null,
        maxTries: 3,
        raiseOnGiveup: false,
        onGiveup: () => {
          giveups++
        }
      } as const
      expect(yield* runFor(Effect.fail("e").pipe(Backoff.onException(options)))).toEqual(Exit.succeed(Option.none()))
      expect(giveups).toBe(1)
      expect(yield* runFor(flaky(2, "e", "ok", { calls: 0 }).pipe(Backoff.onException(options)))).toEqual(
        Exit.succeed(Option.some("ok"))
      )
      expect(yield* Effect.exit(Effect.succeed(5).pipe(Backoff.onException(options)))).toEqual(
        Exit.succeed(Option.some(5))
      )
      const ended = Effect.fail("e").pipe(Backoff.onException({
        wait: Wait.constant({ interval: ["1 second"] }),
        jitter: null,
        raiseOnGiveup: false,
        onGiveup: () => {
          giveups++
        }
      }))
      expect(yield* runFor(ended)).toEqual(Exit.succeed(Option.none()))
      expect(giveups).toBe(2)
      // with the default raiseOnGiveup, the strategy ending fails with the last error
      const endedRaise = Effect.fail("e").pipe(
        Backoff.onException({ wait: Wait.constant({ interval: ["1 second"] }), jitter: null })
      )
      expect(yield* runFor(endedRaise)).toEqual(Exit.fail("e"))
    }))

  it.effect("a non-matching error still fails", () =>
    Effect.gen(function*() {
      const retried = Effect.fail(new ParseError("p")).pipe(
        Backoff.onException({ exception: NetError, raiseOnGiveup: false })
      )
      expect(yield* Effect.exit(retried)).toEqual(Exit.fail(new ParseError("p")))
    }))
})

describe("function form", () => {
  it.effect("target is the function's name and args the call's arguments", () =>
    Effect.gen(function*() {
      const seen: Array<{ target: string; args: ReadonlyArray<unknown> }> = []
      function getUrl(url: string, attempt: number) {
        return Effect.fail(`${url}#${attempt}`)
      }
      const retried = Backoff.onException(getUrl, {
        wait: Wait.constant(),
        jitter: null,
        maxTries: 2,
        onBackoff: (d) => {
          seen.push({ target: d.target, args: d.args })
        },
        onGiveup: (d) => {
          seen.push({ target: d.target, args: d.args })
        }
      })
      expect(yield* runFor(retried("/x", 7))).toEqual(Exit.fail("/x#7"))
      expect(seen).toEqual([{ target: "getUrl", args: ["/x", 7] }, { target: "getUrl", args: ["/x", 7] }])
    }))

  it.effect("an anonymous function is \"effect\"; the target option wins over a name", () =>
    Effect.gen(function*() {
      const targets: Array<string> = []
      const record = (d: Backoff.GiveupDetails) => {
        targets.push(d.target)
      }
      const anonymous = Backoff.onException((_x: number) => Effect.fail("e"), { maxTries: 1, onGiveup: record })
      yield* Effect.exit(anonymous(1))
      function named() {
        return Effect.fail("e")
      }
      const renamed = Backoff.onException(named, { maxTries: 1, onGiveup: record, target: "custom" })
      yield* Effect.exit(renamed())
      const renamedEffect = Effect.fail("e").pipe(Backoff.onException({ maxTries: 1, onGiveup: record, target: "eff" }))
      yield* Effect.exit(renamedEffect)
      // the data-last form is typed for Effects (so the pipe form types its callbacks); at
      // run time it still applies to a function, for JavaScript callers
      const applier = Backoff.onException({ maxTries: 1, onGiveup: record }) as unknown as (
        f: typeof named
      ) => typeof named
      const dataLast = applier(named)
      yield* Effect.exit(dataLast())
      expect(targets).toEqual(["effect", "custom", "eff", "named"])
    }))

  it.effect("a Promise-returning function: a rejection is a retryable failure carrying the thrown value", () =>
    Effect.gen(function*() {
      let calls = 0
      const fetchIt = async (id: number) => {
        calls++
        if (calls < 3) throw new TimeoutError(`slow ${id}`)
        return `item ${id}`
      }
      const retried = Backoff.onException(fetchIt, { wait: Wait.constant(), jitter: null, exception: NetError })
      expect(yield* runFor(retried(9))).toEqual(Exit.succeed("item 9"))
      expect(calls).toBe(3)

      const boom = new ParseError("p")
      let rejections = 0
      const rejecting = Backoff.onException(() => {
        rejections++
        return Promise.reject(boom)
      }, { wait: Wait.constant(), jitter: null, maxTries: 2 })
      const exit = yield* runFor(rejecting())
      expect(rejections).toBe(2)
      if (Exit.isFailure(exit)) expect(Option.getOrThrow(Cause.failureOption(exit.cause))).toBe(boom)
      else expect.fail("expected a failure")
    }))

  it.effect("a plain-value function: a throw is a retryable failure; class filters match it", () =>
    Effect.gen(function*() {
      let calls = 0
      const parse = (s: string) => {
        calls++
        if (calls < 3) throw new TimeoutError("t")
        return s.length
      }
      const retried = Backoff.onException(parse, { wait: Wait.constant(), jitter: null, exception: NetError })
      expect(yield* runFor(retried("abcd"))).toEqual(Exit.succeed(4))
      expect(calls).toBe(3)

      const bad = new ParseError("not retried")
      let badCalls = 0
      const passes = Backoff.onException(() => {
        badCalls++
        throw bad
      }, { exception: NetError })
      const exit = yield* Effect.exit(passes())
      expect(badCalls).toBe(1)
      if (Exit.isFailure(exit)) expect(Option.getOrThrow(Cause.failureOption(exit.cause))).toBe(bad)
      else expect.fail("expected a failure")
    }))

  it.effect("onPredicate on plain-value and Promise functions", () =>
    Effect.gen(function*() {
      let n = 0
      const next = (step: number) => (n += step) >= 3 ? n : 0
      const poll = Backoff.onPredicate(next, { wait: Wait.constant(), jitter: null })
      expect(yield* runFor(poll(1))).toEqual(Exit.succeed(3))
      let m = 0
      const nextAsync = async () => ++m > 2
      const pollAsync = Backoff.onPredicate(nextAsync, { wait: Wait.constant(), jitter: null })
      expect(yield* runFor(pollAsync())).toEqual(Exit.succeed(true))
      expect(m).toBe(3)
    }))

  it.effect("each call of the wrapped function is a fresh run", () =>
    Effect.gen(function*() {
      const tries: Array<number> = []
      let calls = 0
      const f = Backoff.onException(
        () => Effect.suspend(() => ++calls % 3 === 0 ? Effect.succeed(calls) : Effect.fail("e")),
        {
          wait: Wait.constant(),
          jitter: null,
          maxTries: 3,
          onSuccess: (d) => {
            tries.push(d.tries)
          }
        }
      )
      expect(yield* runFor(f())).toEqual(Exit.succeed(3))
      expect(yield* runFor(f())).toEqual(Exit.succeed(6))
      expect(tries).toEqual([3, 3])
    }))
})

describe("defects and interruption", () => {
  it.effect("a defect is never retried and calls no handler", () =>
    Effect.gen(function*() {
      let calls = 0
      const handled: Array<string> = []
      const boom = new Error("defect")
      const retried = Effect.suspend(() => {
        calls++
        return Effect.die(boom)
      }).pipe(Backoff.onException({
        onBackoff: () => {
          handled.push("b")
        },
        onGiveup: () => {
          handled.push("g")
        }
      }))
      expect(defectOf(yield* Effect.exit(retried))).toBe(boom)
      expect(calls).toBe(1)
      expect(handled).toEqual([])
      // a thrown exception inside an Effect is a defect too
      let thrown = 0
      const throwing = Effect.sync(() => {
        thrown++
        throw boom
      }).pipe(Backoff.onException({}))
      expect(defectOf(yield* Effect.exit(throwing))).toBe(boom)
      expect(thrown).toBe(1)
    }))

  it.effect("interruption is never retried", () =>
    Effect.gen(function*() {
      let calls = 0
      let giveups = 0
      const retried = Effect.suspend(() => {
        calls++
        return Effect.interrupt
      }).pipe(Backoff.onException({
        onGiveup: () => {
          giveups++
        }
      }))
      const exit = yield* Effect.exit(retried)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(calls).toBe(1)
      expect(giveups).toBe(0)
    }))

  it.effect("interrupting during a sleep: no further attempt, no onGiveup", () =>
    Effect.gen(function*() {
      let calls = 0
      const events: Array<string> = []
      const retried = Effect.suspend(() => {
        calls++
        return Effect.fail("e")
      }).pipe(Backoff.onException({
        wait: Wait.constant({ interval: "10 seconds" }),
        jitter: null,
        onBackoff: () => {
          events.push("backoff")
        },
        onGiveup: () => {
          events.push("giveup")
        }
      }))
      const fiber = yield* Effect.fork(retried)
      yield* TestClock.adjust("4 seconds")
      expect(calls).toBe(1)
      expect(Array.from(yield* TestClock.sleeps())).toEqual([10000])
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* TestClock.adjust("1 minute")
      expect(calls).toBe(1)
      expect(events).toEqual(["backoff"])
    }))

  it.effect("interrupting during a sleep on the live clock leaves no timer behind (no real waiting)", () =>
    Effect.gen(function*() {
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length
      const sleeping = yield* Deferred.make<void>()
      let calls = 0
      let giveups = 0
      const retried = Effect.suspend(() => {
        calls++
        return Effect.fail("e")
      }).pipe(Backoff.onException({
        wait: Wait.constant({ interval: "1 hour" }),
        jitter: null,
        logger: false,
        onBackoff: () => Deferred.succeed(sleeping, undefined),
        onGiveup: () => {
          giveups++
        }
      }))
      const before = timers()
      const fiber = yield* Effect.fork(Effect.withClock(retried, Clock.make()))
      yield* Deferred.await(sleeping)
      yield* Effect.yieldNow()
      expect(timers()).toBe(before + 1)
      yield* Fiber.interrupt(fiber)
      expect(timers()).toBe(before)
      expect(calls).toBe(1)
      expect(giveups).toBe(0)
    }))
})

describe("concurrency", () => {
  it.effect("one retried Effect value run concurrently: each run has its own tries and its own clock start", () =>
    Effect.gen(function*() {
      const tries: Array<Array<number>> = [[], [], []]
      let next = 0
      const failuresOf = [0, 2, 4]
      const retried = Effect.gen(function*() {
        const id = yield* FiberRef.get(Id)
        return yield* Effect.suspend(() =>
          ++counts[id]! <= failuresOf[id]! ? Effect.fail(`e${id}`) : Effect.succeed(id)
        )
      }).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTries: 5,
        onBackoff: (d) =>
          Effect.flatMap(FiberRef.get(Id), (id) =>
            Effect.sync(() => {
              tries[id]!.push(d.tries)
            }))
      }))
      const counts = [0, 0, 0]
      const all = Effect.all(
        [0, 1, 2].map(() => Effect.suspend(() => Effect.locally(retried, Id, next++))),
        { concurrency: "unbounded" }
      )
      expect(yield* runFor(all)).toEqual(Exit.succeed([0, 1, 2]))
      expect(tries).toEqual([[], [1, 2], [1, 2, 3, 4]])
    }))
})

describe("stacking", () => {
  it.effect("an inner give-up is seen by the outer policy, which re-runs the whole inner run with fresh state", () =>
    Effect.gen(function*() {
      let calls = 0
      const inner: Array<string> = []
      const outer: Array<string> = []
      const retried = Effect.suspend(() => {
        calls++
        return Effect.fail(new HttpError({ message: `${calls}` }))
      }).pipe(
        Backoff.onException({
          wait: Wait.constant(),
          jitter: null,
          maxTries: 2,
          onBackoff: (d) => {
            inner.push(`backoff ${d.tries}`)
          },
          onGiveup: (d) => {
            inner.push(`giveup ${d.tries}`)
          }
        }),
        Backoff.onException({
          wait: Wait.constant({ interval: "10 seconds" }),
          jitter: null,
          maxTries: 3,
          onBackoff: (d) => {
            outer.push(`backoff ${d.tries} ${(d.exception as HttpError).message}`)
          },
          onGiveup: (d) => {
            outer.push(`giveup ${d.tries} ${(d.exception as HttpError).message}`)
          }
        })
      )
      const exit = yield* runFor(retried)
      expect(exit).toEqual(Exit.fail(new HttpError({ message: "6" })))
      expect(calls).toBe(6)
      expect(inner).toEqual(["backoff 1", "giveup 2", "backoff 1", "giveup 2", "backoff 1", "giveup 2"])
      expect(outer).toEqual(["backoff 1 2", "backoff 2 4", "giveup 3 6"])
    }))

  it.effect("multiple decorators (the seeds' example): onPredicate over two onException layers", () =>
    Effect.gen(function*() {
      const script: ReadonlyArray<Effect.Effect<string | null, NetError | HttpError>> = [
        Effect.fail(new NetError("reset")),
        Effect.fail(new HttpError({ message: "503" })),
        Effect.succeed(null),
        Effect.fail(new NetError("reset")),
        Effect.succeed("message")
      ]
      let calls = 0
      const backoffs: Array<string> = []
      const layer = (name: string) => () => {
        backoffs.push(name)
      }
      const poll = Effect.suspend(() => script[calls++]!).pipe(
        Backoff.onException({
          wait: Wait.expo(),
          jitter: null,
          exception: NetError,
          maxTries: 3,
          onBackoff: layer("net")
        }),
        Backoff.onException({
          wait: Wait.expo(),
          jitter: null,
          exception: HttpError,
          maxTries: 4,
          onBackoff: layer("http")
        }),
        Backoff.onPredicate({ wait: Wait.fibo({ maxValue: "13 seconds" }), jitter: null, onBackoff: layer("poll") })
      )
      expect(yield* runFor(poll)).toEqual(Exit.succeed("message"))
      expect(calls).toBe(5)
      expect(backoffs).toEqual(["net", "http", "poll", "net"])
    }))

  it.effect("errors the inner filter does not match go straight to the outer policy", () =>
    Effect.gen(function*() {
      let calls = 0
      let innerBackoffs = 0
      const retried = Effect.suspend(() => ++calls < 3 ? Effect.fail(new ParseError("p")) : Effect.succeed("ok")).pipe(
        Backoff.onException({
          exception: NetError,
          onBackoff: () => {
            innerBackoffs++
          }
        }),
        Backoff.onException({ wait: Wait.constant(), jitter: null, exception: ParseError })
      )
      expect(yield* runFor(retried)).toEqual(Exit.succeed("ok"))
      expect(calls).toBe(3)
      expect(innerBackoffs).toBe(0)
    }))
})
