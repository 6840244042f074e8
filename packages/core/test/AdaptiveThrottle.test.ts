import { AdaptiveThrottle, Backoff, InvalidOptionError, RetryBudget, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Exit, FastCheck as fc, Metric, Option, Random, TestClock } from "effect"
import { runFor } from "./helpers.js"

const ok = Effect.succeed("ok")
const overloaded = Effect.fail("overloaded" as const)

/** `n` calls through the throttle, each failing; how many were rejected locally. */
const failMany = (throttle: AdaptiveThrottle.AdaptiveThrottle, n: number) =>
  Effect.gen(function*() {
    let rejected = 0
    for (let i = 0; i < n; i++) {
      const exit = yield* Effect.exit(throttle.execute(overloaded))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error !== "overloaded") rejected++
    }
    return rejected
  })

describe("AdaptiveThrottle options", () => {
  it.each([
    [{ window: 0 }, "window"],
    [{ window: "59 millis" }, "window"],
    [{ window: "-1 seconds" }, "window"],
    [{ window: "Infinity" }, "window"],
    [{ k: 0.5 }, "k"],
    [{ k: Number.NaN }, "k"],
    [{ k: "2" }, "k"],
    [{ k: Infinity }, "k"],
    [{ isAccepted: true }, "isAccepted"],
    [{ name: "" }, "name"],
    [{ name: 5 }, "name"],
    [{ windw: "1 minute" }, "AdaptiveThrottle.windw"],
    [5, "AdaptiveThrottle"]
  ])("%o is an InvalidOptionError naming %s", (options, option) => {
    for (const f of [() => AdaptiveThrottle.make(options as any), () => AdaptiveThrottle.layer(options as any)]) {
      let error: unknown
      try {
        f()
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError).option).toBe(option)
    }
  })

  it("a throttle option that is not a throttle is an InvalidOptionError", () => {
    expect(() => Backoff.onException({ throttle: {} as any })).toThrow(/throttle must be/)
    expect(() => Backoff.retry({ times: 1, throttle: "yes" as any })).toThrow(InvalidOptionError)
    expect(() => AdaptiveThrottle.protect({} as any)).toThrow(InvalidOptionError)
  })
})

describe("AdaptiveThrottle", () => {
  it("the formula is the SRE book's", () => {
    expect(AdaptiveThrottle.rejectionProbability(0, 0)).toBe(0)
    expect(AdaptiveThrottle.rejectionProbability(10, 5)).toBe(0)
    expect(AdaptiveThrottle.rejectionProbability(10, 0)).toBeCloseTo(10 / 11)
    expect(AdaptiveThrottle.rejectionProbability(100, 30)).toBeCloseTo(40 / 101)
    expect(AdaptiveThrottle.rejectionProbability(100, 30, 3)).toBeCloseTo(10 / 101)
    expect(AdaptiveThrottle.rejectionProbability(100, 30, 4)).toBe(0)
  })

  it.effect("a healthy backend is never throttled and costs no random draw", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make()
      // a Random that would reject everything if it were asked
      for (let i = 0; i < 100; i++) {
        expect(yield* throttle.execute(ok).pipe(Effect.withRandom(Random.fixed([0])))).toBe("ok")
      }
      expect(yield* throttle.stats).toStrictEqual({ requests: 100, accepts: 100, probability: 0 })
    }))

  it.effect("failures raise the probability; a rejected call is counted, never run", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make({ name: "t1" })
      yield* failMany(throttle, 10)
      const stats = yield* throttle.stats
      expect(stats.requests).toBe(10)
      expect(stats.accepts).toBe(0)
      expect(stats.probability).toBeCloseTo(10 / 11)
      let ran = false
      const exit = yield* Effect.exit(
        throttle.execute(Effect.sync(() => (ran = true))).pipe(Effect.withRandom(Random.fixed([0.5])))
      )
      expect(ran).toBe(false)
      expect(exit).toStrictEqual(Exit.fail(new AdaptiveThrottle.ThrottledError({ probability: 10 / 11, name: "t1" })))
      expect((yield* throttle.stats).requests).toBe(11)
      const rejections = yield* Metric.value(AdaptiveThrottle.metrics.rejections.pipe(Metric.tagged("throttle", "t1")))
      const requests = yield* Metric.value(AdaptiveThrottle.metrics.requests.pipe(Metric.tagged("throttle", "t1")))
      expect(requests.count).toBe(11)
      expect(rejections.count).toBeGreaterThanOrEqual(1)
    }))

  it.effect("the window slides on the Clock: after it has passed, nothing counts", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make({ window: "1 minute" })
      yield* failMany(throttle, 20)
      yield* TestClock.adjust("30 seconds")
      expect((yield* throttle.stats).requests).toBe(20)
      yield* TestClock.adjust("30 seconds")
      expect(yield* throttle.stats).toStrictEqual({ requests: 0, accepts: 0, probability: 0 })
    }))

  it.effect("isAccepted decides what the backend accepted", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make({ isAccepted: (exit) => Exit.isSuccess(exit) || true })
      yield* failMany(throttle, 10)
      expect((yield* throttle.stats).accepts).toBe(10)
    }))

  it.effect("interruption counts as a request, never as an accept", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make()
      yield* Effect.exit(Effect.timeout(throttle.execute(Effect.never), "1 second").pipe((e) => runFor(e, "2 seconds")))
      expect(yield* throttle.stats).toMatchObject({ requests: 1, accepts: 0 })
    }))

  it.effect("protect is execute, in both forms", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make()
      expect(yield* ok.pipe(AdaptiveThrottle.protect(throttle))).toBe("ok")
      expect(yield* AdaptiveThrottle.protect(ok, throttle)).toBe("ok")
      expect((yield* throttle.stats).requests).toBe(2)
    }))
})

/**
 * Virtual time set by hand: the properties step time thousands of times, and
 * TestClock.adjust costs milliseconds of wall time per step (nothing here sleeps).
 */
class ManualClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  now = 0
  readonly currentTimeMillis = Effect.sync(() => this.now)
  readonly currentTimeNanos = Effect.sync(() => this.unsafeCurrentTimeNanos())
  unsafeCurrentTimeMillis() {
    return this.now
  }
  unsafeCurrentTimeNanos() {
    return BigInt(Math.round(this.now * 1e6))
  }
  sleep() {
    return Effect.die("ManualClock does not sleep")
  }
}

/** The model: every call (time, accepted), counted by the ring's rule (the last 60 buckets of window/60). */
const modelProbability = (
  events: ReadonlyArray<{ readonly at: number; readonly accepted: boolean }>,
  now: number,
  windowMillis: number,
  k: number
) => {
  const width = windowMillis / 60
  const current = Math.floor(now / width)
  const live = events.filter((e) => Math.floor(e.at / width) > current - 60)
  const requests = live.length
  const accepts = live.filter((e) => e.accepted).length
  return Math.max(0, (requests - k * accepts) / (requests + 1))
}

describe("AdaptiveThrottle properties", () => {
  it("over random accept/reject sequences the probability is the formula over the window", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 20_000 }), accept: fc.boolean() }), {
          minLength: 1,
          maxLength: 80
        }),
        fc.constantFrom(2, 1.5, 3),
        fc.integer(),
        (calls, k, seed) => {
          const clock = new ManualClock()
          return Effect.runPromise(
            Effect.gen(function*() {
              const windowMillis = 60_000
              const throttle = yield* AdaptiveThrottle.make({ window: windowMillis, k })
              const events: Array<{ at: number; accepted: boolean }> = []
              let now = 0
              for (const call of calls) {
                clock.now += call.gap
                now += call.gap
                const expected = modelProbability(events, now, windowMillis, k)
                expect((yield* throttle.stats).probability).toBeCloseTo(expected, 12)
                const exit = yield* Effect.exit(throttle.execute(call.accept ? ok : overloaded))
                const rejected = Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error !== "overloaded"
                events.push({ at: now, accepted: call.accept && !rejected })
              }
            }).pipe(Effect.withRandom(Random.make(seed)), Effect.withClock(clock))
          )
        }
      ),
      { numRuns: 100 }
    ))

  it("with every call accepted it never rejects", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 200 }),
        fc.integer(),
        (gaps, seed) => {
          const clock = new ManualClock()
          return Effect.runPromise(
            Effect.gen(function*() {
              const throttle = yield* AdaptiveThrottle.make({ window: "30 seconds" })
              for (const gap of gaps) {
                clock.now += gap
                expect(yield* throttle.execute(ok)).toBe("ok")
              }
              expect((yield* throttle.stats).probability).toBe(0)
            }).pipe(Effect.withRandom(Random.make(seed)), Effect.withClock(clock))
          )
        }
      ),
      { numRuns: 50 }
    ))

  it.effect("the rejections drawn match the probabilities (seeded Random)", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make()
      // a backend that accepts 30% of what reaches it
      let expected = 0
      let rejected = 0
      let n = 0
      for (let i = 0; i < 3000; i++) {
        expected += (yield* throttle.stats).probability
        const exit = yield* Effect.exit(throttle.execute(Effect.suspend(() => n++ % 10 < 3 ? ok : overloaded)))
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error !== "overloaded") rejected++
      }
      // a sum of independent Bernoulli draws: within 4 standard deviations (sd <= sqrt(3000 / 4) < 28)
      expect(Math.abs(rejected - expected)).toBeLessThan(4 * 28)
    }).pipe(Effect.withRandom(Random.make(19))))

  it("the SRE figure: against a backend with capacity for 30% of the load, what it receives approaches accepts × K", async () => {
    const clock = new ManualClock()
    const sent = await Effect.runPromise(
      Effect.gen(function*() {
        const throttle = yield* AdaptiveThrottle.make({ window: "1 minute" })
        // 100 calls per second for 3 minutes; the backend accepts at most 30 per second
        let acceptedThisSecond = 0
        let second = -1
        const backend = Effect.suspend(() => {
          const s = Math.floor(clock.now / 1000)
          if (s !== second) [second, acceptedThisSecond] = [s, 0]
          return acceptedThisSecond++ < 30 ? ok : overloaded
        })
        let received = 0
        const counted = Effect.suspend(() => {
          received++
          return backend
        })
        let lastMinute = 0
        for (let i = 0; i < 18_000; i++) {
          clock.now = i * 10
          if (i === 12_000) lastMinute = received
          yield* Effect.exit(throttle.execute(counted))
        }
        return received - lastMinute
      }).pipe(Effect.withRandom(Random.make(7)), Effect.withClock(clock))
    )
    // accepts are 30 per second (1800 in the last minute): the backend receives about 2 × 1800
    expect(sent).toBeGreaterThan(1800 * 2 * 0.9)
    expect(sent).toBeLessThan(1800 * 2 * 1.1)
  })
})

describe("the throttle option", () => {
  it.effect("a rejected attempt is retried whatever while says, and withdraws no budget token", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make()
      yield* failMany(throttle, 50)
      const budget = yield* RetryBudget.make({ percentCanRetry: 0, minRetriesPerSecond: 0 })
      let calls = 0
      const task = Effect.sync(() => ++calls)
      const program = task.pipe(
        Backoff.retry({
          schedule: Wait.constant({ interval: "1 second" }),
          times: 5,
          while: () => false,
          throttle,
          budget,
          logger: false
        }),
        // the first two draws reject, the third admits
        Effect.withRandom(Random.fixed([0, 0, 0.99]))
      )
      const exit = yield* runFor(program, "10 seconds")
      expect(exit).toStrictEqual(Exit.succeed(1))
      expect(calls).toBe(1)
    }))

  it.effect("a run that gives up on a rejection fails with ThrottledError, on every entry point", () =>
    Effect.gen(function*() {
      const throttle = yield* AdaptiveThrottle.make({ name: "give-up" })
      yield* failMany(throttle, 50)
      const reasons: Array<string> = []
      const onGiveup = (d: { readonly reason: string; readonly exception?: unknown }) => {
        reasons.push(`${d.reason}:${(d.exception as { _tag?: string } | undefined)?._tag}`)
      }
      const always = Random.fixed([0])
      const retried = Effect.succeed(1).pipe(
        Backoff.retry({
          schedule: Wait.constant({ interval: "1 second" }),
          times: 2,
          throttle,
          onGiveup,
          logger: false
        })
      )
      const repeated = Effect.succeed(1).pipe(
        Backoff.repeat({
          schedule: Wait.constant({ interval: "1 second" }),
          times: 2,
          throttle,
          onGiveup,
          logger: false
        })
      )
      const python = Effect.fail("x").pipe(
        Backoff.onException({ maxTries: 3, exception: () => false, raiseOnGiveup: false, throttle, onGiveup })
      )
      const polled = Effect.succeed(0).pipe(Backoff.onPredicate({ maxTries: 2, throttle, logger: false }))
      for (const program of [retried, repeated, python, polled] as const) {
        const exit = yield* runFor(Effect.withRandom(program as Effect.Effect<unknown, unknown>, always), "1 minute")
        if (program === python) {
          // raiseOnGiveup: false is one rule for every cause of a give-up (as a breaker's rejection)
          expect(exit).toStrictEqual(Exit.succeed(Option.none()))
          continue
        }
        expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toBeInstanceOf(
          AdaptiveThrottle.ThrottledError
        )
      }
      expect(reasons).toStrictEqual([
        "maxTries:ThrottledError",
        "maxTries:ThrottledError",
        "maxTries:ThrottledError"
      ])
    }))

  it.effect("throttle: true uses the AdaptiveThrottle in context; outcomes are counted per attempt", () =>
    Effect.gen(function*() {
      let calls = 0
      const task = Effect.suspend(() => ++calls < 3 ? Effect.fail("busy") : Effect.succeed("done"))
      const program = task.pipe(
        Backoff.onException({
          wait: Wait.constant({ interval: "1 second" }),
          jitter: null,
          maxTries: 5,
          throttle: true,
          logger: false
        }),
        // no local rejection: every attempt reaches the task
        Effect.withRandom(Random.fixed([0.99]))
      )
      const stats = yield* Effect.gen(function*() {
        const exit = yield* runFor(program, "10 seconds")
        expect(exit).toStrictEqual(Exit.succeed("done"))
        return yield* (yield* AdaptiveThrottle.AdaptiveThrottle).stats
      }).pipe(Effect.provide(AdaptiveThrottle.layer()))
      expect(stats).toMatchObject({ requests: 3, accepts: 1 })
    }))
})
