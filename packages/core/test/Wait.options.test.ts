/**
 * The options object of every Wait constructor (and of `HttpBackoff.waitRetryAfter`), and
 * the rule that a `maxValue` below the first wait is valid, as in python-backoff.
 */
import { InvalidOptionError, Timeline, Wait } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import { describe, expect, it } from "@effect/vitest"
import type { Schedule } from "effect"
import { Duration, Effect, FastCheck as fc } from "effect"
import { firstBad, MAX, seededMillis } from "./schedule-helpers.js"

/** The first `n` waits of a strategy, in milliseconds (no sleeping). */
const millis = <In>(wait: Schedule.Schedule<unknown, In>, n: number): Array<number> =>
  Effect.runSync(Wait.delays(wait, n)).map(Duration.toMillis)

/** Calls `thunk`, which must throw an InvalidOptionError (not a TypeError), and returns it. */
const thrown = (thunk: () => unknown): InvalidOptionError => {
  try {
    thunk()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError)
    return error as InvalidOptionError
  }
  throw new Error("expected an InvalidOptionError, nothing was thrown")
}

/** Each constructor that takes an options object, its name in errors, and its keys. */
const constructors: ReadonlyArray<{
  readonly name: string
  readonly keys: ReadonlyArray<string>
  readonly build: (options: unknown) => unknown
}> = [
  { name: "expo", keys: ["base", "factor", "maxValue"], build: (o) => Wait.expo(o as never) },
  { name: "fibo", keys: ["unit", "maxValue"], build: (o) => Wait.fibo(o as never) },
  { name: "constant", keys: ["interval"], build: (o) => Wait.constant(o as never) },
  { name: "decay", keys: ["initialValue", "decayFactor", "minValue"], build: (o) => Wait.decay(o as never) },
  { name: "linear", keys: ["initial", "step", "maxValue"], build: (o) => Wait.linear(o as never) },
  { name: "decorrelated", keys: ["base", "maxValue"], build: (o) => Wait.decorrelated(o as never) },
  {
    name: "waitRetryAfter",
    keys: ["maxRetryAfter"],
    build: (o) => HttpBackoff.waitRetryAfter(Wait.constant(), o as never)
  }
]

describe("the options object", () => {
  const notObjects: ReadonlyArray<readonly [string, unknown]> = [
    ["null", null],
    ["5", 5],
    ["\"fast\"", "fast"],
    ["true", true],
    ["[]", []],
    ["a Duration", Duration.seconds(1)],
    ["a function", () => 1]
  ]

  describe.each(constructors)("$name", ({ build, keys, name }) => {
    it.each(notObjects)("%s is an InvalidOptionError naming the constructor", (_, value) => {
      const error = thrown(() => build(value))
      expect(error.option).toBe(name)
      expect(error.value).toBe(value)
      expect(error.message).toMatch(new RegExp(`^${name} must be an options object`))
    })

    it("a misspelt key is an InvalidOptionError naming it", () => {
      for (const key of ["max_value", "min_value", "intervals", "maxvalue", "Base"]) {
        const error = thrown(() => build({ [key]: "10 seconds" }))
        expect(error.option).toBe(`${name}.${key}`)
        expect(error.value).toBe("10 seconds")
        expect(error.message).toContain(`one of ${keys.join(", ")}`)
      }
    })

    it("an unknown key beside valid ones is still rejected", () => {
      expect(thrown(() => build({ [keys[0]!]: undefined, extra: 1 })).option).toBe(`${name}.extra`)
    })

    it("nothing, {} and a key set to undefined mean the defaults", () => {
      expect(() => build(undefined)).not.toThrow()
      expect(() => build({})).not.toThrow()
      expect(() => build({ [keys[0]!]: undefined })).not.toThrow()
      expect(() => build({ typo: undefined })).not.toThrow()
    })
  })

  it("Wait.expo(null) is an InvalidOptionError, not a TypeError", () => {
    expect(thrown(() => Wait.expo(null as never)).message).toBe(
      "expo must be an options object { base, factor, maxValue } or nothing, got null"
    )
  })

  it("Wait.fibo(5) and Wait.expo(\"fast\") do not fall back to the defaults", () => {
    expect(thrown(() => Wait.fibo(5 as never)).message).toBe(
      "fibo must be an options object { unit, maxValue } or nothing, got 5"
    )
    expect(thrown(() => Wait.expo("fast" as never)).message).toBe(
      "expo must be an options object { base, factor, maxValue } or nothing, got \"fast\""
    )
  })

  it("a misspelt cap no longer vanishes: expo({ max_value }) names the key", () => {
    expect(thrown(() => Wait.expo({ max_value: "10 seconds" } as never)).message).toBe(
      "expo.max_value must be a known option of expo (one of base, factor, maxValue), got \"10 seconds\""
    )
  })

  it("property: any key outside the list is rejected under its own name", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...constructors),
        fc.string({ minLength: 1, maxLength: 12 }),
        fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
        ({ build, keys, name }, key, value) => {
          fc.pre(!keys.includes(key) && key !== "__proto__")
          const error = thrown(() => build({ [key]: value }))
          expect(error.option).toBe(`${name}.${key}`)
          expect(error.value).toBe(value)
        }
      )
    )
  })

  it("property: any value that is not an object is rejected under the constructor's name", () => {
    const notAnObject = fc.oneof(
      fc.integer(),
      fc.double(),
      fc.string(),
      fc.boolean(),
      fc.bigInt(),
      fc.constant(null),
      fc.array(fc.anything(), { maxLength: 3 })
    )
    fc.assert(
      fc.property(fc.constantFrom(...constructors), notAnObject, ({ build, name }, value) => {
        const error = thrown(() => build(value))
        expect(error.option).toBe(name)
        expect(typeof error.message).toBe("string")
      })
    )
  })
})

describe("a maxValue below the first wait is valid, as in Python: every wait is maxValue", () => {
  it("expo({ factor: 8s, maxValue: 3s }) waits 3s 3s 3s", () => {
    expect(millis(Wait.expo({ factor: "8 seconds", maxValue: "3 seconds" }), 4)).toEqual([3000, 3000, 3000, 3000])
  })

  it("fibo({ unit: 2s, maxValue: 1.5s }) waits 1.5s forever", () => {
    expect(millis(Wait.fibo({ unit: "2 seconds", maxValue: 1500 }), 5)).toEqual([1500, 1500, 1500, 1500, 1500])
  })

  it("linear({ maxValue: 999ms }) waits 999ms forever", () => {
    expect(millis(Wait.linear({ maxValue: Duration.millis(999) }), 3)).toEqual([999, 999, 999])
  })

  it("decorrelated({ base: 2s, maxValue: 1s }) waits 1s forever, whatever the draws", () => {
    for (const seed of [1, 2, 3]) {
      expect(seededMillis(Wait.decorrelated({ base: "2 seconds", maxValue: "1 second" }), 6, seed)).toEqual(
        Array(6).fill(1000)
      )
    }
  })

  it("maxValue 0 waits 0", () => {
    expect(millis(Wait.expo({ maxValue: 0 }), 3)).toEqual([0, 0, 0])
  })

  it.effect("under Backoff the sleeps are the cap", () =>
    Effect.gen(function*() {
      const { events } = yield* Timeline.run(
        { wait: Wait.expo({ factor: "8 seconds", maxValue: "3 seconds" }), maxTries: 4, jitter: null, logger: false },
        [Timeline.fail("503")]
      )
      expect(events.filter((e) => e._tag === "Backoff").map((e) => Duration.toMillis(e.wait!))).toEqual([
        3000,
        3000,
        3000
      ])
      expect(events.filter((e) => e._tag === "Call").map((e) => Duration.toMillis(e.at))).toEqual([
        0,
        3000,
        6000,
        9000
      ])
    }))

  /** Milliseconds: small, large, beyond the timer limit. */
  const ms = fc.oneof(
    fc.integer({ min: 0, max: 100_000 }),
    fc.double({ min: 0, max: 1e7, noNaN: true }),
    fc.constantFrom(0, 1, MAX, MAX + 1)
  )

  /** Python's rule: f(n) while f(n) < cap, then the cap forever. */
  const pythonCapped = (f: (n: number) => number, cap: number, n: number): Array<number> => {
    const out: Array<number> = []
    let i = 0
    for (let k = 0; k < n; k++) {
      const a = f(i)
      if (a < cap) {
        out.push(a)
        i++
      } else out.push(cap)
    }
    return out
  }

  /** What a millisecond value becomes as a Duration (Durations have nanosecond resolution). */
  const asDuration = (ms: number): number => Duration.toMillis(Duration.millis(ms))

  const close = (actual: ReadonlyArray<number>, expected: ReadonlyArray<number>): void => {
    expect(actual).toHaveLength(expected.length)
    expect(firstBad(actual, (w, i) => Math.abs(w - expected[i]!) <= 1e-6 * Math.max(1, expected[i]!))).toBeUndefined()
  }

  it("property: expo follows Python's generator for any maxValue, above or below factor", () => {
    fc.assert(
      fc.property(fc.constantFrom(0.5, 1, 1.5, 2, 3), ms, ms, (base, factor, maxValue) => {
        const cap = Math.min(maxValue, MAX)
        close(millis(Wait.expo({ base, factor, maxValue }), 40), pythonCapped((n) => factor * base ** n, cap, 40))
        if (maxValue <= factor) {
          expect(millis(Wait.expo({ base, factor, maxValue }), 5)).toEqual(Array(5).fill(asDuration(cap)))
        }
      })
    )
  })

  it("property: fibo follows Python's generator for any maxValue", () => {
    fc.assert(
      fc.property(ms, ms, (unit, maxValue) => {
        const cap = Math.min(maxValue, MAX)
        const fib = (n: number): number => {
          let [a, b] = [1, 1]
          for (let i = 0; i < n; i++) [a, b] = [b, a + b]
          return a * unit
        }
        close(millis(Wait.fibo({ unit, maxValue }), 40), pythonCapped(fib, cap, 40))
      })
    )
  })

  it("property: linear below its first wait is the cap forever, and never above the cap", () => {
    fc.assert(
      fc.property(ms, ms, ms, (initial, step, maxValue) => {
        const cap = Math.min(maxValue, MAX)
        const waits = millis(Wait.linear({ initial, step, maxValue }), 30)
        expect(firstBad(waits, (w) => w <= asDuration(cap))).toBeUndefined()
        if (maxValue <= initial) expect(firstBad(waits, (w) => w === asDuration(cap))).toBeUndefined()
      })
    )
  })

  it("property: decorrelated with base above maxValue waits maxValue every time", () => {
    fc.assert(
      fc.property(ms, ms, fc.integer(), (a, b, seed) => {
        const [maxValue, base] = a <= b ? [a, b] : [b, a]
        const waits = seededMillis(Wait.decorrelated({ base, maxValue }), 20, seed)
        expect(waits).toEqual(Array(20).fill(asDuration(Math.min(maxValue, MAX))))
      }),
      { numRuns: 50 }
    )
  })
})
