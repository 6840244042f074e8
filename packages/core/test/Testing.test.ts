/**
 * The Testing entry point: each law holds for the library's policies over many seeds and
 * fails on a policy built to break it (a mutant per law); the arbitraries keep to their
 * options; check works as a fast-check property and as an Effect (it.effect, it.effect.prop);
 * a broken case prints as a trace of Timeline events.
 */
import { Backoff, InvalidOptionError, Jitter, Timeline, Wait } from "@effect-backoff/core"
import * as Testing from "@effect-backoff/core/Testing"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, FastCheck as fc, Schedule, TestClock } from "effect"
import { planOf, PlanTypeId } from "../src/internal/plan.js"

/** The LawError of a check run as an Effect, or undefined when every case kept the law. */
const broken = (check: Testing.Check): Testing.LawError | undefined => {
  const result = Effect.runSync(Effect.either(check))
  return Either.isLeft(result) ? result.left : undefined
}

const ms = Duration.toMillis
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8]

describe("the library's policies keep every law", () => {
  it.each(SEEDS)("Testing.policy(), fast-check seed %i: 150 cases, every law", (seed) => {
    expect(broken(Testing.check(Testing.policy(), Testing.laws, { numRuns: 150, seed }))?.message).toBeUndefined()
  }, 60_000)

  it.each(SEEDS.slice(0, 4))("capped policies keep capped(maxValue), seed %i", (seed) => {
    const policies = Testing.policy({ maxValue: "5 seconds", scale: "2 seconds", jitters: ["full", "random", "none"] })
    expect(broken(Testing.check(policies, Testing.capped("5 seconds"), { numRuns: 150, seed }))?.message)
      .toBeUndefined()
  }, 60_000)

  it("bounded policies against endless failures, every law, long budgets", () => {
    const policies = Testing.policy({ bounded: true, maxTries: 30, maxTime: "10 minutes" })
    const outcomes = Testing.outcomes({ successes: false, maxDuration: "5 seconds" })
    expect(broken(Testing.check(policies, Testing.laws, { outcomes, numRuns: 100, seed: 99 }))?.message)
      .toBeUndefined()
  }, 60_000)

  it("a hand-written policy checked on its own, with its declared limits", () => {
    const policy = Wait.expo({ maxValue: "30 seconds" }).pipe(
      Jitter.apply(Jitter.full),
      Backoff.maxTries(5),
      Backoff.maxTime("2 minutes")
    )
    expect(broken(Testing.check(policy, [...Testing.laws, Testing.capped("30 seconds")], { seed: 1 })))
      .toBeUndefined()
  })
})

describe("each law fails on a mutant built to break it", () => {
  it("nonNegativeWaits: a jitter or a runtime wait that goes negative", () => {
    const negativeJitter = Wait.constant({ interval: "1 second" }).pipe(
      Jitter.apply((w) => Duration.toMillis(w) - 5000),
      Backoff.maxTries(3)
    )
    const e = broken(Testing.check(negativeJitter, Testing.nonNegativeWaits, { seed: 1 }))
    expect(e?.law).toBe("nonNegativeWaits")
    expect(e?.broken).toMatch(/^the run died of an invalid wait: jitter must be .*got -4000$/)
    const negativeRuntime = Wait.runtime(() => -1).pipe(Backoff.maxTries(3))
    expect(broken(Testing.check(negativeRuntime, Testing.nonNegativeWaits, { seed: 1 }))?.broken)
      .toMatch(/invalid wait: wait must be/)
    // the same laws hold for the honest policy
    const honest = Wait.constant({ interval: "1 second" }).pipe(Jitter.apply(Jitter.full), Backoff.maxTries(3))
    expect(broken(Testing.check(honest, Testing.nonNegativeWaits, { seed: 1 }))).toBeUndefined()
  })

  it("capped: a cap above the one the law asks for; jitter does not count", () => {
    const e = broken(Testing.check(Wait.expo({ maxValue: "1 minute" }), Testing.capped("30 seconds"), { seed: 1 }))
    expect(e?.law).toBe("capped(30s)")
    expect(e?.broken).toBe("wait 6 (before jitter) is 32s, above the cap 30s")
    // Jitter.random sleeps past the cap, but the waits before jitter keep it
    const random = Wait.expo({ maxValue: "30 seconds" }).pipe(Jitter.apply(Jitter.random))
    expect(broken(Testing.check(random, Testing.capped("30 seconds"), { seed: 1 }))).toBeUndefined()
  })

  it("withinMaxTries: Schedule.union lets the other side go on", () => {
    const union = Schedule.union(Wait.constant().pipe(Backoff.maxTries(3)), Schedule.recurs(5))
    const e = broken(Testing.check(union, Testing.withinMaxTries, { maxTries: 3, seed: 1 }))
    expect(e?.broken).toBe("6 calls, but maxTries is 3")
    expect(broken(Testing.check(Wait.constant().pipe(Backoff.maxTries(3)), Testing.withinMaxTries))).toBeUndefined()
  })

  it("withinMaxTime: a union with an unlimited schedule calls after the budget", () => {
    const union = Schedule.union(
      Wait.constant({ interval: "1 second" }).pipe(Backoff.maxTime("5 seconds")),
      Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(10)))
    )
    const e = broken(Testing.check(union, Testing.withinMaxTime, { maxTime: "5 seconds", seed: 1 }))
    expect(e?.broken).toMatch(/^call 7 starts at 6s, after maxTime 5s$/)
  })

  it("lastWaitClamped: Schedule.upTo ends the schedule but never cuts the last sleep", () => {
    const upTo = Schedule.upTo(Wait.constant({ interval: "4 seconds" }), "10 seconds")
    const e = broken(Testing.check(upTo, Testing.lastWaitClamped, { maxTime: "10 seconds", seed: 1 }))
    expect(e?.broken).toBe(
      "the sleep after call 3 (at 8s, 4s) ends at 12s, past maxTime 10s: it was not cut to the 2s left"
    )
    // a budget spent short of the one declared: gives up for maxTime before it is reached
    const short = Wait.constant({ interval: "4 seconds" }).pipe(Backoff.maxTime("9500 millis"))
    // (as if jittered: the sleeps are not compared with the waits)
    const withEarlyEnd = Testing.law(
      "lastWaitClamped at 10s",
      (run) => Testing.lastWaitClamped.check({ ...run, maxTime: Duration.seconds(10), jittered: true })
    )
    expect(broken(Testing.check(short, withEarlyEnd, { seed: 1 }))?.broken).toBe(
      "gave up for maxTime at 9.5s, before maxTime 10s: the last sleep was cut short"
    )
    expect(broken(Testing.check(short, Testing.lastWaitClamped, { seed: 1 }))).toBeUndefined()
  })

  it("lastWaitClamped: without jitter each sleep is the strategy's wait, cut to the budget", () => {
    // a policy said to have no jitter that has one: the sleeps are not the waits
    const run = Testing.law("as unjittered", (r) => Testing.lastWaitClamped.check({ ...r, jittered: false }))
    const jittered = Wait.constant({ interval: "1 second" }).pipe(Jitter.apply(Jitter.full), Backoff.maxTries(4))
    expect(broken(Testing.check(jittered, run, { seed: 1 }))?.broken).toMatch(
      /^the sleep after call 1 is [\d.]+ms; the wait is 1s, so it should be 1s$/
    )
    const short = Wait.constant({ interval: "4 seconds" }).pipe(Backoff.maxTime("9500 millis"))
    const withEarlyEnd = Testing.law(
      "lastWaitClamped at 10s",
      (r) => Testing.lastWaitClamped.check({ ...r, maxTime: Duration.seconds(10) })
    )
    expect(broken(Testing.check(short, withEarlyEnd, { seed: 1 }))?.broken).toBe(
      "the sleep after call 3 is 1.5s; the wait is 4s and 2s are left of maxTime, so it should be 2s"
    )
  })

  it("deterministicUnderSeed: a jitter drawing from Math.random", () => {
    const mathRandom = Wait.constant({ interval: "1 second" }).pipe(
      Jitter.apply((w) => Duration.millis(Math.random() * Duration.toMillis(w))),
      Backoff.maxTries(4)
    )
    const e = broken(Testing.check(mathRandom, Testing.deterministicUnderSeed, { seed: 1 }))
    expect(e?.broken).toMatch(
      /^a second run with the same seed \(-?\d+\) differs at event 2: 0ms {2}Backoff #1 {2}wait [\d.]+ms, then 0ms {2}Backoff #1/
    )
  })

  it("deterministicUnderSeed and sameUnderDrivers: state shared between runs", () => {
    let n = 0
    const counting = Wait.runtime(() => ++n * 100).pipe(Backoff.maxTries(3))
    expect(broken(Testing.check(counting, Testing.deterministicUnderSeed, { seed: 1 }))?.law).toBe(
      "deterministicUnderSeed"
    )
    expect(broken(Testing.check(counting, Testing.sameUnderDrivers, { seed: 1 }))?.broken).toMatch(
      /^call 2: Backoff\.retry at .*, Effect\.retry at /
    )
  })

  it("sameUnderDrivers: a schedule whose fast path says one thing and its step another", () => {
    const twoFaced = Object.assign(Schedule.spaced("2 seconds").pipe(Schedule.intersect(Schedule.recurs(3))), {
      [PlanTypeId]: planOf(Wait.constant({ interval: "1 second" }).pipe(Backoff.maxTries(4)))
    })
    const e = broken(Testing.check(twoFaced, Testing.sameUnderDrivers, { seed: 1 }))
    expect(e?.broken).toBe("call 2: Backoff.retry at 1s, Effect.retry at 2s")
    expect(broken(Testing.check(twoFaced, Testing.deterministicUnderSeed, { seed: 1 }))).toBeUndefined()
  })
})

describe("a broken case prints as a trace", () => {
  // Effect's intersect: both must go on; our maxTries is not in a plan Testing can see
  const union = Schedule.intersect(Wait.constant({ interval: "1 second" }), Schedule.recurs(4))

  it("as an Effect: the law, what broke, the shrunk trace, how to replay it", () => {
    const e = broken(Testing.check(union, Testing.withinMaxTries, { maxTries: 3, seed: 42 }))!
    expect(e).toBeInstanceOf(Error)
    expect(e._tag).toBe("LawError")
    // shrunk to one failure repeating, seed 0
    expect(e.trace).toBe([
      "policy:   the policy",
      "outcomes: fail(\"503\") (the last repeats)",
      "seed:     0",
      "       0ms  Call    #1",
      "       0ms  Backoff #1  wait 1s",
      "        1s  Call    #2",
      "        1s  Backoff #2  wait 1s",
      "        2s  Call    #3",
      "        2s  Backoff #3  wait 1s",
      "        3s  Call    #4",
      "        3s  Backoff #4  wait 1s",
      "        4s  Call    #5",
      "        4s  Giveup  #5  (exhausted)",
      "=> failed with \"503\" after 4s"
    ].join("\n"))
    expect(e.message).toMatch(/^withinMaxTries broke: 5 calls, but maxTries is 3\npolicy: {3}the policy\n/)
    expect(e.message).toMatch(/\(after \d+ runs?, shrunk \d+ times?; replay: \{ seed: 42, path: "[\d:]+" \}\)$/)
    expect(e.message).not.toMatch(/[{[]\s*"?_tag/)
  })

  it("under fc.assert: the counterexample is the trace, not a JSON blob", () => {
    let message = ""
    try {
      fc.assert(Testing.check(union, Testing.withinMaxTries, { maxTries: 3 }), { seed: 42 })
    } catch (e) {
      message = String(e)
    }
    expect(message).toContain("Property failed")
    expect(message).toContain("Counterexample: [\npolicy:   the policy\noutcomes: fail(\"503\")")
    expect(message).toContain("        4s  Giveup  #5  (exhausted)")
    expect(message).toContain("withinMaxTries: 5 calls, but maxTries is 3")
  })

  it("a generated policy prints as the code that builds it", () => {
    const e = broken(Testing.check(Testing.policy({ strategies: ["expo"] }), Testing.capped("1 second"), { seed: 3 }))!
    expect(e.trace.split("\n")[0]).toMatch(
      /^policy: {3}(Wait\.expo\(\{ base: [\d.]+, factor: "[\d.]+ millis".*|Backoff\.schedule\(\{ wait: Wait\.expo.*)$/
    )
  })

  it("long runs show their start and end", () => {
    const e = broken(Testing.check(Wait.constant({ interval: "1 second" }), Testing.withinMaxTries, { maxTries: 50 }))!
    const lines = e.trace.split("\n")
    expect(lines.length).toBeLessThan(50)
    expect(e.trace).toMatch(/… \d+ more events …/)
    expect(lines.at(-1)).toBe("=> cut off after 200 calls after 3m 20s")
  })
})

describe("check in tests", () => {
  it("as a fast-check property: fc.assert passes for a good policy", () => {
    fc.assert(Testing.check(Wait.fibo().pipe(Backoff.maxTries(6)), Testing.laws), { numRuns: 30 })
    expect(fc.check(Testing.check(Wait.fibo(), Testing.withinMaxTries, { maxTries: 2 }), { numRuns: 30 }).failed)
      .toBe(true)
  })

  it.effect("as an Effect under it.effect: its own virtual clock, the TestClock untouched", () =>
    Effect.gen(function*() {
      yield* Testing.check(Wait.expo().pipe(Backoff.maxTime("1 hour")), Testing.laws, { numRuns: 20 })
      expect(yield* TestClock.currentTimeMillis).toBe(0)
      const failed = yield* Effect.flip(Testing.check(Wait.expo(), Testing.withinMaxTries, { maxTries: 2 }))
      expect(failed.law).toBe("withinMaxTries")
    }))

  it.effect.prop(
    "under it.effect.prop: a generated policy, checked over its own outcomes and seeds",
    [Testing.policy({ bounded: true, jitters: ["full", "none"] })],
    ([policy]) => Testing.check(policy, Testing.laws, { numRuns: 10 }),
    { timeout: 30_000, fastCheck: { numRuns: 20 } }
  )

  it("a law of one's own: never more than 3 calls in 10 seconds", () => {
    const atMost3In10s = Testing.law("atMost3In10s", (run) => {
      const starts = run.timeline.events.filter((e) => e._tag === "Call").map((e) => ms(e.at))
      for (let i = 3; i < starts.length; i++) {
        if (starts[i]! - starts[i - 3]! < 10_000) {
          return `calls ${i - 2} to ${i + 1} within ${starts[i]! - starts[i - 3]!}ms`
        }
      }
      return undefined
    })
    const spaced = Wait.constant({ interval: "5 seconds" }).pipe(Backoff.maxTries(10))
    expect(broken(Testing.check(spaced, atMost3In10s))).toBeUndefined()
    const expo = Wait.expo().pipe(Backoff.maxTries(10))
    expect(broken(Testing.check(expo, atMost3In10s, { seed: 1 }))?.broken).toBe("calls 1 to 4 within 7000ms")
  })

  it("a policy that needs typed errors takes outcomes of that type", () => {
    const policy = Wait.runtime((e: { readonly retryAfter: number }) => e.retryAfter).pipe(Backoff.maxTries(4))
    const outcomes = Testing.outcomes({ error: fc.record({ retryAfter: fc.integer({ min: 0, max: 5000 }) }) })
    expect(broken(Testing.check(policy, Testing.laws, { outcomes, seed: 1 }))).toBeUndefined()
  })
})

describe("the entry point", () => {
  it("is its own: the main entry does not export Testing", async () => {
    const main = await import("@effect-backoff/core")
    expect(Object.keys(main)).not.toContain("Testing")
    expect(Object.keys(main)).toContain("Timeline")
  })
})

describe("arbitraries keep to their options", () => {
  const sample = <A>(arb: fc.Arbitrary<A>, n = 300) => fc.sample(arb, { numRuns: n, seed: 5 })

  it("wait({ maxValue }): every wait of every strategy at or below it", () => {
    for (const wait of sample(Testing.wait({ maxValue: "3 seconds" }))) {
      const waits = Effect.runSync(Wait.delays(wait, 30))
      expect(waits.every((d) => ms(d) <= 3000), String(wait)).toBe(true)
    }
  })

  it("wait({ strategies }): only those; each value prints as its constructor", () => {
    const texts = sample(Testing.wait({ strategies: ["fibo", "list"] })).map(String)
    expect(texts.every((t) => t.startsWith("Wait.fibo(") || t.startsWith("Wait.constant({ interval: ["))).toBe(true)
    expect(new Set(texts.map((t) => t.slice(0, 9))).size).toBe(2)
    const all = new Set(sample(Testing.wait(), 500).map((w) => String(w).split("(")[0]))
    expect([...all].sort()).toEqual(
      [
        "Schedule.spaced",
        "Wait.constant",
        "Wait.decay",
        "Wait.decorrelated",
        "Wait.expo",
        "Wait.fibo",
        "Wait.linear",
        "Wait.runtime"
      ]
    )
  })

  it("jitter(): the library's jitters by name, narrowed by jitters", () => {
    expect(new Set(sample(Testing.jitter()).map(String))).toEqual(
      new Set(["Jitter.full", "Jitter.equal", "Jitter.random", "Jitter.none"])
    )
    const bands = sample(Testing.jitter({ jitters: ["equal"] }), 20)
    for (const j of bands) {
      const drawn = Effect.runSync(Wait.delays(Wait.constant().pipe(Jitter.apply(j)), 20)).map(ms)
      expect(drawn.every((d) => d >= 500 && d <= 1000)).toBe(true)
    }
  })

  it("policy({ bounded: true }): every policy ends against endless failures", () => {
    for (const policy of sample(Testing.policy({ bounded: true, maxTries: 20, maxTime: "1 minute" }), 200)) {
      const r = Effect.runSync(Timeline.run(policy, [Timeline.fail("e")]))
      expect(r.cutOff, String(policy)).toBe(false)
      expect(r.calls).toBeLessThanOrEqual(20)
    }
  })

  it("outcomes(): lengths, failures only, durations", () => {
    const scripts = sample(Testing.outcomes({ minLength: 2, maxLength: 4, successes: false, maxDuration: 0 }))
    expect(scripts.every((s) => s.length >= 2 && s.length <= 4)).toBe(true)
    expect(scripts.flat().every((o) => o._tag === "Fail")).toBe(true)
    const timed = sample(Testing.outcomes({ maxDuration: "2 seconds" })).flat()
    expect(timed.some((o) => o._tag === "Succeed")).toBe(true)
    expect(String(fc.sample(Testing.outcomes({ value: fc.constant(7) }), { numRuns: 1, seed: 1 })[0]![0]))
      .toMatch(/^(fail\(".*"(, "[\d.]+ millis")?\)|succeed\(7(, "[\d.]+ millis")?\))$/)
  })

  it("bad options are an InvalidOptionError naming them", () => {
    const bad = (f: () => unknown, option: string) => {
      expect(f).toThrow(InvalidOptionError)
      try {
        f()
      } catch (e) {
        expect((e as InvalidOptionError).option).toBe(option)
      }
    }
    bad(() => Testing.wait({ strategies: ["exp" as never] }), "Testing.wait strategies")
    bad(() => Testing.wait({ maxValue: -1 }), "Testing.wait maxValue")
    bad(() => Testing.wait({ max_value: 1 } as never), "Testing.wait.max_value")
    bad(() => Testing.jitter({ jitters: [] }), "Testing.jitter jitters")
    bad(() => Testing.policy({ maxTries: 0 }), "Testing.policy maxTries")
    bad(() => Testing.outcomes({ maxLength: 0 }), "Testing.outcomes maxLength")
    bad(() => Testing.outcomes({ error: "503" as never }), "Testing.outcomes error")
    bad(() => Testing.capped("soon" as never), "Testing.capped maxValue")
    bad(() => Testing.check("expo" as never, Testing.laws), "Testing.check policy")
    bad(() => Testing.check(Wait.expo(), [] as never), "Testing.check law")
    bad(() => Testing.check(Wait.expo(), Testing.laws, { numRuns: 0 }), "Testing.check numRuns")
    bad(() => Testing.law("", () => undefined), "Testing.law name")
  })
})
