import { Backoff, Jitter, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Clock,
  Config,
  ConfigProvider,
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  FiberRef,
  LogLevel,
  Option,
  Random,
  Schedule,
  TestClock
} from "effect"
import type { LogLine } from "./helpers.js"
import { captureLogs, HttpError, NetError, OtherError, ParseError, runFor, secs, TimeoutError } from "./helpers.js"

/** The defect of a dying Exit, or fails the test. */
const defectOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  if (Exit.isSuccess(exit)) throw new Error("expected a defect, got a success")
  const defect = Cause.dieOption(exit.cause)
  if (Option.isNone(defect)) throw new Error(`expected a defect, got ${Cause.pretty(exit.cause)}`)
  return defect.value
}

/** An effect that fails with the next error of `errors` (the last repeating), counting calls. */
const failing = <E>(errors: ReadonlyArray<E>, counter: { calls: number }) =>
  Effect.suspend(() => {
    const e = errors[Math.min(counter.calls, errors.length - 1)]!
    counter.calls++
    return Effect.fail(e)
  })

/** Fails `n` times with `error`, then succeeds with `value`. */
const flaky = <A, E>(n: number, error: E, value: A, counter: { calls: number }) =>
  Effect.suspend(() => ++counter.calls <= n ? Effect.fail(error) : Effect.succeed(value))

const keysOf = (o: object) => Object.keys(o).sort()

/** Which concurrent run a fiber belongs to. */
const Id = FiberRef.unsafeMake(0)

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
        Backoff.onException({ wait: Wait.constant(), jitter: null, exception: "HttpError" })
      )
      expect(yield* Effect.exit(passes)).toEqual(Exit.fail(new OtherError({ code: 2 })))
      expect(other.calls).toBe(1)
      // a string error is not an object with _tag: it does not match
      const str = { calls: 0 }
      const strPasses = failing(["HttpError"], str).pipe(
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
      const fn = policy(() => Effect.fail("f"))
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
  const trace = (options: { wait: Wait.Wait<unknown>; maxTime: Duration.DurationInput }, callTime?: Duration.DurationInput) =>
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

describe("details", () => {
  it.effect("onException: exact key sets for success, backoff and giveup", () =>
    Effect.gen(function*() {
      const keys: Record<string, Array<ReadonlyArray<string>>> = { success: [], backoff: [], giveup: [] }
      const options = {
        wait: Wait.constant(),
        jitter: null,
        maxTries: 2,
        onSuccess: (d: Backoff.SuccessDetails<unknown>) => {
          keys.success!.push(keysOf(d))
        },
        onBackoff: (d: Backoff.BackoffDetails<unknown, unknown>) => {
          keys.backoff!.push(keysOf(d))
        },
        onGiveup: (d: Backoff.GiveupDetails<unknown, unknown>) => {
          keys.giveup!.push(keysOf(d))
        }
      }
      yield* runFor(flaky(1, "e", "ok", { calls: 0 }).pipe(Backoff.onException(options)))
      yield* runFor(Effect.fail("e").pipe(Backoff.onException(options)))
      expect(keys).toEqual({
        success: [["args", "elapsed", "target", "tries"]],
        backoff: [["args", "elapsed", "exception", "target", "tries", "wait"], [
          "args",
          "elapsed",
          "exception",
          "target",
          "tries",
          "wait"
        ]],
        giveup: [["args", "elapsed", "exception", "reason", "target", "tries"]]
      })
    }))

  it.effect("onPredicate: value on every event (success included, even when undefined); wait only on backoff", () =>
    Effect.gen(function*() {
      const seen: Array<{ event: string; keys: ReadonlyArray<string>; value: unknown }> = []
      const options = {
        wait: Wait.constant(),
        jitter: null,
        maxTries: 3,
        onSuccess: (d: Backoff.SuccessDetails<unknown>) => {
          seen.push({ event: "success", keys: keysOf(d), value: d.value })
        },
        onBackoff: (d: Backoff.BackoffDetails<unknown, never>) => {
          seen.push({ event: "backoff", keys: keysOf(d), value: d.value })
        },
        onGiveup: (d: Backoff.GiveupDetails<unknown, never>) => {
          seen.push({ event: "giveup", keys: keysOf(d), value: d.value })
        }
      }
      const values: ReadonlyArray<unknown> = [undefined, 0, 7]
      let i = 0
      yield* runFor(Effect.sync(() => values[i++]).pipe(Backoff.onPredicate(options)))
      let j = 0
      yield* runFor(Effect.sync(() => values[j++ % 2]).pipe(Backoff.onPredicate(options)))
      const success = ["args", "elapsed", "target", "tries", "value"]
      const backoff = ["args", "elapsed", "target", "tries", "value", "wait"]
      const giveup = ["args", "elapsed", "reason", "target", "tries", "value"]
      expect(seen).toEqual([
        { event: "backoff", keys: backoff, value: undefined },
        { event: "backoff", keys: backoff, value: 0 },
        { event: "success", keys: success, value: 7 },
        { event: "backoff", keys: backoff, value: undefined },
        { event: "backoff", keys: backoff, value: 0 },
        { event: "giveup", keys: giveup, value: undefined }
      ])
    }))

  it.effect("the Effect form has target \"effect\" and args []", () =>
    Effect.gen(function*() {
      const seen: Array<{ target: string; args: ReadonlyArray<unknown> }> = []
      yield* runFor(Effect.fail("e").pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTries: 2,
        onBackoff: (d) => {
          seen.push({ target: d.target, args: d.args })
        },
        onGiveup: (d) => {
          seen.push({ target: d.target, args: d.args })
        }
      })))
      expect(seen).toEqual([{ target: "effect", args: [] }, { target: "effect", args: [] }])
    }))

  it.effect("elapsed and wait match the TestClock (calls of 300ms)", () =>
    Effect.gen(function*() {
      const t0 = yield* Clock.currentTimeMillis
      const callStarts: Array<number> = []
      const events: Array<{ event: string; tries: number; elapsed: number; wait?: number; now: number }> = []
      const call = Effect.gen(function*() {
        callStarts.push((yield* Clock.currentTimeMillis) - t0)
        yield* Effect.sleep("300 millis")
        return yield* Effect.fail("e")
      })
      const retried = call.pipe(Backoff.onException({
        wait: Wait.expo({ factor: "500 millis" }),
        jitter: null,
        maxTries: 4,
        onBackoff: (d) =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            events.push({
              event: "backoff",
              tries: d.tries,
              elapsed: Duration.toMillis(d.elapsed),
              wait: Duration.toMillis(d.wait),
              now: now - t0
            })
          }),
        onGiveup: (d) =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            events.push({ event: "giveup", tries: d.tries, elapsed: Duration.toMillis(d.elapsed), now: now - t0 })
          })
      }))
      yield* runFor(retried)
      expect(callStarts).toEqual([0, 800, 2100, 4400])
      expect(events).toEqual([
        { event: "backoff", tries: 1, elapsed: 300, wait: 500, now: 300 },
        { event: "backoff", tries: 2, elapsed: 1100, wait: 1000, now: 1100 },
        { event: "backoff", tries: 3, elapsed: 2400, wait: 2000, now: 2400 },
        { event: "giveup", tries: 4, elapsed: 4700, now: 4700 }
      ])
      // the wait is the clock advance from the backoff to the next call
      for (let k = 0; k < 3; k++) {
        expect(callStarts[k + 1]! - events[k]!.now).toBe(events[k]!.wait)
      }
    }))

  it.effect("onSuccess elapsed is measured from the start of the first call, after the successful call", () =>
    Effect.gen(function*() {
      let calls = 0
      const elapsed: Array<number> = []
      const retried = Effect.gen(function*() {
        yield* Effect.sleep("250 millis")
        return ++calls < 2 ? yield* Effect.fail("e") : "ok"
      }).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        onSuccess: (d) => {
          elapsed.push(Duration.toMillis(d.elapsed))
        }
      }))
      yield* TestClock.adjust("10 seconds") // the run starts later than the clock's origin
      expect(yield* runFor(retried)).toEqual(Exit.succeed("ok"))
      expect(elapsed).toEqual([1500])
    }))

  it.effect("one details object is shared by all handlers of an event", () =>
    Effect.gen(function*() {
      const objects: Array<Array<object>> = [[], [], []]
      const retried = flaky(1, "e", "ok", { calls: 0 }).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        onBackoff: [(d) => {
          objects[0]!.push(d)
        }, (d) => {
          objects[0]!.push(d)
        }],
        onSuccess: [(d) => {
          objects[1]!.push(d)
        }, (d) => {
          objects[1]!.push(d)
        }, (d) => {
          objects[1]!.push(d)
        }]
      }))
      yield* runFor(retried)
      expect(objects[0]).toHaveLength(2)
      expect(objects[0]![0]).toBe(objects[0]![1])
      expect(objects[1]).toHaveLength(3)
      expect(objects[1]![0]).toBe(objects[1]![1])
      expect(objects[1]![1]).toBe(objects[1]![2])

      const giveups: Array<object> = []
      yield* runFor(Effect.fail("e").pipe(Backoff.onException({
        maxTries: 1,
        onGiveup: [(d) => {
          giveups.push(d)
        }, (d) => {
          giveups.push(d)
        }]
      })))
      expect(giveups).toHaveLength(2)
      expect(giveups[0]).toBe(giveups[1])
    }))
})

describe("handlers", () => {
  class Recorder extends Context.Tag("Recorder")<Recorder, { readonly record: (s: string) => void }>() {}

  it.effect("run in array order; a Promise is awaited; an Effect runs (with its requirements)", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const retried = flaky(1, "e", "ok", { calls: 0 }).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        onBackoff: [
          async () => {
            order.push("promise start")
            for (let i = 0; i < 5; i++) await Promise.resolve()
            order.push("promise end")
          },
          () => {
            order.push("sync")
          },
          () => Effect.flatMap(Recorder, (r) => Effect.sync(() => r.record("effect")))
        ]
      }))
      const exit = yield* runFor(retried).pipe(
        Effect.provideService(Recorder, { record: (s) => order.push(s) })
      )
      expect(exit).toEqual(Exit.succeed("ok"))
      expect(order).toEqual(["promise start", "promise end", "sync", "effect"])
    }))

  it.effect("handlers run before the sleep and the next call", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      let calls = 0
      const retried = Effect.suspend(() => {
        order.push(`call ${++calls}`)
        return calls < 3 ? Effect.fail("e") : Effect.succeed("ok")
      }).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        onBackoff: (d) => Effect.sync(() => order.push(`backoff ${d.tries}`)),
        onSuccess: (d) => Effect.sync(() => order.push(`success ${d.tries}`))
      }))
      yield* runFor(retried)
      expect(order).toEqual(["call 1", "backoff 1", "call 2", "backoff 2", "call 3", "success 3"])
    }))

  const dying = [
    { name: "throws", handler: (boom: Error) => () => {
        throw boom
      } },
    { name: "rejects", handler: (boom: Error) => () => Promise.reject(boom) },
    { name: "dies", handler: (boom: Error) => () => Effect.die(boom) },
    { name: "fails (Effect failure)", handler: (boom: Error) => () => Effect.fail(boom) as unknown as Effect.Effect<void> }
  ] as const

  for (const { handler, name } of dying) {
    it.effect(`an onBackoff handler that ${name}: the run dies with that defect, nothing further runs`, () =>
      Effect.gen(function*() {
        const boom = new Error(`boom ${name}`)
        let calls = 0
        const after: Array<string> = []
        const retried = Effect.suspend(() => {
          calls++
          return Effect.fail("e")
        }).pipe(Backoff.onException({
          wait: Wait.constant(),
          jitter: null,
          maxTries: 5,
          onBackoff: [handler(boom), () => {
            after.push("later handler")
          }],
          onGiveup: () => {
            after.push("giveup")
          }
        }))
        const exit = yield* runFor(retried)
        expect(defectOf(exit)).toBe(boom)
        expect(calls).toBe(1)
        expect(after).toEqual([])
        expect(Array.from(yield* TestClock.sleeps())).toEqual([])
      }))
  }

  it.effect("an onGiveup handler that throws: the run dies with that defect instead of failing", () =>
    Effect.gen(function*() {
      const boom = new Error("giveup boom")
      const retried = Effect.fail("e").pipe(Backoff.onException({
        maxTries: 1,
        onGiveup: () => {
          throw boom
        }
      }))
      expect(defectOf(yield* Effect.exit(retried))).toBe(boom)
    }))

  it.effect("an onSuccess handler that rejects: the run dies with that defect", () =>
    Effect.gen(function*() {
      const boom = new Error("success boom")
      const retried = Effect.succeed(1).pipe(Backoff.onException({ onSuccess: () => Promise.reject(boom) }))
      expect(defectOf(yield* Effect.exit(retried))).toBe(boom)
      const poll = Effect.succeed(1).pipe(Backoff.onPredicate({ onSuccess: () => Promise.reject(boom) }))
      expect(defectOf(yield* Effect.exit(poll))).toBe(boom)
    }))
})

describe("logging", () => {
  const getUrl = (_url: string) => Effect.fail(new HttpError({ message: "503" }))

  it.effect("default lines: text, levels and annotations", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const retried = Backoff.onException(getUrl, { wait: Wait.constant(), jitter: null, maxTries: 3 })
      yield* captureLogs(runFor(retried("/x")), lines)
      expect(lines.map((l) => [l.level, l.message])).toEqual([
        [LogLevel.Info, "Backing off getUrl(...) for 1.0s (HttpError: 503)"],
        [LogLevel.Info, "Backing off getUrl(...) for 1.0s (HttpError: 503)"],
        [LogLevel.Error, "Giving up getUrl(...) after 3 tries (HttpError: 503)"]
      ])
      expect(lines[0]!.annotations).toEqual({
        "backoff.target": "getUrl",
        "backoff.tries": 1,
        "backoff.wait": 1,
        "backoff.elapsed": 0
      })
      expect(lines[1]!.annotations).toEqual({
        "backoff.target": "getUrl",
        "backoff.tries": 2,
        "backoff.wait": 1,
        "backoff.elapsed": 1
      })
      expect(lines[2]!.annotations).toMatchObject({
        "backoff.target": "getUrl",
        "backoff.tries": 3,
        "backoff.elapsed": 2
      })
    }))

  it.effect("the wait is shown with one decimal after jitter and the maxTime clamp", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const retried = Effect.fail(new NetError("reset")).pipe(Backoff.onException({
        wait: Wait.constant({ interval: "2 seconds" }),
        jitter: null,
        maxTime: "3.3 seconds"
      }))
      yield* captureLogs(runFor(retried), lines)
      expect(lines.map((l) => l.message)).toEqual([
        "Backing off effect(...) for 2.0s (NetError: reset)",
        "Backing off effect(...) for 1.3s (NetError: reset)",
        "Giving up effect(...) after 3 tries (NetError: reset)"
      ])
      expect(lines[1]!.annotations["backoff.wait"]).toBeCloseTo(1.3, 9)
      expect(lines[2]!.annotations["backoff.elapsed"]).toBeCloseTo(3.3, 9)
    }))

  it.effect("outcome text: Tag: message, Name: message, else String(value)", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const failWith = (e: unknown) =>
        captureLogs(Effect.exit(Effect.fail(e).pipe(Backoff.onException({ maxTries: 1 }))), lines)
      yield* failWith(new HttpError({ message: "503" }))
      yield* failWith(new ParseError("bad json"))
      yield* failWith("plain")
      yield* failWith(42)
      expect(lines.map((l) => l.message)).toEqual([
        "Giving up effect(...) after 1 tries (HttpError: 503)",
        "Giving up effect(...) after 1 tries (ParseError: bad json)",
        "Giving up effect(...) after 1 tries (plain)",
        "Giving up effect(...) after 1 tries (42)"
      ])
    }))

  it.effect("onPredicate lines show the value", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const poll = Effect.succeed(0).pipe(
        Backoff.onPredicate({ wait: Wait.constant(), jitter: null, maxTries: 2, target: "poll" })
      )
      yield* captureLogs(runFor(poll), lines)
      expect(lines.map((l) => [l.level, l.message])).toEqual([
        [LogLevel.Info, "Backing off poll(...) for 1.0s (0)"],
        [LogLevel.Error, "Giving up poll(...) after 2 tries (0)"]
      ])
    }))

  it.effect("custom backoffLogLevel and giveupLogLevel", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const retried = Effect.fail("e").pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTries: 2,
        backoffLogLevel: LogLevel.Warning,
        giveupLogLevel: LogLevel.Fatal
      }))
      yield* captureLogs(runFor(retried), lines)
      expect(lines.map((l) => l.level)).toEqual([LogLevel.Warning, LogLevel.Fatal])
    }))

  it.effect("logger: false silences the default lines (handlers still run)", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      let backoffs = 0
      const retried = Effect.fail("e").pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTries: 3,
        logger: false,
        onBackoff: () => {
          backoffs++
        }
      }))
      yield* captureLogs(runFor(retried), lines)
      expect(lines).toEqual([])
      expect(backoffs).toBe(2)
    }))

  it.effect("the default line runs before the user handlers", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const order: Array<string> = []
      const retried = Effect.fail("e").pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTries: 2,
        onBackoff: () => {
          order.push(`handler after ${lines.length} line(s)`)
        },
        onGiveup: () => {
          order.push(`giveup handler after ${lines.length} line(s)`)
        }
      }))
      yield* captureLogs(runFor(retried), lines)
      expect(order).toEqual(["handler after 1 line(s)", "giveup handler after 2 line(s)"])
    }))

  it.effect("reusing one options object for many effects never duplicates lines", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const options = { wait: Wait.constant(), jitter: null, maxTries: 2 } as const
      const a = Effect.fail("a").pipe(Backoff.onException(options))
      const b = Effect.fail("b").pipe(Backoff.onException(options))
      const policy = Backoff.onException(options)
      const c = policy(Effect.fail("c"))
      const d = policy(Effect.fail("d"))
      for (const e of [a, b, c, d, a]) yield* captureLogs(runFor(e), lines)
      expect(lines.map((l) => l.message)).toEqual(
        ["a", "b", "c", "d", "a"].flatMap((x) => [
          `Backing off effect(...) for 1.0s (${x})`,
          `Giving up effect(...) after 2 tries (${x})`
        ])
      )
    }))

  it.effect("a success logs nothing", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      yield* captureLogs(Effect.succeed(1).pipe(Backoff.onException({})), lines)
      expect(lines).toEqual([])
    }))
})

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
      const dataLast = Backoff.onException({ maxTries: 1, onGiveup: record })(named)
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
      const f = Backoff.onException(() => Effect.suspend(() => ++calls % 3 === 0 ? Effect.succeed(calls) : Effect.fail("e")), {
        wait: Wait.constant(),
        jitter: null,
        maxTries: 3,
        onSuccess: (d) => {
          tries.push(d.tries)
        }
      })
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
