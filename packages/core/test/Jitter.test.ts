import { InvalidOptionError, Jitter, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, FastCheck as fc, Fiber, Random, Schedule, TestClock } from "effect"
import { firstBad, gaps, MAX, NANO, retryTimeline, seededMillis, steps } from "./schedule-helpers.js"

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

/** `n` draws of `jitter` for a wait of `waitMs`, under a seeded Random, in milliseconds. */
const samples = (
  jitter: (wait: Duration.Duration) => Effect.Effect<Duration.Duration>,
  waitMs: number,
  n: number,
  seed: unknown
): Array<number> =>
  Effect.runSync(
    Effect.replicateEffect(jitter(Duration.millis(waitMs)), n).pipe(Effect.withRandom(Random.make(seed)))
  ).map(Duration.toMillis)

const mean = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) / xs.length

const double: Jitter.Jitter = (wait) => Effect.succeed(Duration.times(wait, 2))

/** The band each jitter must stay in, for a wait of `w` ms (Durations round to the nanosecond). */
const bands = {
  full: (w: number, s: number) => s >= 0 && s <= w + NANO,
  equal: (w: number, s: number) => s >= w / 2 - NANO && s <= w + NANO,
  random: (w: number, s: number) => s >= w && s - w <= 1000 + NANO,
  none: (w: number, s: number) => s === w
} as const

const jitters = { full: Jitter.full, equal: Jitter.equal, random: Jitter.random, none: Jitter.none } as const
const names = ["full", "equal", "random", "none"] as const

// ---------------------------------------------------------------------------
// the jitter functions
// ---------------------------------------------------------------------------

describe("Jitter.full", () => {
  it("is uniform in [0, wait]: every sample in the band, and the band is covered", () => {
    const draws = samples(Jitter.full, 10_000, 4000, 1)
    expect(firstBad(draws, (s) => bands.full(10_000, s))).toBeUndefined()
    expect(Math.min(...draws)).toBeLessThan(500)
    expect(Math.max(...draws)).toBeGreaterThan(9500)
  })

  it.each([1, 2, 3, "seed"])("mean over 4,000 seeded draws is within 5%% of wait/2 (seed %s)", (seed) => {
    expect(Math.abs(mean(samples(Jitter.full, 10_000, 4000, seed)) - 5000)).toBeLessThan(0.05 * 5000)
  })

  it("of zero is zero", () => {
    expect(samples(Jitter.full, 0, 10, 1)).toEqual(Array(10).fill(0))
  })
})

describe("Jitter.equal", () => {
  it("is wait/2 + uniform [0, wait/2]: every sample in the band, and the band is covered", () => {
    const draws = samples(Jitter.equal, 10_000, 4000, 1)
    expect(firstBad(draws, (s) => bands.equal(10_000, s))).toBeUndefined()
    expect(Math.min(...draws)).toBeLessThan(5250)
    expect(Math.max(...draws)).toBeGreaterThan(9750)
  })

  it("mean is within 5% of 3/4 of the wait", () => {
    expect(Math.abs(mean(samples(Jitter.equal, 10_000, 4000, 7)) - 7500)).toBeLessThan(0.05 * 7500)
  })
})

describe("Jitter.random", () => {
  it("is wait + uniform [0, 1 s): every sample in the band, and the band is covered", () => {
    const draws = samples(Jitter.random, 10_000, 4000, 1)
    expect(firstBad(draws, (s) => bands.random(10_000, s))).toBeUndefined()
    expect(Math.min(...draws)).toBeLessThan(10_050)
    expect(Math.max(...draws)).toBeGreaterThan(10_950)
  })

  it("adds up to a second whatever the wait (it may exceed a strategy's maxValue)", () => {
    const draws = samples(Jitter.random, 0, 4000, 2)
    expect(firstBad(draws, (s) => s >= 0 && s < 1000)).toBeUndefined()
    expect(Math.abs(mean(draws) - 500)).toBeLessThan(0.05 * 500)
  })
})

describe("Jitter.none", () => {
  it("returns the wait unchanged", () => {
    const wait = Duration.millis(1234.5)
    expect(Effect.runSync(Jitter.none(wait))).toBe(wait)
    expect(samples(Jitter.none, 1234.5, 5, 1)).toEqual(Array(5).fill(1234.5))
  })
})

describe("seeded Random", () => {
  it.each(names)("%s: the same seed gives the same samples", (name) => {
    const first = samples(jitters[name], 10_000, 50, 99)
    expect(samples(jitters[name], 10_000, 50, 99)).toEqual(first)
  })

  it.each(["full", "equal", "random"] as const)("%s: different seeds give different samples", (name) => {
    const runs = [1, 2, 3, 4, 5].map((seed) => JSON.stringify(samples(jitters[name], 10_000, 10, seed)))
    expect(new Set(runs).size).toBe(runs.length)
  })
})

describe("properties", () => {
  /** Waits from 0 to the timer limit, in milliseconds. */
  const waitArb = fc.oneof(
    fc.double({ min: 0, max: MAX, noNaN: true }),
    fc.integer({ min: 0, max: 100_000 }),
    fc.constantFrom(0, 1, MAX)
  )

  it.each(names)("%s: every sample is inside its band, for any wait and seed", (name) => {
    fc.assert(
      fc.property(waitArb, fc.integer(), (waitMs, seed) => {
        const w = Duration.toMillis(Duration.millis(waitMs))
        const draws = samples(jitters[name], waitMs, 200, seed)
        expect(draws).toHaveLength(200)
        expect(firstBad(draws, (s) => bands[name](w, s))).toBeUndefined()
      })
    )
  })

  it.each(names)("%s: the same seed reproduces the samples, for any wait and seed", (name) => {
    fc.assert(
      fc.property(waitArb, fc.oneof(fc.integer(), fc.string()), (waitMs, seed) => {
        expect(samples(jitters[name], waitMs, 20, seed)).toEqual(samples(jitters[name], waitMs, 20, seed))
      })
    )
  })
})

// ---------------------------------------------------------------------------
// Jitter.apply
// ---------------------------------------------------------------------------

describe("Jitter.apply", () => {
  const tenSeconds = Wait.constant({ interval: "10 seconds" })

  it("jitters every delay of the schedule", () => {
    const delays = seededMillis(Jitter.apply(tenSeconds, Jitter.full), 200, 3)
    expect(delays).toHaveLength(200)
    expect(firstBad(delays, (d) => bands.full(10_000, d))).toBeUndefined()
    expect(new Set(delays).size).toBeGreaterThan(150)
  })

  it("draws exactly what the jitter draws for the same seed", () => {
    const delays = seededMillis(Jitter.apply(tenSeconds, Jitter.equal), 20, 11)
    const expected = samples(Jitter.equal, 10_000, 20, 11)
    delays.forEach((d, i) => expect(d).toBeCloseTo(expected[i]!, 6))
  })

  it("is data-first and data-last", () => {
    const first = seededMillis(Jitter.apply(Wait.expo(), Jitter.full), 8, 5)
    const last = seededMillis(Wait.expo().pipe(Jitter.apply(Jitter.full)), 8, 5)
    expect(last).toEqual(first)
    expect(first).not.toEqual(Effect.runSync(Wait.delays(Wait.expo(), 8)).map(Duration.toMillis))
  })

  it("outputs the jittered duration, the same as the delay", () =>
    Effect.runSync(
      Effect.gen(function*() {
        const doubled = yield* steps(Jitter.apply(Wait.expo(), double), 3, "input")
        expect(doubled.map(({ output }) => Duration.toSeconds(output))).toEqual([2, 4, 8])
        expect(doubled.map(({ delay }) => delay)).toEqual([2000, 4000, 8000])

        const full = yield* steps(Jitter.apply(tenSeconds, Jitter.full), 20, "input").pipe(
          Effect.withRandom(Random.make(4))
        )
        expect(full).toHaveLength(20)
        expect(firstBad(full, ({ output }) => bands.full(10_000, Duration.toMillis(output)))).toBeUndefined()
        expect(firstBad(full, ({ output }) => Duration.toMillis(output) !== 10_000)).toBeUndefined()
        full.forEach(({ delay, output }) => expect(delay).toBeCloseTo(Duration.toMillis(output), 6))
      })
    ))

  it("Jitter.none leaves the delays as they were", () => {
    const policy = Wait.fibo({ unit: "300 millis" })
    expect(seededMillis(Jitter.apply(policy, Jitter.none), 6, 1)).toEqual([300, 300, 600, 900, 1500, 2400])
  })

  it("works on Effect's own schedules", () => {
    const delays = seededMillis(Schedule.spaced("1 second").pipe(Jitter.apply(Jitter.equal)), 100, 8)
    expect(delays).toHaveLength(100)
    expect(firstBad(delays, (d) => bands.equal(1000, d))).toBeUndefined()
    expect(new Set(delays).size).toBeGreaterThan(50)
  })

  it("preserves a finite list's end", () => {
    const delays = seededMillis(
      Jitter.apply(Wait.constant({ interval: ["1 second", "2 seconds", "3 seconds"] }), Jitter.full),
      10,
      6
    )
    expect(delays).toHaveLength(3)
    expect(firstBad(delays, (d, i) => bands.full((i + 1) * 1000, d))).toBeUndefined()
  })

  it("preserves the end of an intersection", () => {
    expect(seededMillis(Wait.expo().pipe(Schedule.intersect(Schedule.recurs(2)), Jitter.apply(Jitter.full)), 10, 1))
      .toHaveLength(2)
  })

  it("never pushes a delay past the timer limit (a longer sleep would never wake)", () => {
    const atLimit = Wait.constant({ interval: MAX })
    const delays = seededMillis(Jitter.apply(atLimit, Jitter.random), 50, 1)
    expect(delays).toEqual(Array(50).fill(MAX))
    // below the limit, random still adds up to a second
    const below = seededMillis(Jitter.apply(Wait.constant({ interval: MAX - 10_000 }), Jitter.random), 50, 1)
    expect(firstBad(below, (d) => bands.random(MAX - 10_000, d))).toBeUndefined()
    expect(firstBad(below, (d) => d !== MAX - 10_000)).toBeUndefined()
  })

  it("a jitter that is not a function is an InvalidOptionError", () => {
    const notAJitter = 5 as unknown as Jitter.Jitter
    let caught: unknown
    try {
      Jitter.apply(Wait.expo(), notAJitter)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(InvalidOptionError)
    const error = caught as InvalidOptionError
    expect(error._tag).toBe("InvalidOptionError")
    expect(error.option).toBe("Jitter.apply jitter")
    expect(error.value).toBe(5)
    expect(error.message).toContain("Jitter.apply jitter")
    expect(error.message).toContain("got 5")
  })

  describe("with plain Effect.retry on the TestClock", () => {
    it.effect("sleeps the jittered delays: 2s, then 4s with a doubling jitter", () =>
      Effect.gen(function*() {
        let calls = 0
        const flaky = Effect.suspend(() => {
          calls++
          return calls <= 2 ? Effect.fail("boom" as const) : Effect.succeed(calls)
        })
        const policy = Wait.expo().pipe(Jitter.apply(double), Schedule.intersect(Schedule.recurs(5)))
        const fiber = yield* Effect.fork(Effect.retry(flaky, policy))
        yield* TestClock.adjust(Duration.zero)
        expect(calls).toBe(1)
        yield* TestClock.adjust("1999 millis")
        expect(calls).toBe(1)
        yield* TestClock.adjust("1 millis") // t = 2s
        expect(calls).toBe(2)
        yield* TestClock.adjust("3999 millis")
        expect(calls).toBe(2)
        yield* TestClock.adjust("1 millis") // t = 6s
        expect(calls).toBe(3)
        expect(yield* Fiber.join(fiber)).toBe(3)
      }))

    it.effect("sleeps what the seeded jitter draws", () =>
      Effect.gen(function*() {
        const policy = Jitter.apply(tenSeconds, Jitter.full)
        const expected = seededMillis(policy, 5, 21)
        const { exit, times } = yield* retryTimeline(
          policy,
          (call) => call <= 5 ? Effect.fail("boom") : Effect.succeed("ok"),
          "1 hour"
        ).pipe(Effect.withRandom(Random.make(21)))
        expect(exit).toEqual(Exit.succeed("ok"))
        const slept = gaps(times)
        expect(slept).toHaveLength(5)
        slept.forEach((ms, i) => expect(ms).toBeCloseTo(expected[i]!, 5))
      }))

    it.effect("gives up at the end of a jittered finite list", () =>
      Effect.gen(function*() {
        const policy = Jitter.apply(Wait.constant({ interval: ["1 second", "2 seconds", "3 seconds"] }), Jitter.equal)
        const { exit, times } = yield* retryTimeline(policy, (call) => Effect.fail(`boom ${call}`), "1 hour").pipe(
          Effect.withRandom(Random.make(3))
        )
        expect(times).toHaveLength(4)
        expect(firstBad(gaps(times), (ms, i) => bands.equal((i + 1) * 1000, ms))).toBeUndefined()
        expect(exit).toEqual(Exit.fail("boom 4"))
      }))

    it.effect("a delay at the timer limit still wakes up under Jitter.random", () =>
      Effect.gen(function*() {
        let calls = 0
        const failing = Effect.suspend(() => {
          calls++
          return Effect.fail("boom" as const)
        })
        const policy = Wait.constant({ interval: MAX }).pipe(
          Jitter.apply(Jitter.random),
          Schedule.intersect(Schedule.recurs(1))
        )
        const fiber = yield* Effect.fork(Effect.exit(Effect.retry(failing, policy)))
        yield* TestClock.adjust(MAX)
        expect(calls).toBe(2)
        expect(yield* Fiber.join(fiber)).toEqual(Exit.fail("boom"))
      }))
  })
})
