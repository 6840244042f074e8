/**
 * Type-level tests of `@effect-backoff/core/Testing`: the arbitraries' element types,
 * `check` accepting a policy or an arbitrary of policies (and the outcomes a typed policy
 * needs), and what `check` returns (a fast-check property and an Effect).
 */
import type { Jitter, Timeline } from "@effect-backoff/core"
import { Backoff, Wait } from "@effect-backoff/core"
import * as Testing from "@effect-backoff/core/Testing"
import { describe, expectTypeOf, it } from "@effect/vitest"
import type { Duration, Schedule } from "effect"
import { Data, Effect, FastCheck as fc } from "effect"

/** Holds code that only has to compile (or fail to): it is never run. */
const compileOnly = (_code: () => unknown): void => {}

class HttpError extends Data.TaggedError("HttpError")<{ readonly status: number }> {}

describe("Testing arbitraries", () => {
  it("element types", () => {
    expectTypeOf(Testing.wait()).toEqualTypeOf<fc.Arbitrary<Wait.Wait>>()
    expectTypeOf(Testing.wait({ strategies: ["expo"], maxValue: "1 second" })).toEqualTypeOf<fc.Arbitrary<Wait.Wait>>()
    expectTypeOf(Testing.jitter()).toEqualTypeOf<fc.Arbitrary<Jitter.Jitter>>()
    expectTypeOf(Testing.policy({ bounded: true })).toEqualTypeOf<
      fc.Arbitrary<Schedule.Schedule<Duration.Duration, unknown>>
    >()
    expectTypeOf(Testing.outcomes()).toEqualTypeOf<fc.Arbitrary<ReadonlyArray<Timeline.Outcome<string, string>>>>()
    expectTypeOf(Testing.outcomes({ error: fc.constant(new HttpError({ status: 503 })), value: fc.integer() }))
      .toEqualTypeOf<fc.Arbitrary<ReadonlyArray<Timeline.Outcome<number, HttpError>>>>()
    compileOnly(() => {
      // @ts-expect-error only the known strategies
      Testing.wait({ strategies: ["exponential"] })
      // @ts-expect-error only the library's jitters, by name
      Testing.policy({ jitters: ["half"] })
      // @ts-expect-error error takes an Arbitrary, not a value
      Testing.outcomes({ error: "503" })
    })
  })

  it("a generated policy works wherever a Schedule does", () => {
    fc.assert(
      fc.property(Testing.policy(), (policy) => {
        expectTypeOf(Effect.retry(Effect.fail("e"), policy)).toEqualTypeOf<Effect.Effect<never, string>>()
      }),
      { numRuns: 1 }
    )
  })
})

describe("Testing.check", () => {
  const policy = Wait.expo().pipe(Backoff.maxTries(5))

  it("takes a policy or an arbitrary of policies, a law or a list of laws", () => {
    expectTypeOf(Testing.check(policy, Testing.withinMaxTries)).toEqualTypeOf<Testing.Check>()
    expectTypeOf(Testing.check(Testing.policy(), Testing.laws)).toEqualTypeOf<Testing.Check>()
    expectTypeOf(Testing.check(policy, [Testing.capped("1 minute"), Testing.sameUnderDrivers], { numRuns: 10 }))
      .toEqualTypeOf<Testing.Check>()
    compileOnly(() => {
      // @ts-expect-error a law, not a predicate
      Testing.check(policy, () => true)
      // @ts-expect-error a Schedule or an Arbitrary of Schedules
      Testing.check(fc.integer(), Testing.laws)
    })
  })

  it("is a fast-check property and an Effect that fails with a LawError", () => {
    const checked = Testing.check(policy, Testing.laws)
    expectTypeOf(checked).toMatchTypeOf<fc.IProperty<[Testing.Case]>>()
    expectTypeOf(checked).toMatchTypeOf<Effect.Effect<void, Testing.LawError>>()
    expectTypeOf(Effect.flip(checked)).toEqualTypeOf<Effect.Effect<Testing.LawError, void>>()
    expectTypeOf<Testing.LawError["law"]>().toEqualTypeOf<string>()
    compileOnly(() => fc.assert(checked))
  })

  it("a policy with a typed input needs outcomes of that type", () => {
    const typed = Wait.runtime((e: HttpError) => e.status * 10).pipe(Backoff.maxTries(3))
    const outcomes = Testing.outcomes({ error: fc.constant(new HttpError({ status: 503 })) })
    expectTypeOf(Testing.check(typed, Testing.laws, { outcomes })).toEqualTypeOf<Testing.Check>()
    compileOnly(() => {
      // @ts-expect-error the default outcomes fail with strings, which this policy cannot read
      Testing.check(typed, Testing.laws)
      // @ts-expect-error outcomes of another error type
      Testing.check(typed, Testing.laws, { outcomes: Testing.outcomes({ error: fc.integer() }) })
    })
  })

  it("a law of one's own sees the run", () => {
    const law = Testing.law("fewCalls", (run) => {
      expectTypeOf(run.timeline.events).toEqualTypeOf<ReadonlyArray<Timeline.Event>>()
      expectTypeOf(run.waits).toEqualTypeOf<ReadonlyArray<Duration.Duration>>()
      expectTypeOf(run.callTimes("Effect.retry")).toEqualTypeOf<ReadonlyArray<Duration.Duration>>()
      return run.timeline.calls > 3 ? "too many" : undefined
    })
    expectTypeOf(law).toEqualTypeOf<Testing.Law>()
    compileOnly(() => {
      // @ts-expect-error a law says what broke in words (or undefined), not a boolean
      Testing.law("bad", () => true)
      // @ts-expect-error no such driver
      Testing.law("bad", (run) => run.callTimes("Effect.repeat").length > 0 ? undefined : "x")
    })
  })
})
