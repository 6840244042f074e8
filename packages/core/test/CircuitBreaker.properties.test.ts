/**
 * Model-based property test: over random sequences of call outcomes, call durations and
 * clock moves, the breaker (on a TestClock) decides as a naive model does (its state, and
 * whether each call is admitted or rejected), and no call runs while it is open.
 */
import { CircuitBreaker, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Fiber, TestClock } from "effect"
import { runTest } from "./helpers.js"

type Command =
  | { readonly _tag: "call"; readonly fails: boolean; readonly millis: number }
  | { readonly _tag: "advance"; readonly millis: number }

interface Config {
  readonly policy: { readonly _tag: "consecutive"; readonly n: number } | {
    readonly _tag: "count"
    readonly threshold: number
    readonly size: number
    readonly minimumCalls: number
    readonly slowMillis: number | undefined
  }
  readonly factor: number
  readonly successThreshold: number
}

/** The model: the rules written as plainly as possible, one call at a time. */
class Model {
  state: "closed" | "open" | "halfOpen" = "closed"
  now = 0
  openUntil = 0
  openings = 0
  successes = 0
  failuresInARow = 0
  window: Array<{ fails: boolean; slow: boolean }> = []
  constructor(readonly config: Config) {}

  delay(k: number) {
    return Math.min(this.config.factor * 2 ** (k - 1), this.config.factor * 8)
  }
  open() {
    this.state = "open"
    this.openings++
    this.openUntil = this.now + this.delay(this.openings)
    this.failuresInARow = 0
    this.window = []
  }
  /** "rejected", or the call runs and ends `millis` later (the test's clock moves `millis` either way) */
  call(fails: boolean, millis: number): "admitted" | "rejected" {
    if (this.state === "open") {
      if (this.now < this.openUntil) {
        this.now += millis
        return "rejected"
      }
      this.state = "halfOpen"
      this.successes = 0
    }
    const probe = this.state === "halfOpen"
    this.now += millis
    const p = this.config.policy
    const slow = p._tag === "count" && p.slowMillis !== undefined && millis > p.slowMillis
    if (probe) {
      if (fails || slow) {
        this.open()
      } else if (++this.successes >= this.config.successThreshold) {
        this.state = "closed"
        this.openings = 0
      }
      return "admitted"
    }
    if (p._tag === "consecutive") {
      this.failuresInARow = fails ? this.failuresInARow + 1 : 0
      if (this.failuresInARow >= p.n) this.open()
    } else {
      this.window.push({ fails, slow })
      if (this.window.length > p.size) this.window.shift()
      const calls = this.window.length
      const failures = this.window.filter((c) => c.fails).length
      const slows = this.window.filter((c) => c.slow).length
      if (
        calls >= p.minimumCalls &&
        (failures / calls >= p.threshold || (p.slowMillis !== undefined && slows / calls >= 1))
      ) {
        this.open()
      }
    }
    return "admitted"
  }
  /** what `state` reads: an open breaker past its wait reads half-open */
  read() {
    if (this.state === "open" && this.now >= this.openUntil) {
      this.state = "halfOpen"
      this.successes = 0
    }
    return this.state
  }
}

const config: fc.Arbitrary<Config> = fc.record({
  policy: fc.oneof(
    fc.record({ _tag: fc.constant("consecutive" as const), n: fc.integer({ min: 1, max: 4 }) }),
    fc.integer({ min: 1, max: 5 }).chain((size) =>
      fc.record({
        _tag: fc.constant("count" as const),
        threshold: fc.constantFrom(0.25, 0.5, 0.75, 1),
        size: fc.constant(size),
        minimumCalls: fc.integer({ min: 1, max: size }),
        slowMillis: fc.option(fc.constantFrom(100, 500), { nil: undefined })
      })
    )
  ),
  factor: fc.constantFrom(100, 250, 1000),
  successThreshold: fc.integer({ min: 1, max: 3 })
})

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      _tag: fc.constant("call" as const),
      fails: fc.boolean(),
      millis: fc.constantFrom(0, 50, 200, 1000)
    })
  },
  {
    weight: 1,
    arbitrary: fc.record({ _tag: fc.constant("advance" as const), millis: fc.integer({ min: 1, max: 3000 }) })
  }
)

const breakerOf = (c: Config) =>
  CircuitBreaker.make({
    policy: c.policy._tag === "consecutive"
      ? CircuitBreaker.consecutive(c.policy.n)
      : CircuitBreaker.count({
        threshold: c.policy.threshold,
        size: c.policy.size,
        minimumCalls: c.policy.minimumCalls,
        ...(c.policy.slowMillis === undefined ? {} : { slowCall: { duration: c.policy.slowMillis, threshold: 1 } })
      }),
    halfOpenAfter: Wait.expo({ factor: c.factor, maxValue: c.factor * 8 }),
    successThreshold: c.successThreshold
  })

describe("CircuitBreaker against a model", () => {
  it("decides as the model does, and never runs a call while open", async () => {
    await fc.assert(
      fc.asyncProperty(
        config,
        fc.array(command, { minLength: 1, maxLength: 40 }),
        (c, commands) =>
          runTest(Effect.gen(function*() {
            const breaker = yield* breakerOf(c)
            const model = new Model(c)
            for (const cmd of commands) {
              if (cmd._tag === "advance") {
                yield* TestClock.adjust(cmd.millis)
                model.now += cmd.millis
              } else {
                let ran = false
                const task = Effect.suspend(() => {
                  ran = true
                  return Effect.delay(cmd.fails ? Effect.fail("boom") : Effect.succeed("ok"), cmd.millis)
                })
                const expected = model.call(cmd.fails, cmd.millis)
                const fiber = yield* Effect.fork(Effect.either(breaker.execute(task)))
                yield* TestClock.adjust(cmd.millis)
                const result = yield* Fiber.join(fiber)
                const rejected = Either.isLeft(result) && CircuitBreaker.isOpenError(result.left)
                expect(rejected ? "rejected" : "admitted").toBe(expected)
                expect(ran).toBe(!rejected)
              }
              expect(yield* breaker.state).toBe(model.read())
            }
          }))
      ),
      { numRuns: 150, seed: 17 }
    )
  }, 60_000)
})
