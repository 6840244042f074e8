import { InvalidOptionError, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, FastCheck as fc, Fiber, Option, Random, Schedule, TestClock } from "effect"
import { firstBad, gaps, MAX, NANO, retryTimeline, seededMillis, steps } from "./schedule-helpers.js"

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

/** The first `n` waits of a strategy, in milliseconds (no sleeping). */
const millis = <In>(wait: Schedule.Schedule<unknown, In>, n: number, inputs?: ReadonlyArray<In>): Array<number> =>
  Effect.runSync(Wait.delays(wait, n, inputs)).map(Duration.toMillis)

/** The first `n` waits of a strategy, in seconds (no sleeping). */
const seconds = <In>(wait: Schedule.Schedule<unknown, In>, n: number, inputs?: ReadonlyArray<In>): Array<number> =>
  millis(wait, n, inputs).map((ms) => ms / 1000)

/** What a millisecond value becomes as a Duration (Durations have nanosecond resolution). */
const asDuration = (ms: number): number => Duration.toMillis(Duration.millis(ms))

/** Calls `thunk`, which must throw an InvalidOptionError, and returns that error. */
const thrown = (thunk: () => unknown): InvalidOptionError => {
  try {
    thunk()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError)
    return error as InvalidOptionError
  }
  throw new Error("expected an InvalidOptionError, nothing was thrown")
}

/** Every field of an InvalidOptionError: tag, option, value (Object.is) and the message. */
const expectInvalid = (error: unknown, option: string, value: unknown, shown: string): void => {
  expect(error).toBeInstanceOf(InvalidOptionError)
  const e = error as InvalidOptionError
  expect(e._tag).toBe("InvalidOptionError")
  expect(e.option).toBe(option)
  expect(e.value).toBe(value)
  expect(e.message).toContain(option)
  expect(e.message).toContain(`got ${shown}`)
}

/** A value of the wrong type, passed where the types would not let it through. */
const raw = (value: unknown): Duration.DurationInput => value as Duration.DurationInput

// ---------------------------------------------------------------------------
// exact sequences
// ---------------------------------------------------------------------------

describe("Wait.expo", () => {
  it("defaults to 1 2 4 8 seconds", () => {
    expect(seconds(Wait.expo(), 4)).toEqual([1, 2, 4, 8])
  })

  it("factor and maxValue: 3 6 12 16 16", () => {
    expect(seconds(Wait.expo({ factor: "3 seconds", maxValue: "16 seconds" }), 5)).toEqual([3, 6, 12, 16, 16])
  })

  it("base 3: 1 3 9 27", () => {
    expect(seconds(Wait.expo({ base: 3 }), 4)).toEqual([1, 3, 9, 27])
  })

  it("a fractional base", () => {
    expect(millis(Wait.expo({ base: 1.5, factor: 1000 }), 4)).toEqual([1000, 1500, 2250, 3375])
  })

  it("maxValue equal to a value of the sequence counts as reaching it", () => {
    // base < 1 makes the sequence fall, so staying at maxValue is visible
    expect(seconds(Wait.expo({ base: 0.5, factor: "8 seconds" }), 4)).toEqual([8, 4, 2, 1])
    expect(seconds(Wait.expo({ base: 0.5, factor: "8 seconds", maxValue: "10 seconds" }), 4)).toEqual([8, 4, 2, 1])
    expect(seconds(Wait.expo({ base: 0.5, factor: "8 seconds", maxValue: "8 seconds" }), 4)).toEqual([8, 8, 8, 8])
  })

  it("maxValue equal to a later value: 1 2 4 4 4", () => {
    expect(seconds(Wait.expo({ maxValue: "4 seconds" }), 5)).toEqual([1, 2, 4, 4, 4])
  })

  it("factor 0 waits 0 forever (0 · base^n never turns into the cap)", () => {
    const waits = millis(Wait.expo({ factor: 0 }), 2000)
    expect(waits.every((w) => w === 0)).toBe(true)
  })

  it("does not overflow at attempt ~1025: saturates at the timer limit", () => {
    const waits = millis(Wait.expo(), 1100)
    expect(waits.every(Number.isFinite)).toBe(true)
    expect(waits[21]).toBe(2 ** 21 * 1000)
    expect(waits[22]).toBe(MAX)
    expect(waits.slice(1020)).toEqual(Array(80).fill(MAX))
  })

  it("a maxValue above the timer limit is capped at the limit", () => {
    expect(millis(Wait.expo({ maxValue: "30 days" }), 40).at(-1)).toBe(MAX)
  })
})

describe("Wait.fibo", () => {
  it("defaults to 1 1 2 3 5 8 13 seconds", () => {
    expect(seconds(Wait.fibo(), 7)).toEqual([1, 1, 2, 3, 5, 8, 13])
  })

  it("unit", () => {
    expect(millis(Wait.fibo({ unit: "500 millis" }), 7)).toEqual([500, 500, 1000, 1500, 2500, 4000, 6500])
  })

  it("maxValue between two values: 1 1 2 3 5 7 7", () => {
    expect(seconds(Wait.fibo({ maxValue: "7 seconds" }), 7)).toEqual([1, 1, 2, 3, 5, 7, 7])
  })

  it("maxValue equal to a value, with a unit: 2 2 4 6 10 10 10", () => {
    expect(seconds(Wait.fibo({ unit: 2000, maxValue: "10 seconds" }), 7)).toEqual([2, 2, 4, 6, 10, 10, 10])
  })

  it("saturates at the timer limit instead of overflowing", () => {
    const waits = millis(Wait.fibo(), 2000)
    expect(waits.every(Number.isFinite)).toBe(true)
    expect(waits.at(-1)).toBe(MAX)
  })
})

describe("Wait.constant", () => {
  it("defaults to 1 second forever", () => {
    const waits = seconds(Wait.constant(), 1000)
    expect(waits).toHaveLength(1000)
    expect(waits.every((w) => w === 1)).toBe(true)
  })

  it("a single interval", () => {
    expect(millis(Wait.constant({ interval: "250 millis" }), 3)).toEqual([250, 250, 250])
  })

  it("a list [1, 2, 3] s gives exactly 3 waits, then ends", () => {
    const waits = seconds(Wait.constant({ interval: ["1 second", "2 seconds", "3 seconds"] }), 10)
    expect(waits).toHaveLength(3)
    expect(waits).toEqual([1, 2, 3])
  })

  it("a list of one", () => {
    expect(seconds(Wait.constant({ interval: ["5 seconds"] }), 10)).toEqual([5])
  })

  it("a two-number array is a list of waits, not a [seconds, nanos] tuple", () => {
    expect(millis(Wait.constant({ interval: [1, 500] }), 5)).toEqual([1, 500])
  })

  it("an interval above the timer limit is capped at the limit", () => {
    expect(millis(Wait.constant({ interval: "30 days" }), 2)).toEqual([MAX, MAX])
    expect(millis(Wait.constant({ interval: ["1 second", "30 days"] }), 5)).toEqual([1000, MAX])
  })
})

describe("Wait.decay", () => {
  it("defaults: e^(−t) seconds", () => {
    const waits = seconds(Wait.decay(), 3)
    expect(waits[0]).toBe(1)
    expect(waits[1]).toBeCloseTo(Math.exp(-1), 8)
    expect(waits[2]).toBeCloseTo(Math.exp(-2), 8)
  })

  it("initial · e^(−k·t) for t = 0, 1, 2", () => {
    const waits = millis(Wait.decay({ initialValue: "10 seconds", decayFactor: 0.5 }), 3)
    expect(waits[0]).toBe(10_000)
    expect(waits[1]).toBeCloseTo(10_000 * Math.exp(-0.5), 5)
    expect(waits[2]).toBeCloseTo(10_000 * Math.exp(-1), 5)
  })

  it("is floored at minValue and stays there", () => {
    const waits = millis(Wait.decay({ initialValue: "10 seconds", decayFactor: 0.5, minValue: "4 seconds" }), 6)
    expect(waits[0]).toBe(10_000)
    expect(waits[1]).toBeCloseTo(6065.30659, 4)
    expect(waits.slice(2)).toEqual([4000, 4000, 4000, 4000])
  })

  it("a minValue above initialValue is the wait from the start", () => {
    expect(seconds(Wait.decay({ initialValue: "1 second", minValue: "3 seconds" }), 3)).toEqual([3, 3, 3])
  })

  it("decayFactor 0 is constant", () => {
    expect(seconds(Wait.decay({ initialValue: "2 seconds", decayFactor: 0 }), 3)).toEqual([2, 2, 2])
  })

  it("without minValue it falls towards 0 and never below", () => {
    const waits = millis(Wait.decay({ decayFactor: 5 }), 500)
    expect(waits.every((w) => w >= 0)).toBe(true)
    expect(waits.at(-1)).toBe(0)
  })
})

describe("Wait.runtime", () => {
  it("computes each wait from the input fed to that step", () => {
    const fromHeader = Wait.runtime((e: { readonly retryAfterSeconds: number }) =>
      Duration.seconds(e.retryAfterSeconds)
    )
    expect(seconds(fromHeader, 2, [{ retryAfterSeconds: 7 }, { retryAfterSeconds: 2 }])).toEqual([7, 2])
  })

  it("accepts every DurationInput the function returns", () => {
    const inputs: ReadonlyArray<Duration.DurationInput> = [1500, "2 seconds", Duration.millis(250), 3_000_000_000n]
    expect(millis(Wait.runtime((d: Duration.DurationInput) => d), 4, inputs)).toEqual([1500, 2000, 250, 3000])
  })

  it("missing inputs are undefined", () => {
    const seen: Array<number | undefined> = []
    const wait = Wait.runtime((n: number | undefined) => {
      seen.push(n)
      return n ?? 42
    })
    expect(millis(wait, 3, [7])).toEqual([7, 42, 42])
    expect(seen).toEqual([7, undefined, undefined])
  })

  it("a computed wait above the timer limit is capped at the limit", () => {
    expect(millis(Wait.runtime(() => "30 days"), 1)).toEqual([MAX])
  })
})

describe("Wait.linear", () => {
  it("defaults to 1 2 3 4 seconds", () => {
    expect(seconds(Wait.linear(), 4)).toEqual([1, 2, 3, 4])
  })

  it("step defaults to initial", () => {
    expect(seconds(Wait.linear({ initial: "2 seconds" }), 4)).toEqual([2, 4, 6, 8])
  })

  it("initial, step and maxValue: 1 3 5 6 6", () => {
    expect(seconds(Wait.linear({ initial: "1 second", step: "2 seconds", maxValue: "6 seconds" }), 5)).toEqual([
      1,
      3,
      5,
      6,
      6
    ])
  })

  it("maxValue equal to a value: 1 2 3 3 3", () => {
    expect(seconds(Wait.linear({ maxValue: "3 seconds" }), 5)).toEqual([1, 2, 3, 3, 3])
  })

  it("step 0 is constant", () => {
    expect(seconds(Wait.linear({ initial: "2 seconds", step: 0 }), 3)).toEqual([2, 2, 2])
  })

  it("saturates at the timer limit", () => {
    expect(millis(Wait.linear({ initial: "10 days" }), 4)).toEqual([864_000_000, 1_728_000_000, MAX, MAX])
  })
})

describe("Wait.decorrelated", () => {
  const options = { base: "1 second", maxValue: "20 seconds" } as const

  it("first wait is base, every later wait within [base, min(maxValue, previous · 3)]", () => {
    for (const seed of [1, 2, 3, "abc", 42]) {
      const waits = seededMillis(Wait.decorrelated(options), 60, seed)
      expect(waits).toHaveLength(60)
      expect(waits[0]).toBe(1000)
      expect(firstBad(waits, (w) => w >= 1000)).toBeUndefined()
      expect(firstBad(waits, (w, i) => i === 0 || w <= Math.min(20_000, waits[i - 1]! * 3) + NANO)).toBeUndefined()
      // it is random: not stuck at base, and it reaches the cap
      expect(new Set(waits).size).toBeGreaterThan(10)
      expect(waits).toContain(20_000)
    }
  })

  it("defaults: base 1 second, maxValue 60 seconds", () => {
    const waits = seededMillis(Wait.decorrelated(), 200, 7)
    expect(waits[0]).toBe(1000)
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(1000)
    expect(Math.max(...waits)).toBe(60_000)
  })

  it("is reproducible with the same seed", () => {
    expect(seededMillis(Wait.decorrelated(options), 30, 123)).toEqual(seededMillis(Wait.decorrelated(options), 30, 123))
  })

  it("differs between seeds", () => {
    const runs = [1, 2, 3, 4, 5].map((seed) => JSON.stringify(seededMillis(Wait.decorrelated(options), 10, seed)))
    expect(new Set(runs).size).toBe(runs.length)
  })

  it("keeps its state per run: the same schedule starts again at base", () => {
    const wait = Wait.decorrelated(options)
    const first = seededMillis(wait, 10, 9)
    const second = seededMillis(wait, 10, 9)
    expect(second).toEqual(first)
    expect(second[0]).toBe(1000)
  })

  it("maxValue equal to base: base forever", () => {
    expect(seededMillis(Wait.decorrelated({ base: "2 seconds", maxValue: "2 seconds" }), 5, 1)).toEqual(
      Array(5).fill(2000)
    )
  })

  it("a base above the timer limit is accepted when maxValue >= base, and waits at the limit", () => {
    const wait = Wait.decorrelated({ base: "30 days", maxValue: "40 days" })
    expect(seededMillis(wait, 3, 1)).toEqual([MAX, MAX, MAX])
  })
})

describe("duration inputs", () => {
  it("plain numbers are milliseconds", () => {
    expect(millis(Wait.expo({ factor: 250 }), 3)).toEqual([250, 500, 1000])
  })

  it("strings with units", () => {
    expect(millis(Wait.constant({ interval: "2 seconds" }), 1)).toEqual([2000])
    expect(millis(Wait.constant({ interval: "1.5 minutes" }), 1)).toEqual([90_000])
    expect(millis(Wait.constant({ interval: "0 millis" }), 1)).toEqual([0])
  })

  it("Duration values", () => {
    expect(millis(Wait.fibo({ unit: Duration.millis(1500) }), 3)).toEqual([1500, 1500, 3000])
  })

  it("bigints are nanoseconds", () => {
    expect(seconds(Wait.expo({ factor: 2_000_000_000n }), 3)).toEqual([2, 4, 8])
  })

  it("[seconds, nanos] tuples", () => {
    expect(millis(Wait.linear({ initial: [1, 500_000_000] }), 2)).toEqual([1500, 3000])
  })
})

describe("Wait.delays", () => {
  it("n = 0 gives no waits", () => {
    expect(millis(Wait.expo(), 0)).toEqual([])
  })

  it("works on any Schedule, Effect's own included", () => {
    expect(seconds(Schedule.exponential("1 second"), 3)).toEqual([1, 2, 4])
    expect(seconds(Schedule.spaced("3 seconds").pipe(Schedule.intersect(Schedule.recurs(2))), 10)).toEqual([3, 3])
  })

  it("a strategy intersected with recurs ends early", () => {
    expect(seconds(Wait.expo().pipe(Schedule.intersect(Schedule.recurs(3))), 10)).toEqual([1, 2, 4])
  })

  it.each([-1, 1.5, NaN])("dies on a bad n (%s)", (n) => {
    const exit = Effect.runSyncExit(Wait.delays(Wait.expo(), n))
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit)) {
      expectInvalid(Option.getOrUndefined(Cause.dieOption(exit.cause)), "delays.n", n, String(n))
    }
  })
})

describe("as Schedules", () => {
  it("outputs the wait and delays by it", () =>
    Effect.runSync(
      Effect.gen(function*() {
        const out = yield* steps(Wait.expo(), 3, "input")
        expect(out.map(({ output }) => Duration.toSeconds(output))).toEqual([1, 2, 4])
        expect(out.map(({ delay }) => delay)).toEqual([1000, 2000, 4000])
      })
    ))

  it.effect("expo ∩ recurs(5) drives plain Effect.retry on the TestClock: 1s, then 2s, then 4s", () =>
    Effect.gen(function*() {
      let calls = 0
      const flaky = Effect.suspend(() => {
        calls++
        return calls <= 3 ? Effect.fail("boom" as const) : Effect.succeed(calls)
      })
      const fiber = yield* Effect.fork(Effect.retry(flaky, Wait.expo().pipe(Schedule.intersect(Schedule.recurs(5)))))
      yield* TestClock.adjust(Duration.zero)
      expect(calls).toBe(1)
      yield* TestClock.adjust("999 millis")
      expect(calls).toBe(1)
      yield* TestClock.adjust("1 millis") // t = 1s
      expect(calls).toBe(2)
      yield* TestClock.adjust("1999 millis")
      expect(calls).toBe(2)
      yield* TestClock.adjust("1 millis") // t = 3s
      expect(calls).toBe(3)
      yield* TestClock.adjust("3999 millis")
      expect(calls).toBe(3)
      yield* TestClock.adjust("1 millis") // t = 7s
      expect(calls).toBe(4)
      expect(yield* Fiber.join(fiber)).toBe(4)
    }))

  it.effect("a finite list gives up after its last wait", () =>
    Effect.gen(function*() {
      const { exit, times } = yield* retryTimeline(
        Wait.constant({ interval: ["1 second", "2 seconds", "3 seconds"] }),
        (call) => Effect.fail(`boom ${call}`),
        "1 hour"
      )
      expect(times).toEqual([0, 1000, 3000, 6000])
      expect(exit).toEqual(Exit.fail("boom 4"))
    }))

  it.effect("fibo with a unit", () =>
    Effect.gen(function*() {
      const { exit, times } = yield* retryTimeline(
        Wait.fibo({ unit: "100 millis" }),
        (call) => call <= 5 ? Effect.fail("boom") : Effect.succeed("ok"),
        "1 hour"
      )
      expect(gaps(times)).toEqual([100, 100, 200, 300, 500])
      expect(exit).toEqual(Exit.succeed("ok"))
    }))

  it.effect("linear, capped", () =>
    Effect.gen(function*() {
      const { times } = yield* retryTimeline(
        Wait.linear({ initial: "1 second", step: "2 seconds", maxValue: "6 seconds" }),
        (call) => call <= 5 ? Effect.fail("boom") : Effect.succeed("ok"),
        "1 hour"
      )
      expect(gaps(times)).toEqual([1000, 3000, 5000, 6000, 6000])
    }))

  it.effect("decay with fractional waits", () =>
    Effect.gen(function*() {
      const { times } = yield* retryTimeline(
        Wait.decay({ initialValue: "10 seconds", decayFactor: 0.5, minValue: "4 seconds" }),
        (call) => call <= 4 ? Effect.fail("boom") : Effect.succeed("ok"),
        "1 hour"
      )
      const slept = gaps(times)
      expect(slept).toHaveLength(4)
      expect(slept[0]).toBe(10_000)
      expect(slept[1]).toBeCloseTo(10_000 * Math.exp(-0.5), 5)
      expect(slept[2]).toBeCloseTo(4000, 5)
      expect(slept[3]).toBeCloseTo(4000, 5)
    }))

  it.effect("runtime is fed the failure", () =>
    Effect.gen(function*() {
      const { exit, times } = yield* retryTimeline(
        Wait.runtime((e: { readonly retryAfter: number }) => e.retryAfter),
        (call) =>
          call === 1
            ? Effect.fail({ retryAfter: 500 })
            : call === 2
            ? Effect.fail({ retryAfter: 1500 })
            : Effect.succeed("ok"),
        "1 hour"
      )
      expect(times).toEqual([0, 500, 2000])
      expect(exit).toEqual(Exit.succeed("ok"))
    }))

  it.effect("decorrelated sleeps what Wait.delays predicts for the same seed", () =>
    Effect.gen(function*() {
      const wait = Wait.decorrelated({ base: "1 second", maxValue: "20 seconds" })
      const expected = seededMillis(wait, 6, 5)
      const { times } = yield* retryTimeline(
        wait,
        (call) => call <= 6 ? Effect.fail("boom") : Effect.succeed("ok"),
        "1 hour"
      ).pipe(Effect.withRandom(Random.make(5)))
      const slept = gaps(times)
      expect(slept).toHaveLength(6)
      slept.forEach((ms, i) => expect(ms).toBeCloseTo(expected[i]!, 5))
    }))
})

// ---------------------------------------------------------------------------
// properties
// ---------------------------------------------------------------------------

/** Milliseconds, from 0 to far beyond the timer limit. */
const msArb = fc.oneof(
  fc.double({ min: 0, max: 1e7, noNaN: true }),
  fc.integer({ min: 0, max: 100_000 }),
  fc.double({ min: 0, max: 1e300, noNaN: true }),
  fc.constantFrom(0, 1, MAX - 1, MAX, MAX + 1)
)

/** Something >= 0 added to a first wait to make a valid maxValue. */
const headroomArb = fc.option(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e6, noNaN: true })), {
  nil: undefined
})

const capOf = (first: number, headroom: number | undefined): number =>
  headroom === undefined ? MAX : Math.min(first + headroom, MAX)

/** Non-decreasing, never above the cap, and once at the cap always at the cap. */
const expectGrowsToCap = (waits: ReadonlyArray<number>, cap: number): void => {
  const top = asDuration(cap)
  expect(firstBad(waits, (w) => w <= top)).toBeUndefined()
  expect(firstBad(waits, (w, i) => i === 0 || w >= waits[i - 1]!)).toBeUndefined()
  const reached = waits.indexOf(top)
  if (reached >= 0) expect(firstBad(waits.slice(reached), (w) => w === top)).toBeUndefined()
}

describe("properties", () => {
  it("expo (base >= 1) is non-decreasing up to the cap and never exceeds it", () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: 100, noNaN: true }), msArb, headroomArb, (base, factor, headroom) => {
        const maxValue = headroom === undefined ? undefined : factor + headroom
        const waits = millis(Wait.expo({ base, factor, maxValue }), 300)
        expect(waits).toHaveLength(300)
        expectGrowsToCap(waits, capOf(factor, headroom))
      })
    )
  })

  it("fibo is non-decreasing up to the cap and never exceeds it", () => {
    fc.assert(
      fc.property(msArb, headroomArb, (unit, headroom) => {
        const maxValue = headroom === undefined ? undefined : unit + headroom
        expectGrowsToCap(millis(Wait.fibo({ unit, maxValue }), 300), capOf(unit, headroom))
      })
    )
  })

  it("linear is non-decreasing up to the cap and never exceeds it", () => {
    fc.assert(
      fc.property(msArb, fc.option(msArb, { nil: undefined }), headroomArb, (initial, step, headroom) => {
        const maxValue = headroom === undefined ? undefined : initial + headroom
        expectGrowsToCap(millis(Wait.linear({ initial, step, maxValue }), 300), capOf(initial, headroom))
      })
    )
  })

  it("decay is non-increasing and never below its floor", () => {
    fc.assert(
      fc.property(
        msArb,
        fc.double({ min: 0, max: 50, noNaN: true }),
        fc.option(msArb, { nil: undefined }),
        (initialValue, decayFactor, minValue) => {
          const waits = millis(Wait.decay({ initialValue, decayFactor, minValue }), 300)
          const floor = asDuration(Math.min(minValue ?? 0, MAX))
          expect(waits).toHaveLength(300)
          expect(firstBad(waits, (w) => w >= floor && w <= MAX)).toBeUndefined()
          expect(firstBad(waits, (w, i) => i === 0 || w <= waits[i - 1]!)).toBeUndefined()
        }
      )
    )
  })

  it("decorrelated: base first, then within [base, min(maxValue, previous · 3)]", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e7, noNaN: true }),
        fc.integer(),
        (base, headroom, seed) => {
          const maxValue = base + headroom
          const waits = seededMillis(Wait.decorrelated({ base, maxValue }), 100, seed)
          expect(waits).toHaveLength(100)
          expect(waits[0]).toBe(asDuration(base))
          expect(firstBad(waits, (w) => w >= asDuration(base) - NANO)).toBeUndefined()
          expect(firstBad(waits, (w, i) => i === 0 || w <= Math.min(maxValue, waits[i - 1]! * 3) + 3 * NANO))
            .toBeUndefined()
        }
      ),
      { numRuns: 50 }
    )
  })

  describe("10,000 waits are finite, >= 0 and within the timer limit, for any valid options", () => {
    const N = 10_000
    const expectSane = (waits: ReadonlyArray<number>, expectedLength = N): void => {
      expect(waits).toHaveLength(expectedLength)
      expect(firstBad(waits, (w) => Number.isFinite(w) && w >= 0 && w <= MAX)).toBeUndefined()
    }
    const runs = { numRuns: 25 }

    it("expo", () => {
      fc.assert(
        fc.property(
          fc.oneof(fc.double({ min: 1e-300, max: 1e6, noNaN: true }), fc.constantFrom(0.5, 1, 2, 10)),
          msArb,
          headroomArb,
          (base, factor, headroom) => {
            const maxValue = headroom === undefined ? undefined : factor + headroom
            expectSane(millis(Wait.expo({ base, factor, maxValue }), N))
          }
        ),
        runs
      )
    })

    it("fibo", () => {
      fc.assert(
        fc.property(msArb, headroomArb, (unit, headroom) => {
          const maxValue = headroom === undefined ? undefined : unit + headroom
          expectSane(millis(Wait.fibo({ unit, maxValue }), N))
        }),
        runs
      )
    })

    it("constant", () => {
      fc.assert(
        fc.property(msArb, (interval) => expectSane(millis(Wait.constant({ interval }), N))),
        runs
      )
      fc.assert(
        fc.property(
          fc.array(msArb, { minLength: 1, maxLength: 20 }),
          (interval) => expectSane(millis(Wait.constant({ interval }), N), interval.length)
        ),
        runs
      )
    })

    it("decay", () => {
      fc.assert(
        fc.property(
          msArb,
          fc.double({ min: 0, max: 1e6, noNaN: true }),
          fc.option(msArb, { nil: undefined }),
          (initialValue, decayFactor, minValue) =>
            expectSane(millis(Wait.decay({ initialValue, decayFactor, minValue }), N))
        ),
        runs
      )
    })

    it("linear", () => {
      fc.assert(
        fc.property(msArb, fc.option(msArb, { nil: undefined }), headroomArb, (initial, step, headroom) => {
          const maxValue = headroom === undefined ? undefined : initial + headroom
          expectSane(millis(Wait.linear({ initial, step, maxValue }), N))
        }),
        runs
      )
    })

    it("runtime", () => {
      fc.assert(
        fc.property(fc.array(msArb, { minLength: 1, maxLength: 50 }), (computed) => {
          const inputs = Array.from({ length: N }, (_, i) => i)
          expectSane(millis(Wait.runtime((i: number) => computed[i % computed.length]!), N, inputs))
        }),
        runs
      )
    })

    it("decorrelated", () => {
      fc.assert(
        fc.property(msArb, fc.double({ min: 0, max: 1e12, noNaN: true }), fc.integer(), (base, headroom, seed) => {
          // not a pure strategy: stepped as a Schedule, so check its outputs (the waits) exactly and
          // the delays it schedules against them (after ~10,000 · 24.8 days of virtual time,
          // `start - now` carries float rounding of a few nanoseconds)
          const out = Effect.runSync(
            steps(Wait.decorrelated({ base, maxValue: base + headroom }), N, undefined).pipe(
              Effect.withRandom(Random.make(seed))
            )
          )
          expectSane(out.map(({ output }) => Duration.toMillis(output)))
          expect(firstBad(out, ({ delay, output }) => Math.abs(delay - Duration.toMillis(output)) < 0.01))
            .toBeUndefined()
        }),
        { numRuns: 10 }
      )
    })
  })
})

// ---------------------------------------------------------------------------
// InvalidOptionError
// ---------------------------------------------------------------------------

describe("InvalidOptionError", () => {
  /** Every duration option, with a constructor that passes `value` to it. */
  const durationOptions: ReadonlyArray<readonly [string, (value: Duration.DurationInput) => unknown]> = [
    ["expo.factor", (value) => Wait.expo({ factor: value })],
    ["expo.maxValue", (value) => Wait.expo({ maxValue: value })],
    ["fibo.unit", (value) => Wait.fibo({ unit: value })],
    ["fibo.maxValue", (value) => Wait.fibo({ maxValue: value })],
    ["constant.interval", (value) => Wait.constant({ interval: value })],
    ["constant.interval[1]", (value) => Wait.constant({ interval: ["1 second", value] })],
    ["decay.initialValue", (value) => Wait.decay({ initialValue: value })],
    ["decay.minValue", (value) => Wait.decay({ minValue: value })],
    ["linear.initial", (value) => Wait.linear({ initial: value })],
    ["linear.step", (value) => Wait.linear({ step: value })],
    ["linear.maxValue", (value) => Wait.linear({ maxValue: value })],
    ["decorrelated.base", (value) => Wait.decorrelated({ base: value })],
    ["decorrelated.maxValue", (value) => Wait.decorrelated({ maxValue: value })]
  ]

  /** Bad durations and how the message shows them. */
  const badDurations: ReadonlyArray<readonly [unknown, string]> = [
    [-5, "-5"],
    [NaN, "NaN"],
    [Infinity, "Infinity"],
    ["-1 seconds", "\"-1 seconds\""],
    ["soon", "\"soon\""],
    [-1n, "-1n"],
    [Duration.infinity, "Infinity"],
    [[-1, 0], "[-1, 0]"]
  ]

  const rows = durationOptions.flatMap(([option, build]) =>
    badDurations
      // for `interval` an array is a list of waits (see "a two-number array is a list"), not a tuple
      .filter(([value]) => !(option === "constant.interval" && Array.isArray(value)))
      .map(([value, shown]) => ({ name: `${option}: ${shown}`, option, build, value, shown }))
  )

  it.each(rows)("$name", ({ build, option, shown, value }) => {
    expectInvalid(thrown(() => build(raw(value))), option, value, shown)
  })

  it.each(
    [
      [0, "0"],
      [-2, "-2"],
      [NaN, "NaN"],
      [Infinity, "Infinity"]
    ] as const
  )("expo.base: %s", (base, shown) => {
    expectInvalid(thrown(() => Wait.expo({ base })), "expo.base", base, shown)
  })

  it.each(
    [
      [-1, "-1"],
      [NaN, "NaN"]
    ] as const
  )("decay.decayFactor: %s", (decayFactor, shown) => {
    expectInvalid(thrown(() => Wait.decay({ decayFactor })), "decay.decayFactor", decayFactor, shown)
  })

  it("constant.interval: an empty list", () => {
    const interval: ReadonlyArray<Duration.DurationInput> = []
    expectInvalid(thrown(() => Wait.constant({ interval })), "constant.interval", interval, "[]")
  })

  it("runtime: not a function", () => {
    const notAFunction = "2 seconds" as unknown as (input: unknown) => Duration.DurationInput
    expectInvalid(thrown(() => Wait.runtime(notAFunction)), "runtime", "2 seconds", "\"2 seconds\"")
  })

  describe("runtime: a computed wait that is not a duration is a defect", () => {
    it.each(badDurations)("Wait.delays dies: %s", (value, shown) => {
      const exit = Effect.runSyncExit(Wait.delays(Wait.runtime(() => raw(value)), 3))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        expect(Cause.isDie(exit.cause)).toBe(true)
        expect(Option.isNone(Cause.failureOption(exit.cause))).toBe(true)
        expectInvalid(Option.getOrUndefined(Cause.dieOption(exit.cause)), "wait", value, shown)
      }
    })

    it.effect("the schedule's step dies under Effect.retry", () =>
      Effect.gen(function*() {
        let calls = 0
        const failing = Effect.suspend(() => {
          calls++
          return Effect.fail({ retryAfter: -5 })
        })
        const exit = yield* Effect.exit(
          Effect.retry(failing, Wait.runtime((e: { readonly retryAfter: number }) => e.retryAfter))
        )
        expect(calls).toBe(1)
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          expect(Cause.isDie(exit.cause)).toBe(true)
          expect(Option.isNone(Cause.failureOption(exit.cause))).toBe(true)
          expectInvalid(Option.getOrUndefined(Cause.dieOption(exit.cause)), "wait", -5, "-5")
        }
      }))
  })
})
