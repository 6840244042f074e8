/**
 * Policies as Schedules: the combinators, Backoff.retry / repeat, and interop with
 * Effect's own drivers (Effect.retry, Effect.repeat, Stream.retry) on the TestClock.
 */
import { Backoff, InvalidOptionError, Jitter, RetryBudget, Timeline, Wait } from "@effect-backoff/core"
import * as Testing from "@effect-backoff/core/Testing"
import { describe, expect, it } from "@effect/vitest"
import {
  Chunk,
  Clock,
  Duration,
  Effect,
  Exit,
  FastCheck as fc,
  Fiber,
  Random,
  Schedule,
  Stream,
  TestClock
} from "effect"
import { HttpError, OtherError, runTest } from "./helpers.js"

const ms = (d: Duration.Duration) => Duration.toMillis(d)
const delaysOf = (policy: Schedule.Schedule<unknown, unknown>, n = 20) =>
  Effect.runSync(Wait.delays(policy, n).pipe(Effect.withRandom(Random.make(1)))).map(ms)

// ---------------------------------------------------------------------------
// Combinators
// ---------------------------------------------------------------------------

describe("Backoff.maxTries / maxTime as Schedule combinators", () => {
  it("maxTries(n): n calls in all, so n - 1 delays; both forms; the lower limit wins", () => {
    expect(delaysOf(Wait.expo().pipe(Backoff.maxTries(4)))).toEqual([1000, 2000, 4000])
    expect(delaysOf(Backoff.maxTries(Wait.expo(), 1))).toEqual([])
    expect(delaysOf(Wait.expo().pipe(Backoff.maxTries(5), Backoff.maxTries(3)))).toEqual([1000, 2000])
    expect(delaysOf(Wait.expo().pipe(Backoff.maxTries(3), Backoff.maxTries(5)))).toEqual([1000, 2000])
    expect(delaysOf(Wait.expo().pipe(Backoff.maxTries(Infinity)), 5)).toEqual([1000, 2000, 4000, 8000, 16000])
  })

  it("maxTime(d): python's clamp, the last delay cut to what is left, then the end", () => {
    expect(delaysOf(Wait.expo().pipe(Backoff.maxTime("10 seconds")))).toEqual([1000, 2000, 4000, 3000])
    expect(delaysOf(Wait.constant({ interval: "4 seconds" }).pipe(Backoff.maxTime("8 seconds")))).toEqual([4000, 4000])
    expect(delaysOf(Wait.expo().pipe(Backoff.maxTime(0)))).toEqual([])
  })

  it("validates like the options, at construction", () => {
    const invalid = (f: () => unknown, option: string) => {
      try {
        f()
        expect.fail("no error")
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidOptionError)
        expect((e as InvalidOptionError).option).toBe(option)
      }
    }
    invalid(() => Backoff.maxTries(0), "maxTries")
    invalid(() => Wait.expo().pipe(Backoff.maxTries(1.5)), "maxTries")
    invalid(() => Wait.expo().pipe(Backoff.maxTime("-1 seconds")), "maxTime")
    invalid(() => Wait.expo().pipe(Backoff.maxTime(Number.NaN)), "maxTime")
    invalid(() => Backoff.maxTries("expo" as never, 3), "maxTries schedule")
    invalid(() => Jitter.apply("expo" as never, Jitter.full), "Jitter.apply schedule")
    invalid(() => Wait.expo().pipe(Backoff.tapBackoff(5 as never)), "tapBackoff")
  })

  it("a foreign schedule gets the same limits (stepped through Schedule.step)", () => {
    expect(delaysOf(Schedule.spaced("2 seconds").pipe(Backoff.maxTries(3)))).toEqual([2000, 2000])
    expect(delaysOf(Schedule.spaced("4 seconds").pipe(Backoff.maxTime("10 seconds")))).toEqual([4000, 4000, 2000])
  })

  it("Backoff.schedule(options) is the policy onException runs: wait, jitter, limits", () => {
    expect(delaysOf(Backoff.schedule({ wait: Wait.fibo(), jitter: null, maxTries: 6 }))).toEqual([
      1000,
      1000,
      2000,
      3000,
      5000
    ])
    // default jitter is full: every wait within [0, the strategy's wait]
    const jittered = delaysOf(Backoff.schedule({ wait: Wait.constant({ interval: "1 second" }), maxTries: 50 }), 100)
    expect(jittered).toHaveLength(49)
    expect(jittered.every((w) => w >= 0 && w <= 1000)).toBe(true)
    expect(new Set(jittered).size).toBeGreaterThan(40)
  })

  it("a policy already jittered is never jittered twice; an explicit jitter on top is an error", () => {
    const jittered = Wait.constant({ interval: "1 second" }).pipe(Jitter.apply(Jitter.none))
    expect(delaysOf(Backoff.schedule({ wait: jittered, maxTries: 3 }))).toEqual([1000, 1000])
    expect(() => Backoff.schedule({ wait: jittered, jitter: Jitter.full })).toThrow(InvalidOptionError)
    expect(() => Backoff.onException({ wait: jittered, jitter: null })).toThrow(/jitter/)
  })
})

describe("Backoff.tapBackoff / tapGiveup under Effect's own driver", () => {
  it.effect("details: target \"effect\", args [], tries, the exact wait, the input; the give-up reason", () =>
    Effect.gen(function*() {
      const seen: Array<Record<string, unknown>> = []
      const policy = Wait.expo({ factor: "1 second" }).pipe(
        Backoff.maxTime("5 seconds"),
        Backoff.tapBackoff((d) => {
          seen.push({
            event: "backoff",
            target: d.target,
            args: d.args,
            tries: d.tries,
            wait: ms(d.wait),
            e: d.exception
          })
        }),
        Backoff.tapGiveup((d) => {
          seen.push({ event: "giveup", tries: d.tries, reason: d.reason, e: d.exception })
        })
      )
      const fiber = yield* Effect.fork(Effect.exit(Effect.retry(Effect.fail("boom"), policy)))
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toEqual(Exit.fail("boom"))
      expect(seen).toEqual([
        { event: "backoff", target: "effect", args: [], tries: 1, wait: 1000, e: "boom" },
        { event: "backoff", target: "effect", args: [], tries: 2, wait: 2000, e: "boom" },
        // 3 s spent of 5: the 4 s wait is cut to the 2 s left
        { event: "backoff", target: "effect", args: [], tries: 3, wait: 2000, e: "boom" },
        { event: "giveup", tries: 4, reason: "maxTime", e: "boom" }
      ])
    }))

  it.effect("under Backoff.retry the taps see the run's target and args; the value key for repeat", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const policy = Wait.constant({ interval: "1 second" }).pipe(
        Backoff.maxTries(2),
        Backoff.tapBackoff((d) => {
          seen.push([d.target, d.tries, d.exception, d.value])
        })
      )
      const fiber = yield* Effect.fork(Effect.exit(
        Effect.fail("e").pipe(Backoff.retry({ schedule: policy, target: "job", logger: false }))
      ))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      let n = 0
      const repeated = yield* Effect.fork(
        Effect.sync(() => ++n).pipe(Backoff.repeat({ schedule: policy, logger: false }))
      )
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(repeated)).toBe(2)
      expect(seen).toEqual([["job", 1, "e", undefined], ["effect", 1, undefined, 1]])
    }))

  it.effect("tapBackoff({ input: \"value\" }) under Effect.repeat", () =>
    Effect.gen(function*() {
      const values: Array<unknown> = []
      const policy = Wait.constant({ interval: "1 second" }).pipe(
        Backoff.maxTries(3),
        Backoff.tapBackoff((d) => {
          values.push(d.value)
        }, { input: "value" })
      )
      let n = 0
      const fiber = yield* Effect.fork(Effect.repeat(Effect.sync(() => ++n), policy))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      expect(values).toEqual([1, 2])
    }))
})

// ---------------------------------------------------------------------------
// Backoff.retry / repeat
// ---------------------------------------------------------------------------

describe("Backoff.retry / Backoff.repeat", () => {
  it.effect("retry: while decides which errors are retried; giving up on one fails with it", () =>
    Effect.gen(function*() {
      let calls = 0
      const errors = [new HttpError({ message: "503" }), new HttpError({ message: "503" }), new OtherError({ code: 1 })]
      const task = Effect.suspend(() => Effect.fail(errors[Math.min(calls++, 2)]!))
      const reasons: Array<string> = []
      const retried = task.pipe(Backoff.retry({
        schedule: Wait.constant({ interval: "1 second" }),
        while: (e) => e._tag === "HttpError",
        logger: false,
        onGiveup: (d) => {
          reasons.push(d.reason)
        }
      }))
      const fiber = yield* Effect.fork(Effect.exit(retried))
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toEqual(Exit.fail(new OtherError({ code: 1 })))
      expect(calls).toBe(3)
      expect(reasons).toEqual(["giveup"])
    }))

  it.effect("retry: until, times, and an async while are honoured", () =>
    Effect.gen(function*() {
      let calls = 0
      const task = Effect.suspend(() => Effect.fail(++calls))
      const untilThree = yield* Effect.exit(
        task.pipe(Backoff.retry({ times: 10, until: (n) => n >= 3, logger: false }))
      )
      expect(untilThree).toEqual(Exit.fail(3))
      calls = 0
      const times = yield* Effect.exit(task.pipe(Backoff.retry({ times: 4, logger: false })))
      expect(times).toEqual(Exit.fail(5))
      calls = 0
      const asyncWhile = yield* Effect.exit(
        task.pipe(Backoff.retry({ times: 10, while: async (n) => n < 2, logger: false }))
      )
      expect(asyncWhile).toEqual(Exit.fail(2))
    }))

  it.effect("retry and repeat take a retry budget: with no token left the run gives up, reason \"budget\"", () =>
    Effect.gen(function*() {
      // no reserve and 0.5 of a token per run: two runs fund one retry
      const budget = yield* RetryBudget.make({ percentCanRetry: 0.5, minRetriesPerSecond: 0 })
      const reasons: Array<string> = []
      let calls = 0
      const task = Effect.suspend(() => {
        calls++
        return Effect.fail("e")
      })
      const retried = task.pipe(Backoff.retry({
        schedule: Wait.constant({ interval: "1 second" }).pipe(Backoff.maxTries(5)),
        budget,
        logger: false,
        onGiveup: (d) => {
          reasons.push(d.reason)
        }
      }))
      // both runs within the ttl (10 s), so the first run's deposit still counts
      for (let i = 0; i < 2; i++) {
        const fiber = yield* Effect.fork(Effect.exit(retried))
        yield* TestClock.adjust("2 seconds")
        yield* Fiber.join(fiber)
      }
      // run 1: deposit 0.5, no whole token: gives up after its first call; run 2: deposit
      // 0.5 more, one retry, then none left
      expect(calls).toBe(3)
      expect(reasons).toEqual(["budget", "budget"])
    }))

  it("retry: schedule or times is required, since neither would retry at once forever", () => {
    // @ts-expect-error neither schedule nor times: a compile error as well (issue 22)
    expect(() => Backoff.retry({ while: () => true })).toThrow(InvalidOptionError)
    expect(() => Backoff.retry({ schedule: "expo" as never })).toThrow(/schedule/)
    expect(() => Backoff.retry({ times: -1 })).toThrow(/times/)
  })

  it.effect("retry adds nothing the policy does not say: no default jitter, no default wait", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      const task = Effect.flatMap(Clock.currentTimeMillis, (now) => {
        starts.push(now)
        return Effect.fail("e")
      })
      const fiber = yield* Effect.fork(Effect.exit(task.pipe(Backoff.retry({
        schedule: Wait.constant({ interval: "1 second" }).pipe(Backoff.maxTries(4)),
        logger: false
      }))))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      expect(starts).toEqual([0, 1000, 2000, 3000])
    }))

  it.effect("repeat returns the last value: until it holds, or when the policy gives up", () =>
    Effect.gen(function*() {
      let n = 0
      const poll = Effect.sync(() => ++n)
      const until = yield* Effect.fork(poll.pipe(Backoff.repeat({
        schedule: Wait.constant({ interval: "1 second" }),
        until: (v) => v >= 3,
        logger: false
      })))
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(until)).toBe(3)
      n = 0
      const limited = yield* Effect.fork(poll.pipe(Backoff.repeat({
        schedule: Wait.constant({ interval: "1 second" }).pipe(Backoff.maxTries(4)),
        logger: false
      })))
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(limited)).toBe(4)
    }))
})

// ---------------------------------------------------------------------------
// Interop: the same policy makes the same calls at the same times under every driver
// ---------------------------------------------------------------------------

/**
 * Policies from Testing.policy: every Wait constructor (and Effect's Schedule.spaced), every
 * jitter, maxTries and maxTime, built with the combinators or Backoff.schedule(options);
 * each prints as the code that builds it. With a jitter seed. (Not Testing's Wait.runtime,
 * which reads its input: under repeat the input is the value, not the error.)
 */
const specArb = fc.record({
  policy: Testing.policy({
    strategies: ["expo", "fibo", "constant", "list", "decay", "linear", "decorrelated", "spaced"],
    scale: "100 millis",
    maxTries: 8,
    maxTime: "20 seconds"
  }),
  seed: fc.integer()
})

/** The start of every call Timeline sees (Backoff.retry's semantics, its own clock): 11 failures, then a success. */
const timelineTimes = (policy: Schedule.Schedule<unknown, string>, seed: number): ReadonlyArray<number> =>
  Effect.runSync(
    Timeline.run(policy, [...Array.from({ length: 11 }, () => Timeline.fail("503")), Timeline.succeed(12)], { seed })
  ).events.filter((e) => e._tag === "Call").map((e) => ms(e.at))

/** The virtual times of every call of `run(task)`, on a fresh TestClock, with the seed. */
const callTimes = (
  seed: number,
  run: (task: Effect.Effect<number, string>) => Effect.Effect<unknown, unknown>
): Promise<ReadonlyArray<number>> =>
  runTest(Effect.gen(function*() {
    const times: Array<number> = []
    const task = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      times.push(now)
      return times.length >= 12 ? Effect.succeed(times.length) : Effect.fail("503")
    })
    const fiber = yield* Effect.fork(Effect.exit(run(task)).pipe(Effect.withRandom(Random.make(seed))))
    yield* TestClock.adjust("1 day")
    yield* Fiber.join(fiber)
    return times
  }))

/**
 * The same calls at the same times, to 10 ns: the loop reads the monotonic clock (whose
 * unit is the nanosecond) where Effect's driver hands the schedule float milliseconds, so
 * a sleep clamped to maxTime may land a nanosecond apart.
 */
const sameTimes = (actual: ReadonlyArray<number>, expected: ReadonlyArray<number>) => {
  expect(actual.length, `${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`).toBe(expected.length)
  actual.forEach((t, i) => expect(Math.abs(t - expected[i]!), `call ${i + 1}`).toBeLessThan(1e-5))
}

describe("interop: Effect.retry, Effect.repeat, Stream.retry and Backoff.retry agree", () => {
  it("every Wait constructor x jitter x maxTries x maxTime: the same calls at the same virtual times", async () => {
    await fc.assert(
      fc.asyncProperty(specArb, async (s) => {
        const policy = s.policy
        const ours = await callTimes(s.seed, (task) => task.pipe(Backoff.retry({ schedule: policy, logger: false })))
        const effectRetry = await callTimes(s.seed, (task) => Effect.retry(task, policy))
        const streamRetry = await callTimes(
          s.seed,
          (task) => Stream.runCollect(Stream.retry(Stream.fromEffect(task), policy)).pipe(Effect.map(Chunk.toArray))
        )
        // repeat: the "task" fails by returning a value the predicate rejects
        const repeated = await callTimes(
          s.seed,
          (task) => Effect.repeat(Effect.either(task), { schedule: policy, while: (r) => r._tag === "Left" })
        )
        const oursRepeat = await callTimes(
          s.seed,
          (task) =>
            Effect.either(task).pipe(
              Backoff.repeat({ schedule: policy, while: (r) => r._tag === "Left", logger: false })
            )
        )
        sameTimes(effectRetry, ours)
        sameTimes(streamRetry, ours)
        sameTimes(repeated, ours)
        sameTimes(oursRepeat, ours)
        // and Timeline (which the laws read) sees the same calls at the same times
        sameTimes(timelineTimes(policy, s.seed), ours)
      }),
      { numRuns: 60 }
    )
  }, 120_000)

  it("a policy through Effect's combinators (slow path) keeps its semantics in our loop", async () => {
    await fc.assert(
      fc.asyncProperty(specArb, fc.integer({ min: 0, max: 6 }), async (s, n) => {
        const composed = Schedule.intersect(s.policy, Schedule.recurs(n))
        const ours = await callTimes(s.seed, (task) => task.pipe(Backoff.retry({ schedule: composed, logger: false })))
        const effect = await callTimes(s.seed, (task) => Effect.retry(task, composed))
        sameTimes(ours, effect)
        expect(ours.length).toBeLessThanOrEqual(n + 1)
      }),
      { numRuns: 40 }
    )
  }, 120_000)

  it("the same as laws over any built policy: sameUnderDrivers, withinMaxTries, deterministicUnderSeed", () => {
    // Testing's own virtual clock (not the TestClock), many more cases, and call durations
    for (const seed of [1, 2, 3]) {
      Effect.runSync(
        Testing.check(
          Testing.policy(),
          [Testing.sameUnderDrivers, Testing.withinMaxTries, Testing.deterministicUnderSeed],
          { numRuns: 150, seed }
        )
      )
    }
  }, 120_000)

  it.effect("onException's options and Backoff.schedule(options) under Effect.retry make the same calls", () =>
    Effect.gen(function*() {
      const options = { wait: Wait.expo({ factor: "1 second" }), jitter: null, maxTries: 5 } as const
      const times: Array<number> = []
      const task = Effect.flatMap(Clock.currentTimeMillis, (now) => {
        times.push(now)
        return Effect.fail("e")
      })
      const a = yield* Effect.fork(Effect.exit(Effect.retry(task, Backoff.schedule(options))))
      yield* TestClock.adjust("1 hour")
      yield* Fiber.join(a)
      const viaEffect = [...times]
      times.length = 0
      const b = yield* Effect.fork(Effect.exit(task.pipe(Backoff.onException({ ...options, logger: false }))))
      yield* TestClock.adjust("1 hour")
      yield* Fiber.join(b)
      const base = viaEffect[0]!
      expect(viaEffect.map((t) => t - base)).toEqual([0, 1000, 3000, 7000, 15000])
      const base2 = times[0]!
      expect(times.map((t) => t - base2)).toEqual([0, 1000, 3000, 7000, 15000])
    }))

  it.effect("maxTime under Effect.retry counts from the end of the first call (the docs say so)", () =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const task = Effect.flatMap(Clock.currentTimeMillis, (now) => {
        times.push(now)
        return Effect.zipRight(Effect.sleep("2 seconds"), Effect.fail("e"))
      })
      const policy = Wait.constant({ interval: "1 second" }).pipe(Backoff.maxTime("4 seconds"))
      const viaEffect = yield* Effect.fork(Effect.exit(Effect.retry(task, policy)))
      yield* TestClock.adjust("1 hour")
      yield* Fiber.join(viaEffect)
      const effectCalls = times.length
      times.length = 0
      const ours = yield* Effect.fork(Effect.exit(task.pipe(Backoff.retry({ schedule: policy, logger: false }))))
      yield* TestClock.adjust("1 hour")
      yield* Fiber.join(ours)
      // Effect's driver: budget from t=2 s; ours: from t=0 (the start of the first call)
      expect(effectCalls).toBe(3)
      expect(times.length).toBe(2)
    }))
})

describe("Timeline and Wait.delays take a whole policy", () => {
  it.effect("Timeline.run(policy, outcomes) runs the policy as Backoff.retry would", () =>
    Effect.gen(function*() {
      const policy = Wait.expo().pipe(Backoff.maxTries(4))
      const { events, result } = yield* Timeline.run(policy, [Timeline.fail("503")])
      expect(result).toEqual(Exit.fail("503"))
      expect(events.filter((e) => e._tag === "Call").map((e) => ms(e.at))).toEqual([0, 1000, 3000, 7000])
      expect(events.at(-1)).toMatchObject({ _tag: "Giveup", tries: 4, reason: "maxTries" })
      const polled = yield* Timeline.runPredicate(Wait.constant().pipe(Backoff.maxTries(3)), [0, 0, 5])
      expect(polled.result).toEqual(Exit.succeed(5))
      expect(polled.calls).toBe(3)
    }))

  it("Wait.delays of a policy: jitter and limits included", () => {
    const waitsOf = delaysOf(
      Wait.constant({ interval: "1 second" }).pipe(Jitter.apply(Jitter.equal), Backoff.maxTries(5))
    )
    expect(waitsOf).toHaveLength(4)
    expect(waitsOf.every((w) => w >= 500 && w <= 1000)).toBe(true)
  })
})
