import { Backoff, InvalidOptionError, RetryBudget, Timeline, Wait } from "@effect-backoff/core"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, FastCheck as fc, Fiber, Metric, Schedule, TestClock } from "effect"
import type { LogLine } from "./helpers.js"
import { captureLogs, runFor, runTest } from "./helpers.js"

const UNIT = 1_000_000

/** `n` deposits, then as many withdrawals as succeed (at most `max`). */
const drain = (budget: RetryBudget.RetryBudget, max = 10_000) =>
  Effect.gen(function*() {
    let n = 0
    while (n < max && (yield* budget.tryWithdraw)) n++
    return n
  })

const deposits = (budget: RetryBudget.RetryBudget, n: number) =>
  Effect.forEach(Array.from({ length: n }), () => budget.deposit, { discard: true })

describe("RetryBudget options", () => {
  it("defaults are Finagle's: 0.2 per run, 10 seconds, 10 per second", () => {
    const s = RetryBudget.resolve()
    expect(s.percentCanRetry).toBe(0.2)
    expect(s.ttlMillis).toBe(10_000)
    expect(s.minRetriesPerSecond).toBe(10)
    expect(s.depositUnits).toBe(0.2 * UNIT)
    expect(s.reserveUnits).toBe(100 * UNIT)
  })

  it.each([
    [{ percentCanRetry: -0.1 }, "percentCanRetry"],
    [{ percentCanRetry: Number.NaN }, "percentCanRetry"],
    [{ percentCanRetry: 1001 }, "percentCanRetry"],
    [{ percentCanRetry: "0.2" }, "percentCanRetry"],
    [{ minRetriesPerSecond: -1 }, "minRetriesPerSecond"],
    [{ minRetriesPerSecond: Infinity }, "minRetriesPerSecond"],
    [{ ttl: 0 }, "ttl"],
    [{ ttl: "-1 seconds" }, "ttl"],
    [{ ttl: "Infinity" }, "ttl"],
    [{ ttl: "soon" }, "ttl"],
    [{ percent: 0.2 }, "percent"],
    [5, "options"]
  ])("%o is an InvalidOptionError naming %s", (options, option) => {
    for (const f of [() => RetryBudget.make(options as any), () => RetryBudget.layer(options as any)]) {
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

  it("a budget option that is not a budget is an InvalidOptionError", () => {
    expect(() => Backoff.onException({ budget: {} as any })).toThrow(/budget must be/)
    expect(() => RetryBudget.limit(Schedule.forever, {} as any)).toThrow(InvalidOptionError)
  })
})

describe("RetryBudget arithmetic (TestClock)", () => {
  it.effect("10 runs at 0.1 fund exactly one retry; 9 fund none", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0.1, minRetriesPerSecond: 0 })
      yield* deposits(budget, 9)
      expect(yield* budget.tryWithdraw).toBe(false)
      yield* budget.deposit
      expect(yield* budget.tryWithdraw).toBe(true)
      expect(yield* budget.tryWithdraw).toBe(false)
      // 0.3 is not a binary fraction: still exact, 10 runs fund 3 retries
      const b3 = yield* RetryBudget.make({ percentCanRetry: 0.3, minRetriesPerSecond: 0 })
      yield* deposits(b3, 10)
      expect(yield* drain(b3)).toBe(3)
    }))

  it.effect("a refused withdrawal leaves the balance untouched", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0.5, minRetriesPerSecond: 0 })
      yield* budget.deposit
      expect(yield* budget.tryWithdraw).toBe(false)
      expect(yield* budget.tryWithdraw).toBe(false)
      yield* budget.deposit
      expect(yield* budget.tryWithdraw).toBe(true)
    }))

  it.effect("deposits expire after ttl", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 1, ttl: "10 seconds", minRetriesPerSecond: 0 })
      yield* deposits(budget, 3)
      yield* TestClock.adjust("9999 millis")
      expect(yield* budget.tryWithdraw).toBe(true) // still there just before ttl
      yield* TestClock.adjust("1 millis")
      expect(yield* budget.tryWithdraw).toBe(false) // gone at ttl
    }))

  it.effect("a deposit made mid-bucket lives at least ttl − ttl/50, never longer than ttl", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 1, ttl: "10 seconds", minRetriesPerSecond: 0 })
      yield* TestClock.adjust("150 millis") // buckets are 200 ms
      yield* deposits(budget, 2)
      yield* TestClock.adjust("9800 millis") // 9.95 s: in the last bucket
      expect(yield* budget.tryWithdraw).toBe(true)
      yield* TestClock.adjust("50 millis") // 10.0 s after t=0 → 9.85 s after the deposit: expired
      expect(yield* budget.tryWithdraw).toBe(false)
    }))

  it.effect("the reserve is minRetriesPerSecond × ttl, and withdrawals expire with the window", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0.2, ttl: "5 seconds", minRetriesPerSecond: 2 })
      expect(yield* drain(budget)).toBe(10) // no call at all: the reserve alone
      yield* TestClock.adjust("5 seconds")
      expect(yield* budget.tryWithdraw).toBe(false) // withdrawals count for at least ttl
      yield* TestClock.adjust("100 millis") // ttl + ttl/50
      expect(yield* drain(budget)).toBe(10)
    }))

  it.effect("reserve and deposits add up; a fractional reserve rounds down to whole retries", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0.25, ttl: "1 second", minRetriesPerSecond: 3 })
      yield* deposits(budget, 8)
      expect(yield* drain(budget)).toBe(3 + 2)
      const half = yield* RetryBudget.make({ percentCanRetry: 0.25, ttl: "1 second", minRetriesPerSecond: 0.5 })
      expect(yield* half.tryWithdraw).toBe(false)
      yield* deposits(half, 2) // 0.5 + 0.5
      expect(yield* half.tryWithdraw).toBe(true)
    }))

  it.effect("percentCanRetry 0 and no reserve: never a retry", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0, minRetriesPerSecond: 0 })
      yield* deposits(budget, 1000)
      expect(yield* budget.tryWithdraw).toBe(false)
    }))

  it.effect("a long idle spell empties both windows", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 1, ttl: "1 second", minRetriesPerSecond: 1 })
      yield* deposits(budget, 5)
      expect(yield* drain(budget)).toBe(6)
      yield* TestClock.adjust("1 hour")
      expect(yield* drain(budget)).toBe(1)
    }))
})

/** A clock whose wall time can be stepped (NTP, a resumed VM) while its monotonic time goes on. */
class SteppingClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  now = 1_700_000_000_000
  wallOffset = 0
  unsafeCurrentTimeMillis(): number {
    return this.now + this.wallOffset
  }
  unsafeCurrentTimeNanos(): bigint {
    return BigInt(this.now) * 1_000_000n
  }
  readonly currentTimeMillis: Effect.Effect<number> = Effect.sync(() => this.unsafeCurrentTimeMillis())
  readonly currentTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.unsafeCurrentTimeNanos())
  sleep(duration: Duration.Duration): Effect.Effect<void> {
    return Effect.sync(() => {
      this.now += Duration.toMillis(duration)
    })
  }
}

describe("RetryBudget time base: the Clock's monotonic reading", () => {
  it.effect("a wall clock stepped back an hour: 1,000 deposits over 100 s fund at most 20 tokens", () => {
    const clock = new SteppingClock()
    return Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0.2, ttl: "10 seconds", minRetriesPerSecond: 0 })
      yield* budget.deposit
      clock.wallOffset = -3_600_000
      for (let i = 0; i < 1000; i++) {
        clock.now += 100
        yield* budget.deposit
      }
      const n = yield* drain(budget)
      expect(n).toBeLessThanOrEqual(20) // the last ttl's 100 runs at 0.2, not all 1,000
      expect(n).toBeGreaterThanOrEqual(19)
    }).pipe(Effect.withClock(clock))
  })

  it.effect("a wall clock stepped forward an hour: an exhausted budget grants nothing more", () => {
    const clock = new SteppingClock()
    return Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0.2, ttl: "10 seconds" }) // reserve 100
      yield* deposits(budget, 100)
      expect(yield* drain(budget)).toBe(120)
      clock.wallOffset = 3_600_000
      clock.now += 1
      expect(yield* drain(budget)).toBe(0)
      clock.now += 10_200 // the window has really passed: the reserve is back
      expect(yield* drain(budget)).toBe(100)
    }).pipe(Effect.withClock(clock))
  })

  it.effect("the same under the retry loop (the in-place deposit and withdrawal)", () => {
    const clock = new SteppingClock()
    return Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0.2, ttl: "10 seconds", minRetriesPerSecond: 0 })
      const ok = Effect.void.pipe(Backoff.onException({ maxTries: 2, logger: false, budget }))
      yield* ok
      clock.wallOffset = -3_600_000
      for (let i = 0; i < 1000; i++) {
        clock.now += 100
        yield* ok
      }
      let calls = 0
      const failing = Effect.suspend(() => {
        calls++
        return Effect.fail("e")
      }).pipe(
        Backoff.onException({
          wait: Wait.constant({ interval: 0 }),
          jitter: null,
          maxTries: 100,
          logger: false,
          budget
        })
      )
      yield* Effect.exit(failing)
      expect(calls - 1).toBeLessThanOrEqual(20) // retries: the failing run's own deposit included
    }).pipe(Effect.withClock(clock))
  })
})

describe("RetryBudget edge settings", () => {
  it("a ttl too small to bucket is an InvalidOptionError naming the smallest allowed (1 millis)", () => {
    for (const ttl of ["1 micros", "999 micros", 0.5, "1 nanos"] as const) {
      let error: unknown
      try {
        RetryBudget.make({ ttl })
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError).option).toBe("ttl")
      expect((error as InvalidOptionError).message).toMatch(/at least 1 millis/)
    }
  })

  it.effect("the smallest ttl at an epoch-sized time: deposits and withdrawals return, the window works", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_700_000_000_000)
      const budget = yield* RetryBudget.make({ ttl: "1 millis", percentCanRetry: 1, minRetriesPerSecond: 0 })
      yield* deposits(budget, 2)
      expect(yield* drain(budget)).toBe(2)
      yield* TestClock.adjust("2 millis") // withdrawals count for ttl + ttl/50
      yield* deposits(budget, 3)
      expect(yield* drain(budget)).toBe(3)
      yield* TestClock.adjust("1 hours")
      yield* budget.deposit
      expect(yield* drain(budget)).toBe(1)
    }))
})

describe("RetryBudget property", () => {
  interface Step {
    readonly advance: number
    readonly failures: ReadonlyArray<number>
  }
  const arbitrary = fc.record({
    percentCanRetry: fc.constantFrom(0, 0.1, 0.2, 0.5, 1, 2),
    ttl: fc.constantFrom(1000, 3000, 10_000),
    minRetriesPerSecond: fc.constantFrom(0, 0.5, 1, 3),
    steps: fc.array(
      fc.record({
        // in hundredths of ttl, so steps land on both sides of the 50 buckets' edges
        advance: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.constantFrom(1, 49, 50, 51, 98, 99, 100, 101)),
        // each run: how many times it fails in a row before a success (4: always, with maxTries 5)
        failures: fc.oneof(
          fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 8 }),
          fc.array(fc.constant(4), { maxLength: 40 }) // a burst of runs that always fail
        )
      }),
      { minLength: 1, maxLength: 40 }
    )
  })

  it(
    "over any sequence of calls and failures, the retries in a ttl window stay within percentCanRetry × calls + the reserve",
    async () => {
      await fc.assert(
        fc.asyncProperty(arbitrary, async ({ minRetriesPerSecond, percentCanRetry, steps, ttl }) => {
          const { calls, retries } = await runTest(Effect.gen(function*() {
            const budget = yield* RetryBudget.make({ percentCanRetry, ttl, minRetriesPerSecond })
            const calls: Array<number> = []
            const retries: Array<number> = []
            let now = 0
            for (const step of steps as ReadonlyArray<Step>) {
              if (step.advance > 0) {
                yield* TestClock.adjust(step.advance * ttl / 100)
                now += step.advance * ttl / 100
              }
              for (const failures of step.failures) {
                yield* budget.deposit
                calls.push(now)
                for (let f = 0; f < failures; f++) {
                  if (!(yield* budget.tryWithdraw)) break
                  retries.push(now)
                }
              }
            }
            return { calls, retries }
          }))
          const s = RetryBudget.resolve({ percentCanRetry, ttl, minRetriesPerSecond })
          const count = (xs: ReadonlyArray<number>, from: number, to: number) =>
            xs.filter((t) => t > from && t <= to).length
          // windows (t − ttl, t] ending at each retry: retries there are funded by the calls
          // in that same window plus the reserve (exact, in integer units)
          for (const t of new Set(retries)) {
            const w = count(retries, t - ttl, t)
            const c = count(calls, t - ttl, t)
            expect(w * UNIT).toBeLessThanOrEqual(c * s.depositUnits + s.reserveUnits)
          }
          // any window (a, a + ttl]: bounded by the calls of that window and the ttl before it
          for (const a of new Set([...calls, ...retries].map((t) => t - 1))) {
            const w = count(retries, a, a + ttl)
            const c = count(calls, a - ttl, a + ttl)
            expect(w * UNIT).toBeLessThanOrEqual(c * s.depositUnits + s.reserveUnits)
          }
        }),
        { numRuns: 100 }
      )
    },
    60_000
  )
})

describe("RetryBudget concurrency", () => {
  it.effect("1,000 fibers sharing one budget never overdraw it", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0.2, minRetriesPerSecond: 0 })
      const fibers = Array.from({ length: 1000 }, () => budget.deposit)
      yield* Effect.all(fibers, { concurrency: "unbounded", discard: true })
      const granted = yield* Effect.all(
        Array.from({ length: 1000 }, () => Effect.zipRight(Effect.yieldNow(), budget.tryWithdraw)),
        { concurrency: "unbounded" }
      )
      expect(granted.filter(Boolean).length).toBe(200)
    }))

  it.effect("1,000 concurrent runs that always fail: 200 retries in all, the rest give up on the budget", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0.2, minRetriesPerSecond: 0 })
      let calls = 0
      const reasons: Array<string> = []
      const policy = Backoff.onException({
        wait: Wait.constant({ interval: "1 second" }),
        jitter: null,
        maxTries: 5,
        logger: false,
        budget,
        onGiveup: (d) => void reasons.push(d.reason)
      })
      const run = policy(Effect.suspend(() => {
        calls++
        return Effect.fail("down")
      }))
      const fiber = yield* Effect.fork(
        Effect.all(Array.from({ length: 1000 }, () => Effect.exit(run)), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("10 seconds")
      const exits = yield* Fiber.join(fiber)
      expect(exits.every(Exit.isFailure)).toBe(true)
      expect(calls).toBe(1200)
      expect(reasons.length).toBe(1000)
      expect(reasons.every((r) => r === "budget")).toBe(true)
    }))
})

describe("budget option in the loop", () => {
  const quick = { wait: Wait.constant({ interval: "1 second" }), jitter: null } as const

  it.effect("deposits once per run, withdraws once per retry, gives up with reason budget and the last error", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 2, minRetriesPerSecond: 0 })
      let calls = 0
      const details: Array<Backoff.GiveupDetails> = []
      const retried = Effect.suspend(() => Effect.fail(`error ${++calls}`)).pipe(
        Backoff.onException({ ...quick, maxTries: 10, budget, logger: false, onGiveup: (d) => void details.push(d) })
      )
      const exit = yield* runFor(retried)
      // one run = 2 tokens: calls 1, 2, 3, then the budget says no
      expect(calls).toBe(3)
      expect(exit).toEqual(Exit.fail("error 3"))
      expect(details.map((d) => [d.tries, d.reason])).toEqual([[3, "budget"]])
    }))

  it.effect("reason on every give-up: giveup, maxTries, maxTime, exhausted, budget", () =>
    Effect.gen(function*() {
      const reasons: Array<Backoff.GiveupReason> = []
      const onGiveup = (d: Backoff.GiveupDetails) => void reasons.push(d.reason)
      const fail = Effect.fail("x")
      yield* runFor(Backoff.onException(fail, { ...quick, logger: false, onGiveup, giveup: () => true }))
      yield* runFor(Backoff.onException(fail, { ...quick, logger: false, onGiveup, maxTries: 2 }))
      yield* runFor(Backoff.onException(fail, { ...quick, logger: false, onGiveup, maxTime: "2 seconds" }))
      yield* runFor(
        Backoff.onException(fail, {
          wait: Wait.constant({ interval: ["1 second"] }),
          jitter: null,
          logger: false,
          onGiveup
        })
      )
      const empty = yield* RetryBudget.make({ percentCanRetry: 0, minRetriesPerSecond: 0 })
      yield* runFor(Backoff.onException(fail, { ...quick, logger: false, onGiveup, budget: empty }))
      // onPredicate too
      yield* runFor(Backoff.onPredicate(Effect.succeed(0), { ...quick, logger: false, onGiveup, maxTries: 2 }))
      yield* runFor(Backoff.onPredicate(Effect.succeed(0), { ...quick, logger: false, onGiveup, budget: empty }))
      expect(reasons).toEqual(["giveup", "maxTries", "maxTime", "exhausted", "budget", "maxTries", "budget"])
    }))

  it.effect("the budget is consulted after the limits and the strategy: those give up without a withdrawal", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0, minRetriesPerSecond: 0.1, ttl: "10 seconds" }) // one token
      const reasons: Array<string> = []
      const onGiveup = (d: Backoff.GiveupDetails) => void reasons.push(d.reason)
      yield* runFor(Backoff.onException(Effect.fail("x"), { ...quick, maxTries: 1, budget, logger: false, onGiveup }))
      yield* runFor(
        Backoff.onException(Effect.fail("x"), { wait: Schedule.recurs(0), budget, logger: false, onGiveup })
      )
      // the token is still there
      expect(yield* budget.tryWithdraw).toBe(true)
      expect(reasons).toEqual(["maxTries", "exhausted"])
    }))

  it.effect("a success spends nothing; onBackoff is not called when the budget says no", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 1, minRetriesPerSecond: 0, ttl: "1 minute" })
      let backoffs = 0
      let n = 0
      const flaky = Effect.suspend(() => ++n % 3 === 0 ? Effect.succeed(n) : Effect.fail(n))
      const policy = Backoff.onException({ ...quick, budget, logger: false, onBackoff: () => void backoffs++ })
      expect(yield* runFor(policy(flaky), "5 seconds")).toEqual(Exit.fail(2)) // 1 token: 1 retry, then budget
      expect(backoffs).toBe(1)
      expect(yield* runFor(policy(flaky), "5 seconds")).toEqual(Exit.succeed(3)) // call 3: success at once
      expect(yield* runFor(policy(flaky), "5 seconds")).toEqual(Exit.succeed(6)) // calls 4, 5, 6: 2 tokens left
      expect(backoffs).toBe(3)
    }))

  it.effect("budget: true uses the RetryBudget in context", () =>
    Effect.gen(function*() {
      let calls = 0
      const retried = Effect.suspend(() => Effect.fail(++calls)).pipe(
        Backoff.onException({ ...quick, maxTries: 100, budget: true, logger: false })
      )
      const exit = yield* runFor(
        retried.pipe(Effect.provide(RetryBudget.layer({ percentCanRetry: 0, minRetriesPerSecond: 0.3 })))
      )
      expect(exit).toEqual(Exit.fail(4)) // reserve 3 tokens
      expect(calls).toBe(4)
    }))

  it.effect("the default give-up line names the budget", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const budget = yield* RetryBudget.make({ percentCanRetry: 0, minRetriesPerSecond: 0 })
      yield* runFor(
        captureLogs(Backoff.onException(Effect.fail("down"), { ...quick, target: "getUrl", budget }), lines)
      )
      yield* runFor(
        captureLogs(Backoff.onException(Effect.fail("down"), { ...quick, target: "getUrl", maxTries: 1 }), lines)
      )
      expect(lines.map((l) => l.message)).toEqual([
        "Giving up getUrl(...) after 1 try: retry budget exhausted (down)",
        "Giving up getUrl(...) after 1 try (down)"
      ])
      expect(lines[0]!.annotations["backoff.reason"]).toBe("budget")
      expect(lines[1]!.annotations["backoff.reason"]).toBeUndefined()
    }))

  it.effect("Timeline's Giveup events carry the reason", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0, minRetriesPerSecond: 0.1 })
      const { events } = yield* Timeline.run({ ...quick, budget, logger: false }, [Timeline.fail("x")])
      expect(events.map((e) => e._tag === "Giveup" ? `${e._tag}:${e.reason}` : e._tag)).toEqual([
        "Call",
        "Backoff",
        "Call",
        "Giveup:budget"
      ])
      const limited = yield* Timeline.run({ ...quick, maxTries: 2, logger: false }, [Timeline.fail("x")])
      expect(limited.events.at(-1)).toMatchObject({ _tag: "Giveup", reason: "maxTries" })
    }))

  it.effect("Backoff.metrics.budgetExhausted counts budget give-ups (withMetrics)", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0, minRetriesPerSecond: 0 })
      const counter = Backoff.metrics.budgetExhausted.pipe(Metric.tagged("target", "metered"))
      const before = (yield* Metric.value(counter)).count
      const policy = Backoff.onException(
        Backoff.withMetrics({ ...quick, target: "metered", logger: false, budget, maxTries: 3 })
      )
      yield* runFor(policy(Effect.fail("x")))
      yield* runFor(policy(Effect.fail("x")))
      const limited = Backoff.onException(
        Backoff.withMetrics({ ...quick, target: "metered", logger: false, maxTries: 1 })
      )
      yield* runFor(limited(Effect.fail("x")))
      expect((yield* Metric.value(counter)).count - before).toBe(2)
    }))
})

describe("RetryBudget.limit and track (plain Effect.retry)", () => {
  it.effect("limit withdraws per step and ends the schedule when the budget says no; track deposits once per run", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 1, minRetriesPerSecond: 0 })
      let calls = 0
      const task = Effect.suspend(() => Effect.fail(++calls))
      const policy = Schedule.spaced("1 second").pipe(RetryBudget.limit(budget))
      const exit = yield* runFor(Effect.retry(task, policy).pipe(RetryBudget.track(budget)))
      expect(exit).toEqual(Exit.fail(2))
      expect(calls).toBe(2)
    }))

  it.effect("limit() and track use the budget in context; a schedule that ends first withdraws nothing", () =>
    Effect.gen(function*() {
      let calls = 0
      const task = Effect.suspend(() => Effect.fail(++calls))
      const program = Effect.gen(function*() {
        const exit = yield* runFor(
          Effect.retry(task, Schedule.recurs(2).pipe(RetryBudget.limit())).pipe(RetryBudget.track()),
          "1 second"
        )
        const budget = yield* RetryBudget.RetryBudget
        return { exit, left: yield* drain(budget) }
      })
      const { exit, left } = yield* program.pipe(
        Effect.provide(RetryBudget.layer({ percentCanRetry: 10, minRetriesPerSecond: 0 }))
      )
      expect(exit).toEqual(Exit.fail(3))
      expect(left).toBe(8) // 10 deposited, 2 retries
    }))
})

describe("RetryBudget types", () => {
  const task: Effect.Effect<number, string> = Effect.succeed(1)
  it("budget: true adds RetryBudget to R; a value or none adds nothing", () => {
    expectTypeOf(task.pipe(Backoff.onException({ budget: true }))).toEqualTypeOf<
      Effect.Effect<number, string, RetryBudget.RetryBudget>
    >()
    const flag: boolean = Math.random() > 2
    expectTypeOf(task.pipe(Backoff.onException({ budget: flag }))).toEqualTypeOf<
      Effect.Effect<number, string, RetryBudget.RetryBudget>
    >()
    expectTypeOf(Backoff.onPredicate(task, { budget: true })).toEqualTypeOf<
      Effect.Effect<number, string, RetryBudget.RetryBudget>
    >()
    const budget = Effect.runSync(RetryBudget.make())
    expectTypeOf(task.pipe(Backoff.onException({ budget }))).toEqualTypeOf<Effect.Effect<number, string, never>>()
    expectTypeOf(task.pipe(Backoff.onException({ budget: false }))).toEqualTypeOf<
      Effect.Effect<number, string, never>
    >()
  })

  it("limit and track: R includes RetryBudget only without a budget value; limit outputs the delay", () => {
    const budget = Effect.runSync(RetryBudget.make())
    expectTypeOf(Schedule.spaced("1 second").pipe(RetryBudget.limit())).toEqualTypeOf<
      Schedule.Schedule<Duration.Duration, unknown, RetryBudget.RetryBudget>
    >()
    expectTypeOf(RetryBudget.limit(Schedule.spaced("1 second"), budget)).toEqualTypeOf<
      Schedule.Schedule<Duration.Duration, unknown, never>
    >()
    expectTypeOf(task.pipe(RetryBudget.track())).toEqualTypeOf<Effect.Effect<number, string, RetryBudget.RetryBudget>>()
    expectTypeOf(task.pipe(RetryBudget.track(budget))).toEqualTypeOf<Effect.Effect<number, string, never>>()
    expectTypeOf<Backoff.GiveupDetails["reason"]>().toEqualTypeOf<
      "giveup" | "maxTries" | "maxTime" | "exhausted" | "budget" | "circuitOpen"
    >()
  })
})
