/**
 * Hostile and surprising input to the loop: jitter on zero waits (python's rule), Promise
 * predicates, bad jitter results, runtime waits, a wall clock that steps back, an unbound
 * method, Timeline's validation, and the log line's precision.
 */
import { Backoff, InvalidOptionError, Jitter, Timeline, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Duration, Effect, Exit, Fiber, Option, Random, TestClock } from "effect"
import { captureLogs } from "./helpers.js"
import type { LogLine } from "./helpers.js"

const quiet = { logger: false } as const

/** The virtual times (ms) at which `task` was called, on the TestClock. */
const callTimes = <E>(
  make: (task: Effect.Effect<never, string>) => Effect.Effect<unknown, E>,
  advance: Duration.DurationInput = "1 hour"
) =>
  Effect.gen(function*() {
    const times: Array<number> = []
    const task = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      times.push(now)
      return Effect.fail("e")
    })
    const fiber = yield* Effect.fork(Effect.exit(make(task)).pipe(Effect.withRandom(Random.make(3))))
    yield* TestClock.adjust(advance)
    const exit = yield* Fiber.join(fiber)
    // relative to the first call: a test may run several of these on one TestClock
    return { times: times.map((t) => t - times[0]!), exit }
  })

const defectOf = (exit: Exit.Exit<unknown, unknown>): unknown =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined

describe("jitter runs on every wait, zero included (python-backoff's rule)", () => {
  it.effect("Jitter.random on a zero wait sleeps a random 0-1 s; a custom `v + 250 ms` sleeps 250 ms", () =>
    Effect.gen(function*() {
      const zero = Wait.constant({ interval: "0 seconds" })
      const random = yield* callTimes((t) =>
        t.pipe(Backoff.onException({ ...quiet, wait: zero, jitter: Jitter.random, maxTries: 4 }))
      )
      const gaps = random.times.slice(1).map((t, i) => t - random.times[i]!)
      expect(gaps).toHaveLength(3)
      expect(gaps.every((g) => g > 0 && g < 1000)).toBe(true)
      const plus = yield* callTimes((t) =>
        t.pipe(Backoff.onException({
          ...quiet,
          wait: zero,
          jitter: (w) => Duration.sum(w, Duration.millis(250)),
          maxTries: 3
        }))
      )
      expect(plus.times).toEqual([0, 250, 500])
    }))

  it.effect("jitters that map 0 to 0 are not called on a zero wait, and a zero wait does not sleep", () =>
    Effect.gen(function*() {
      const zero = Wait.constant({ interval: "0 seconds" })
      for (const jitter of [Jitter.full, Jitter.equal, Jitter.none, null]) {
        const { times } = yield* callTimes((t) =>
          t.pipe(Backoff.onException({ ...quiet, wait: zero, jitter, maxTries: 3 }))
        )
        expect(times).toEqual([0, 0, 0])
      }
    }))
})

describe("predicates may return Promises: they are awaited, never read as truthy objects", () => {
  it.effect("an async predicate, giveup and exception filter", () =>
    Effect.gen(function*() {
      let polls = 0
      const poll = Effect.sync(() => ++polls)
      const fiber = yield* Effect.fork(poll.pipe(Backoff.onPredicate({
        ...quiet,
        wait: Wait.constant({ interval: "1 second" }),
        predicate: async (n) => n < 3
      })))
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toBe(3)

      const giveup = yield* callTimes((t) =>
        t.pipe(Backoff.onException({ ...quiet, wait: Wait.constant(), giveup: async () => true }))
      )
      expect(giveup.times).toHaveLength(1)

      const filtered = yield* callTimes((t) =>
        t.pipe(Backoff.onException({ ...quiet, wait: Wait.constant(), maxTries: 50, exception: async () => false }))
      )
      expect(filtered.times).toHaveLength(1)
      expect(filtered.exit).toEqual(Exit.fail("e"))
    }))

  it.effect("a rejected predicate Promise is a defect: no further call", () =>
    Effect.gen(function*() {
      const { exit, times } = yield* callTimes((t) =>
        t.pipe(
          Backoff.onException({ ...quiet, wait: Wait.constant(), giveup: () => Promise.reject(new Error("broken")) })
        )
      )
      expect(times).toHaveLength(1)
      expect((defectOf(exit) as Error).message).toBe("broken")
    }))
})

describe("a jitter's result is checked: a Duration, a DurationInput or an Effect of one", () => {
  it.effect("a plain Duration and a number of millis are accepted", () =>
    Effect.gen(function*() {
      const duration = yield* callTimes((t) =>
        t.pipe(
          Backoff.onException({ ...quiet, wait: Wait.constant(), jitter: () => Duration.millis(300), maxTries: 3 })
        )
      )
      expect(duration.times).toEqual([0, 300, 600])
      const millis = yield* callTimes((t) =>
        t.pipe(
          Backoff.onException({ ...quiet, wait: Wait.constant(), jitter: (w) => Duration.toMillis(w) / 4, maxTries: 3 })
        )
      )
      expect(millis.times).toEqual([0, 250, 500])
    }))

  for (
    const [label, bad] of [["-5", -5], ["NaN", Number.NaN], ["Infinity", Infinity], [
      "-1 seconds",
      "-1 seconds"
    ]] as const
  ) {
    it.effect(`a jitter returning ${label} (directly or in an Effect) makes the run die with InvalidOptionError naming jitter`, () =>
      Effect.gen(function*() {
        for (const jitter of [() => bad, () => Effect.succeed(bad)]) {
          const { exit, times } = yield* callTimes((t) =>
            t.pipe(Backoff.onException({ ...quiet, wait: Wait.constant(), jitter: jitter as Jitter.Jitter }))
          )
          expect(times).toHaveLength(1)
          const defect = defectOf(exit)
          expect(defect).toBeInstanceOf(InvalidOptionError)
          expect((defect as InvalidOptionError).option).toBe("jitter")
        }
      }))
  }

  it.effect("the same check under Effect.retry, through Jitter.apply", () =>
    Effect.gen(function*() {
      const policy = Wait.constant().pipe(Jitter.apply((() => -5) as Jitter.Jitter))
      const { exit, times } = yield* callTimes((t) => Effect.retry(t, policy))
      expect(times).toHaveLength(1)
      expect((defectOf(exit) as InvalidOptionError).option).toBe("jitter")
    }))
})

describe("Wait.runtime: a computed wait that is no duration fails the run naming wait", () => {
  for (const bad of [Number.NaN, -1, Infinity]) {
    it.effect(`${bad}`, () =>
      Effect.gen(function*() {
        const { exit, times } = yield* callTimes((t) =>
          t.pipe(Backoff.onException({ ...quiet, wait: Wait.runtime(() => bad), jitter: null }))
        )
        expect(times).toHaveLength(1)
        expect((defectOf(exit) as InvalidOptionError).option).toBe("wait")
      }))
  }
})

/** A clock whose wall time steps back an hour after the first reading; its monotonic time does not. */
class SteppingClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  now = 0
  reads = 0
  unsafeCurrentTimeMillis(): number {
    return this.reads++ === 0 ? this.now : this.now - 3_600_000
  }
  unsafeCurrentTimeNanos(): bigint {
    return BigInt(Math.round(this.now * 1e6))
  }
  readonly currentTimeMillis: Effect.Effect<number> = Effect.sync(() => this.unsafeCurrentTimeMillis())
  readonly currentTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.unsafeCurrentTimeNanos())
  sleep(duration: Duration.Duration): Effect.Effect<void> {
    return Effect.sync(() => {
      this.now += Duration.toMillis(duration)
    })
  }
}

describe("time is the Clock's monotonic reading", () => {
  it.effect("a wall clock stepping back an hour mid-run neither stretches nor cuts maxTime", () =>
    Effect.gen(function*() {
      const clock = new SteppingClock()
      let calls = 0
      const task = Effect.suspend(() => {
        calls++
        return Effect.fail("e")
      })
      const exit = yield* task.pipe(
        Backoff.onException({
          ...quiet,
          wait: Wait.constant({ interval: "100 millis" }),
          jitter: null,
          maxTime: "300 millis",
          maxTries: 60
        }),
        Effect.exit,
        Effect.withClock(clock)
      )
      expect(exit).toEqual(Exit.fail("e"))
      // calls at 0, 100, 200, 300 ms: the budget is spent at 300 ms
      expect(calls).toBe(4)
      expect(clock.now).toBe(300)
    }))
})

describe("the function form", () => {
  it.effect("an unbound method (a synchronous TypeError) is a defect, not a retried failure", () =>
    Effect.gen(function*() {
      class Client {
        base = "http://x"
        get(path: string) {
          return Effect.succeed(`${this.base}${path}`)
        }
      }
      const client = new Client()
      let tries = 0
      const get = Backoff.onException(client.get, {
        ...quiet,
        wait: Wait.constant(),
        onBackoff: () => {
          tries++
        }
      })
      const exit = yield* Effect.exit(get("/a"))
      expect(defectOf(exit)).toBeInstanceOf(TypeError)
      expect(tries).toBe(0)
    }))

  it.effect("any other synchronous throw is still a retryable failure carrying the thrown value", () =>
    Effect.gen(function*() {
      let calls = 0
      const parse = (s: string) => {
        calls++
        if (calls < 3) throw new RangeError(`not yet: ${s}`)
        return s.length
      }
      const fiber = yield* Effect.fork(Backoff.onException(parse, { ...quiet, wait: Wait.constant() })("abc"))
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toBe(3)
    }))
})

describe("Timeline validates at the call", () => {
  it("maxTries: 0 throws at Timeline.run, as onException does", () => {
    expect(() => Timeline.run({ maxTries: 0 }, [Timeline.fail("e")])).toThrow(InvalidOptionError)
    expect(() => Timeline.runPredicate({ maxTime: -1 }, [0])).toThrow(/maxTime/)
  })
})

describe("log lines show short waits with enough precision", () => {
  it.effect("a 2 ms wait logs as 2ms, a 1.5 s wait as 1.5s", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const fiber = yield* Effect.fork(captureLogs(
        Effect.exit(
          Effect.fail("e").pipe(Backoff.onException({
            wait: Wait.constant({ interval: ["2 millis", "1500 millis"] }),
            jitter: null
          }))
        ),
        lines
      ))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      expect(lines.map((l) => l.message)).toEqual([
        "Backing off effect(...) for 2ms (e)",
        "Backing off effect(...) for 1.5s (e)",
        "Giving up effect(...) after 3 tries (e)"
      ])
    }))
})
