/**
 * Policies inside Effect's combinators and the retry budget inside a policy: every
 * give-up is named and seen by every tap, no tap reports a backoff that does not happen
 * (issue 21, items 6, 8, 9, 10). All on the TestClock.
 */
import { Backoff, InvalidOptionError, RetryBudget, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Exit, Schedule } from "effect"
import type { LogLine } from "./helpers.js"
import { captureLogs, runFor } from "./helpers.js"

type Event = string

/** A policy whose taps write `backoff <tries>` / `giveup <tries> <reason>` into `events`. */
const tapped = <Out, In>(policy: Schedule.Schedule<Out, In>, events: Array<Event>, name = "") =>
  policy.pipe(
    Backoff.tapBackoff((d) => {
      events.push(`${name}backoff ${d.tries}`)
    }),
    Backoff.tapGiveup((d) => {
      events.push(`${name}giveup ${d.tries} ${d.reason}`)
    })
  )

const failing = (calls: { n: number }) => Effect.suspend(() => Effect.fail(`e${++calls.n}`))

/** An empty budget: no reserve, nothing deposited. */
const emptyBudget = RetryBudget.make({ percentCanRetry: 0, minRetriesPerSecond: 0 })

describe("RetryBudget.limit: a give-up caused by the budget is \"budget\" wherever it sits (21.6)", () => {
  it.effect("under Effect.retry with tapGiveup after limit", () =>
    Effect.gen(function*() {
      const budget = yield* emptyBudget
      const events: Array<Event> = []
      const policy = tapped(Wait.constant({ interval: "1 second" }).pipe(RetryBudget.limit(budget)), events)
      const exit = yield* runFor(Effect.retry(failing({ n: 0 }), policy))
      expect(exit).toEqual(Exit.fail("e1"))
      expect(events).toEqual(["giveup 1 budget"])
    }))

  it.effect("under Effect.retry with the taps before limit: the give-up is seen, no backoff is", () =>
    Effect.gen(function*() {
      const budget = yield* emptyBudget
      const events: Array<Event> = []
      const policy = tapped(Wait.constant({ interval: "1 second" }), events).pipe(RetryBudget.limit(budget))
      const exit = yield* runFor(Effect.retry(failing({ n: 0 }), policy))
      expect(exit).toEqual(Exit.fail("e1"))
      expect(events).toEqual(["giveup 1 budget"])
    }))

  it.effect("under Backoff.retry: reason \"budget\" for handlers and taps, and the log line names the budget", () =>
    Effect.gen(function*() {
      const budget = yield* emptyBudget
      const events: Array<Event> = []
      const lines: Array<LogLine> = []
      const policy = tapped(Wait.constant({ interval: "1 second" }), events).pipe(RetryBudget.limit(budget))
      const exit = yield* runFor(captureLogs(
        failing({ n: 0 }).pipe(Backoff.retry({
          schedule: policy,
          onGiveup: (d) => {
            events.push(`handler ${d.reason}`)
          }
        })),
        lines
      ))
      expect(exit).toEqual(Exit.fail("e1"))
      expect(events).toEqual(["giveup 1 budget", "handler budget"])
      expect(lines.map((l) => l.message)).toEqual(["Giving up effect(...) after 1 try: retry budget exhausted (e1)"])
    }))

  it.effect("inside Schedule.intersect under Backoff.retry and under Effect.retry with a tap outside", () =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make({ percentCanRetry: 0, minRetriesPerSecond: 0.1, ttl: "10 seconds" })
      const events: Array<Event> = []
      const inner = tapped(Wait.constant({ interval: "1 second" }).pipe(RetryBudget.limit(budget)), events, "inner ")
      const composed = Schedule.intersect(inner, Schedule.forever)
      const exit = yield* runFor(
        failing({ n: 0 }).pipe(Backoff.retry({
          schedule: composed,
          logger: false,
          onGiveup: (d) => {
            events.push(`handler ${d.reason}`)
          }
        }))
      )
      expect(exit).toEqual(Exit.fail("e2")) // the reserve holds one token
      expect(events).toEqual(["inner backoff 1", "inner giveup 2 budget", "handler budget"])

      const budget2 = yield* RetryBudget.make({ percentCanRetry: 0, minRetriesPerSecond: 0.1, ttl: "10 seconds" })
      const events2: Array<Event> = []
      const inner2 = tapped(Wait.constant({ interval: "1 second" }).pipe(RetryBudget.limit(budget2)), events2, "inner ")
      const outer = tapped(Schedule.intersect(inner2, Schedule.forever), events2, "outer ")
      const exit2 = yield* runFor(Effect.retry(failing({ n: 0 }), outer))
      expect(exit2).toEqual(Exit.fail("e2"))
      expect(events2).toEqual(["inner backoff 1", "outer backoff 1", "inner giveup 2 budget", "outer giveup 2 budget"])
    }))
})

describe("Backoff.retry({ times: Infinity }) alone is refused (21.8)", () => {
  it("an unbounded times with no schedule is an InvalidOptionError naming times", () => {
    try {
      Backoff.retry({ times: Infinity })
      expect.fail("no error")
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidOptionError)
      expect((e as InvalidOptionError).option).toBe("times")
    }
    // with a schedule it only adds no limit, and a finite times alone is fine
    expect(() => Backoff.retry({ times: Infinity, schedule: Wait.expo() })).not.toThrow()
    expect(() => Backoff.retry({ times: 3 })).not.toThrow()
    expect(() => Backoff.repeat({ times: Infinity })).toThrow(InvalidOptionError)
  })
})

describe("taps inside Effect's combinators (21.9)", () => {
  const policy = (events: Array<Event>) =>
    Schedule.intersect(tapped(Wait.constant({ interval: "1 second" }), events), Schedule.recurs(1))

  it.effect("under Backoff.retry: no backoff event for a retry that does not happen, and the give-up is seen", () =>
    Effect.gen(function*() {
      const events: Array<Event> = []
      const calls = { n: 0 }
      const exit = yield* runFor(
        failing(calls).pipe(Backoff.retry({
          schedule: policy(events),
          logger: false,
          onBackoff: (d) => {
            events.push(`handler backoff ${d.tries}`)
          },
          onGiveup: (d) => {
            events.push(`handler giveup ${d.tries} ${d.reason}`)
          }
        }))
      )
      expect(exit).toEqual(Exit.fail("e2"))
      expect(calls.n).toBe(2)
      expect(events).toEqual([
        "backoff 1",
        "handler backoff 1",
        "giveup 2 exhausted",
        "handler giveup 2 exhausted"
      ])
    }))

  it.effect("under Effect.retry, a tap of ours outside the combinator is where the decision is known", () =>
    Effect.gen(function*() {
      const events: Array<Event> = []
      const calls = { n: 0 }
      const outer = policy(events).pipe(Backoff.tapGiveup((d) => {
        events.push(`outer giveup ${d.tries} ${d.reason}`)
      }))
      const exit = yield* runFor(Effect.retry(failing(calls), outer))
      expect(exit).toEqual(Exit.fail("e2"))
      expect(calls.n).toBe(2)
      expect(events).toEqual(["backoff 1", "giveup 2 exhausted", "outer giveup 2 exhausted"])
    }))

  it.effect("a limit of ours outside a tap of ours: the tap sees the give-up, not a backoff", () =>
    Effect.gen(function*() {
      // maxTime on a tapped policy keeps it whole (the tap saw the unclamped wait), as the base of a new plan
      const events: Array<Event> = []
      const calls = { n: 0 }
      const inner = tapped(Wait.constant({ interval: "1 second" }), events)
      const policy = Schedule.intersect(inner, Schedule.forever).pipe(Backoff.maxTries(2))
      const exit = yield* runFor(Effect.retry(failing(calls), policy))
      expect(exit).toEqual(Exit.fail("e2"))
      expect(events).toEqual(["backoff 1", "giveup 2 maxTries"])
    }))
})

describe("maxTime inside a composed policy keeps its meaning under the loop (21.10)", () => {
  const slowCall = (at: Array<number>) =>
    Effect.gen(function*() {
      at.push((yield* Clock.currentTimeMillis) / 1000)
      yield* Effect.sleep("1 second")
      return yield* Effect.fail("slow")
    })
  const policy = Wait.constant({ interval: "1 second" }).pipe(Backoff.maxTime("3.5 seconds"))

  it.effect("calls at 0, 2, 3.5 s alone and inside Schedule.intersect(..., Schedule.forever)", () =>
    Effect.gen(function*() {
      const alone: Array<number> = []
      yield* runFor(slowCall(alone).pipe(Backoff.retry({ schedule: policy, logger: false })), "1 minute")
      expect(alone).toEqual([0, 2, 3.5])
      const start = (yield* Clock.currentTimeMillis) / 1000
      const composed: Array<number> = []
      yield* runFor(
        slowCall(composed).pipe(
          Backoff.retry({ schedule: Schedule.intersect(policy, Schedule.forever), logger: false })
        ),
        "1 minute"
      )
      expect(composed.map((t) => t - start)).toEqual([0, 2, 3.5])
    }))
})
