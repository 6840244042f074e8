import type { Jitter } from "@effect-backoff/core"
import { Backoff, Timeline, Wait } from "@effect-backoff/core"
import * as Testing from "@effect-backoff/core/Testing"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, FastCheck as fc, Fiber, Random, TestClock } from "effect"
import { runTest } from "./helpers.js"

const ms = (d: Duration.Duration) => Duration.toMillis(d)

/** A wait strategy that never ends (a counterexample prints as the code that builds it). */
const endlessWait = Testing.wait({
  strategies: ["expo", "fibo", "constant", "decay", "linear", "decorrelated", "runtime", "spaced"]
})

/** Any wait strategy, including finite lists that end. */
const anyWait = Testing.wait()

/** The library's jitters, and `null` (no jitter at all). */
const jitterArb: fc.Arbitrary<Jitter.Jitter | null> = fc.oneof(fc.constant(null), Testing.jitter())

const count = (events: ReadonlyArray<Timeline.Event>, tag: Timeline.Event["_tag"]) =>
  events.filter((e) => e._tag === tag).length

describe("properties on Timeline (virtual clock)", () => {
  it("for any maxTries, against endless failures: calls == maxTries, backoffs == maxTries - 1, one giveup", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        endlessWait,
        jitterArb,
        fc.integer(),
        (maxTries, wait, jitter, seed) => {
          let backoffs = 0
          let giveups = 0
          const r = Effect.runSync(Timeline.run(
            {
              wait,
              jitter,
              maxTries,
              logger: false,
              onBackoff: () => {
                backoffs++
              },
              onGiveup: () => {
                giveups++
              }
            },
            [Timeline.fail("e")],
            { seed }
          ))
          expect(count(r.events, "Call")).toBe(maxTries)
          expect(r.calls).toBe(maxTries)
          expect(count(r.events, "Backoff")).toBe(maxTries - 1)
          expect(count(r.events, "Success")).toBe(0)
          expect(r.events.filter((e) => e._tag === "Giveup").map((e) => e.tries)).toEqual([maxTries])
          expect(backoffs).toBe(maxTries - 1)
          expect(giveups).toBe(1)
          expect(r.result).toEqual(Exit.fail("e"))
          expect(r.cutOff).toBe(false)
        }
      ),
      { numRuns: 200 }
    )
  })

  it("maxTime: total ≤ maxTime + the last call's duration, the sum of sleeps ≤ maxTime, no call starts after maxTime", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20_000 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 10 }),
        anyWait,
        jitterArb,
        fc.integer(),
        (maxTime, durations, wait, jitter, seed) => {
          const r = Effect.runSync(Timeline.run(
            { wait, jitter, maxTime, logger: false },
            durations.map((d) => Timeline.fail("e", d)),
            { seed }
          ))
          // a run ends once maxTime has passed; one is cut off at Timeline's 10,000 calls only
          // while time is still short of maxTime: time stands still (every wait under a
          // nanosecond, every call instant: a zero wait is valid) or creeps (zero waits and
          // calls so short that 10,000 of them fit in maxTime, as 10,000 calls of 1 ms do in
          // 10,001 ms)
          const backoffs = r.events.filter((e) => e._tag === "Backoff")
          if (r.cutOff) {
            expect(r.calls).toBe(10_000)
            expect(ms(r.total)).toBeLessThan(maxTime)
            expect(backoffs.slice(-100).every((e) => ms(e.wait!) < 1e-6), String(wait)).toBe(true)
            expect(durations.at(-1)! * (10_000 - durations.length)).toBeLessThan(maxTime)
          }
          const last = durations[Math.min(r.calls - 1, durations.length - 1)]!
          expect(ms(r.total)).toBeLessThanOrEqual(maxTime + last + 1e-6)
          const sleeps = r.events.filter((e) => e._tag === "Backoff").reduce((sum, e) => sum + ms(e.wait!), 0)
          expect(sleeps).toBeLessThanOrEqual(maxTime + 1e-6)
          for (const e of r.events) {
            if (e._tag === "Call") expect(ms(e.at)).toBeLessThanOrEqual(maxTime + 1e-6)
          }
          if (!r.cutOff) {
            expect(r.events.at(-1)!._tag).toBe("Giveup")
            expect(r.result).toEqual(Exit.fail("e"))
          }
        }
      ),
      { numRuns: 300 }
    )
  })

  it("the same limits for built policies, as laws: withinMaxTime, lastWaitClamped, withinMaxTries", () => {
    // Testing.policy builds wait + jitter + maxTries + maxTime with the combinators and with
    // Backoff.schedule(options); the laws check calls, sleeps and the clamp against what it declared
    const outcomes = Testing.outcomes({ successes: false, maxLength: 10, maxDuration: "3 seconds" })
    Effect.runSync(
      Testing.check(
        Testing.policy({ maxTime: "20 seconds", maxTries: 40 }),
        [Testing.withinMaxTime, Testing.lastWaitClamped, Testing.withinMaxTries, Testing.nonNegativeWaits],
        { outcomes, numRuns: 300, seed: 17 }
      )
    )
  })

  it("maxTime alone always ends a run of failures (no endless zero sleeps); a clamped sleep lands on maxTime", () => {
    // Durations have nanosecond resolution: inputs are whole nanoseconds
    const nanos = (max: number) => fc.integer({ min: 0, max }).map((n) => n / 1e6)
    fc.assert(
      fc.property(
        nanos(5_000_000_000),
        fc.integer({ min: 1, max: 2000 }),
        fc.array(nanos(300_000_000), { minLength: 1, maxLength: 4 }),
        jitterArb,
        (maxTime, steps, durations, jitter) => {
          // at most ~2000 sleeps per run; whole nanoseconds, at least 1
          const interval = Math.max(1, Math.round((maxTime * 1e6) / steps)) / 1e6
          const r = Effect.runSync(Timeline.run(
            { wait: Wait.constant({ interval }), jitter, maxTime, logger: false },
            durations.map((d) => Timeline.fail("e", d)),
            { maxCalls: 10_000 }
          ))
          expect(r.cutOff).toBe(false)
          expect(r.events.at(-1)!._tag).toBe("Giveup")
          const backoffs = r.events.filter((e) => e._tag === "Backoff")
          const last = backoffs.at(-1)
          // a sleep cut to the budget ends on maxTime (never a nanosecond short)
          if (
            last !== undefined && ms(last.wait!) < interval && (jitter === null || String(jitter) === "Jitter.none")
          ) {
            expect(Math.abs(ms(last.at) + ms(last.wait!) - maxTime)).toBeLessThan(1e-9)
          }
          const calls = r.events.filter((e) => e._tag === "Call")
          calls.forEach((c) => expect(ms(c.at)).toBeLessThanOrEqual(maxTime + 1e-9))
        }
      ),
      { numRuns: 150 }
    )
  })

  it("every wait equals the clock advance from the backoff to the next call", () => {
    fc.assert(
      fc.property(
        anyWait,
        jitterArb,
        fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 6 }),
        fc.option(fc.integer({ min: 0, max: 30_000 }), { nil: undefined }),
        fc.integer({ min: 1, max: 15 }),
        fc.integer(),
        (wait, jitter, durations, maxTime, maxTries, seed) => {
          const waits: Array<number> = []
          const r = Effect.runSync(Timeline.run(
            {
              wait,
              jitter,
              maxTime,
              maxTries,
              logger: false,
              onBackoff: (d) => {
                waits.push(ms(d.wait))
              }
            },
            durations.map((d) => Timeline.fail("e", d)),
            { seed }
          ))
          const events = r.events
          let backoffs = 0
          events.forEach((e, i) => {
            if (e._tag !== "Backoff") return
            const next = events[i + 1]!
            expect(next._tag).toBe("Call")
            expect(next.tries).toBe(e.tries + 1)
            // a wait below a nanosecond is reported but not slept (the loop skips it: Node
            // would arm a 1 ms timer), so the two may differ by up to a nanosecond
            expect(Math.abs(ms(next.at) - ms(e.at) - ms(e.wait!))).toBeLessThanOrEqual(1e-6 + 1e-12)
            expect(ms(e.wait!)).toBe(waits[backoffs])
            backoffs++
          })
          expect(backoffs).toBe(waits.length)
        }
      ),
      { numRuns: 300 }
    )
  })

  it("handler counts are exact: one backoff per retried call, then exactly one success or one giveup", () => {
    const outcomeArb = fc.array(fc.boolean(), { minLength: 1, maxLength: 12 })
    fc.assert(
      fc.property(outcomeArb, fc.integer({ min: 1, max: 15 }), anyWait, (script, maxTries, wait) => {
        const counts = { success: 0, backoff: 0, giveup: 0 }
        const tries: Array<number> = []
        const r = Effect.runSync(Timeline.run(
          {
            wait,
            maxTries,
            logger: false,
            onSuccess: (d) => {
              counts.success++
              tries.push(d.tries)
            },
            onBackoff: [(d) => {
              counts.backoff++
              tries.push(d.tries)
            }],
            onGiveup: (d) => {
              counts.giveup++
              tries.push(d.tries)
            }
          },
          script.map((ok, i) => ok ? Timeline.succeed(i) : Timeline.fail(`e${i}`))
        ))
        // tries are 1, 2, ..., calls: one event per call
        expect(tries).toEqual(Array.from({ length: r.calls }, (_, i) => i + 1))
        expect(counts.backoff).toBe(r.calls - 1)
        expect(counts.success + counts.giveup).toBe(1)
        expect(count(r.events, "Backoff")).toBe(counts.backoff)
        // the model: the first success (the last outcome repeats) within maxTries
        const firstOk = script.indexOf(true)
        const lastIndex = script.length - 1
        if (firstOk !== -1 && firstOk < maxTries && r.calls === firstOk + 1) {
          expect(counts.success).toBe(1)
          expect(r.result).toEqual(Exit.succeed(firstOk))
        } else {
          expect(counts.giveup).toBe(1)
          const failedAt = Math.min(r.calls - 1, lastIndex)
          expect(r.result).toEqual(Exit.fail(`e${failedAt}`))
          expect(r.calls).toBeLessThanOrEqual(maxTries)
          if (firstOk !== -1) expect(r.calls).toBeLessThanOrEqual(firstOk)
        }
        if (firstOk === -1 || firstOk >= maxTries) {
          // an endless strategy would reach maxTries; a list may end first
          expect(counts.success).toBe(0)
        }
      }),
      { numRuns: 300 }
    )
  })

  it("the exception filter: the run stops at the first non-matching error, with no handler for it", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("retry", "fatal"), { minLength: 1, maxLength: 10 }), (script) => {
        let handled = 0
        const r = Effect.runSync(Timeline.run(
          {
            wait: Wait.constant(),
            jitter: null,
            maxTries: 20,
            exception: (e: string) => e.startsWith("retry"),
            logger: false,
            onGiveup: () => {
              handled++
            }
          },
          script.map((kind, i) => Timeline.fail(`${kind} ${i}`))
        ))
        const fatal = script.indexOf("fatal")
        if (fatal === -1) {
          expect(r.calls).toBe(20)
          expect(handled).toBe(1)
        } else {
          expect(r.calls).toBe(fatal + 1)
          expect(r.result).toEqual(Exit.fail(`fatal ${fatal}`))
          expect(handled).toBe(0)
          expect(count(r.events, "Backoff")).toBe(fatal)
        }
      }),
      { numRuns: 200 }
    )
  })
})

describe("properties on the TestClock", () => {
  it("the wait in the details equals the TestClock advance to the next call", async () => {
    await fc.assert(
      fc.asyncProperty(
        endlessWait,
        jitterArb,
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer(),
        (wait, jitter, maxTries, callMillis, seed) =>
          runTest(Effect.gen(function*() {
            const callStarts: Array<number> = []
            const backoffs: Array<{ at: number; wait: number; elapsed: number }> = []
            const t0 = yield* Clock.currentTimeMillis
            const call = Effect.gen(function*() {
              callStarts.push((yield* Clock.currentTimeMillis) - t0)
              if (callMillis > 0) yield* Effect.sleep(callMillis)
              return yield* Effect.fail("e")
            })
            const retried = call.pipe(Backoff.onException({
              wait,
              jitter,
              maxTries,
              logger: false,
              onBackoff: (d) =>
                Effect.map(Clock.currentTimeMillis, (now) => {
                  backoffs.push({ at: now - t0, wait: ms(d.wait), elapsed: ms(d.elapsed) })
                })
            }))
            const fiber = yield* Effect.fork(Effect.exit(Effect.withRandom(retried, Random.make(seed))))
            yield* TestClock.adjust("1 day")
            expect(yield* Fiber.join(fiber)).toEqual(Exit.fail("e"))
            expect(callStarts).toHaveLength(maxTries)
            expect(backoffs).toHaveLength(maxTries - 1)
            backoffs.forEach((b, i) => {
              // elapsed is read from the monotonic clock, whose unit is the nanosecond
              expect(Math.abs(b.elapsed - b.at)).toBeLessThan(2e-6)
              expect(Math.abs(callStarts[i + 1]! - b.at - b.wait)).toBeLessThan(1e-6)
            })
          }))
      ),
      { numRuns: 25 }
    )
  }, 30_000)

  it("concurrent runs of one wrapped function keep separate counters", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 8 }),
        fc.integer(),
        (failures, seed) =>
          runTest(Effect.gen(function*() {
            const calls = failures.map(() => 0)
            const backoffs: Array<Array<number>> = failures.map(() => [])
            const successes: Array<Array<number>> = failures.map(() => [])
            const fetchOne = (id: number) =>
              Effect.suspend(() => ++calls[id]! <= failures[id]! ? Effect.fail(`fail ${id}`) : Effect.succeed(id))
            const retried = Backoff.onException(fetchOne, {
              wait: Wait.expo({ factor: "100 millis" }),
              maxTries: 6,
              logger: false,
              onBackoff: (d) => {
                backoffs[d.args[0] as number]!.push(d.tries)
              },
              onSuccess: (d) => {
                successes[d.args[0] as number]!.push(d.tries)
              }
            })
            const all = Effect.all(failures.map((_, id) => retried(id)), { concurrency: "unbounded" })
            const fiber = yield* Effect.fork(Effect.withRandom(all, Random.make(seed)))
            yield* TestClock.adjust("1 hour")
            const results = yield* Fiber.join(fiber)
            expect(results).toEqual(failures.map((_, id) => id))
            failures.forEach((n, id) => {
              expect(calls[id]).toBe(n + 1)
              expect(backoffs[id]).toEqual(Array.from({ length: n }, (_, i) => i + 1))
              expect(successes[id]).toEqual([n + 1])
            })
          }))
      ),
      { numRuns: 25 }
    )
  }, 30_000)

  it("for any maxTries on the TestClock: calls == maxTries and backoffs == maxTries - 1", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        jitterArb,
        fc.integer(),
        (maxTries, jitter, seed) =>
          runTest(Effect.gen(function*() {
            let calls = 0
            let backoffs = 0
            const giveups: Array<number> = []
            const retried = Effect.suspend(() => {
              calls++
              return Effect.fail("e")
            }).pipe(Backoff.onException({
              wait: Wait.expo({ factor: "10 millis" }),
              jitter,
              maxTries,
              logger: false,
              onBackoff: () => {
                backoffs++
              },
              onGiveup: (d) => {
                giveups.push(d.tries)
              }
            }))
            const fiber = yield* Effect.fork(Effect.exit(Effect.withRandom(retried, Random.make(seed))))
            yield* TestClock.adjust("1 day")
            expect(yield* Fiber.join(fiber)).toEqual(Exit.fail("e"))
            expect(calls).toBe(maxTries)
            expect(backoffs).toBe(maxTries - 1)
            expect(giveups).toEqual([maxTries])
          }))
      ),
      { numRuns: 20 }
    )
  }, 30_000)
})
