/**
 * The @effect/vitest consumer file of consumer.test.ts: copied as a test file into the
 * Testing consumer project (after @effect/vitest and vitest are added) and run there with
 * vitest: `check` under it.effect, it.effect.prop and a plain fc.assert.
 */
import { Backoff, Jitter, Wait } from "@effect-backoff/core"
import * as Testing from "@effect-backoff/core/Testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"

const policy = Wait.fibo({ maxValue: "10 seconds" }).pipe(Jitter.apply(Jitter.equal), Backoff.maxTries(6))

describe("the Testing entry point in a consumer", () => {
  it.effect("it.effect: the policy keeps every law", () => Testing.check(policy, Testing.laws, { numRuns: 20 }))

  it.effect.prop(
    "it.effect.prop: every bounded policy keeps every law",
    [Testing.policy({ bounded: true })],
    ([generated]) => Testing.check(generated, Testing.laws, { numRuns: 5 }),
    { timeout: 30_000, fastCheck: { numRuns: 10 } }
  )

  it("fc.assert: the policy keeps its cap", () => {
    fc.assert(Testing.check(policy, Testing.capped("10 seconds")), { numRuns: 20 })
  })

  it.effect("a broken law fails the Effect with a LawError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Testing.check(Wait.expo(), Testing.withinMaxTries, { maxTries: 2 }))
      expect(error.law).toBe("withinMaxTries")
    }))
})
