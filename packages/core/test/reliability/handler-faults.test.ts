/**
 * Handler faults: a handler that throws, rejects, fails or dies makes the run die with that
 * very defect; the retry loop stops there (no attempt, no later handler, no onGiveup after
 * it). A slow handler delays the next attempt but never duplicates one.
 */
import { Backoff, InvalidOptionError, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Option, TestClock } from "effect"
import fc from "fast-check"
import { quiet, YieldingClock } from "./support.js"

type Fault = "throw" | "reject" | "die" | "fail" | "rejectNonError" | "throwNonError"
const FAULTS: ReadonlyArray<Fault> = ["throw", "reject", "die", "fail", "rejectNonError", "throwNonError"]
type Where = "onBackoff" | "onSuccess" | "onGiveup" | "giveup" | "predicate" | "runtimeWait"

class Boom extends Error {
  constructor(readonly where: string, readonly n: number) {
    super(`boom in ${where} #${n}`)
  }
}

/** A handler that misbehaves with `fault`, carrying `defect`. */
const faulty = (fault: Fault, defect: unknown): () => unknown => {
  switch (fault) {
    case "throw":
    case "throwNonError":
      return () => {
        throw defect
      }
    case "reject":
    case "rejectNonError":
      return () => Promise.reject(defect)
    case "die":
      return () => Effect.die(defect)
    case "fail":
      // a typed failure from an untyped handler is a defect too
      return () => Effect.fail(defect)
  }
}

const dieOf = (exit: Exit.Exit<unknown, unknown>): unknown =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined

interface Case {
  readonly where: Where
  readonly fault: Fault
  /** the handler misbehaves on its n-th call (onBackoff / giveup / predicate / runtimeWait) */
  readonly n: number
  readonly maxTries: number
  readonly succeedAt: number
  readonly style: "effect" | "function"
}

const showCase = (c: Case) =>
  `${c.fault} in ${c.where} #${c.n}, maxTries=${c.maxTries}, succeedAt=${c.succeedAt}, ${c.style} form`

/** Runs one case on a virtual clock and returns what happened. */
const runCase = async (c: Case) => {
  const log: Array<string> = []
  let calls = 0
  let seen = 0
  const defect = c.fault.endsWith("NonError") ? { not: "an Error", where: c.where } : new Boom(c.where, c.n)
  const at = (where: Where, f: () => unknown) => () => {
    if (where !== c.where) return f()
    seen++
    return seen === c.n ? faulty(c.fault, defect)() : f()
  }
  const call = Effect.suspend(() => {
    calls++
    log.push(`call ${calls}`)
    return c.where === "predicate"
      ? Effect.succeed(calls >= c.succeedAt ? "done" : "")
      : calls >= c.succeedAt
      ? Effect.succeed("done")
      : Effect.fail({ n: calls })
  })
  const common = {
    maxTries: c.maxTries,
    jitter: null,
    logger: false,
    wait: c.where === "runtimeWait"
      ? Wait.runtime(() => {
        const out = at("runtimeWait", () => "1 millis")()
        return out as Duration.DurationInput
      })
      : Wait.constant({ interval: "1 millis" }),
    onBackoff: [
      (d: Backoff.BackoffDetails) => {
        log.push(`onBackoff ${d.tries}`)
        return at("onBackoff", () => undefined)()
      },
      () => {
        log.push("second onBackoff")
      }
    ],
    onSuccess: (d: Backoff.SuccessDetails) => {
      log.push(`onSuccess ${d.tries}`)
      return at("onSuccess", () => undefined)()
    },
    onGiveup: (d: Backoff.GiveupDetails) => {
      log.push(`onGiveup ${d.tries}`)
      return at("onGiveup", () => undefined)()
    }
  } as const
  // the function form (Python's decorator) or the Effect form
  const target: any = c.style === "function"
    ? function fetchThing() {
      return call
    }
    : call
  const applied: any = c.where === "predicate"
    ? Backoff.onPredicate(target, {
      ...common,
      predicate: (v: string) => at("predicate", () => v === "")() as boolean
    } as any)
    : Backoff.onException(target, {
      ...common,
      giveup: (_e: unknown) => at("giveup", () => false)() as boolean
    } as any)
  const effect: Effect.Effect<unknown, unknown> = c.style === "function" ? applied() : applied
  const exit = await Effect.runPromiseExit(quiet(Effect.withClock(effect, new YieldingClockSync())))
  return { exit, log, calls, defect, seen }
}

/** runSync needs a clock that never suspends: sleep advances time and returns */
class YieldingClockSync extends YieldingClock {
  override sleep(duration: Duration.Duration): Effect.Effect<void> {
    return Effect.sync(() => {
      this.now += Duration.toMillis(duration)
    })
  }
}

describe("handler faults", () => {
  it.each(FAULTS)("onBackoff that does %s: the run dies with that defect, nothing after it", async (fault) => {
    const r = await runCase({ where: "onBackoff", fault, n: 2, maxTries: 10, succeedAt: 99, style: "effect" })
    expect(dieOf(r.exit)).toBe(r.defect)
    expect(r.calls).toBe(2)
    // the second onBackoff handler did not run after the first one failed; no give-up
    expect(r.log).toEqual(["call 1", "onBackoff 1", "second onBackoff", "call 2", "onBackoff 2"])
  })

  it.each(FAULTS)("onSuccess that does %s: the run dies, the value is not returned", async (fault) => {
    const r = await runCase({ where: "onSuccess", fault, n: 1, maxTries: 10, succeedAt: 3, style: "effect" })
    expect(dieOf(r.exit)).toBe(r.defect)
    expect(r.calls).toBe(3)
    expect(r.log.at(-1)).toBe("onSuccess 3")
  })

  it.each(FAULTS)("onGiveup that does %s: the run dies with that defect, not the last error", async (fault) => {
    const r = await runCase({ where: "onGiveup", fault, n: 1, maxTries: 3, succeedAt: 99, style: "effect" })
    expect(dieOf(r.exit)).toBe(r.defect)
    expect(Exit.isFailure(r.exit) && Option.isNone(Cause.failureOption(r.exit.cause))).toBe(true)
    expect(r.calls).toBe(3)
  })

  it("a giveup predicate that throws, a predicate that throws, a runtime wait that throws: the run dies", async () => {
    for (const where of ["giveup", "predicate", "runtimeWait"] as const) {
      const r = await runCase({ where, fault: "throw", n: 2, maxTries: 10, succeedAt: 99, style: "effect" })
      expect(dieOf(r.exit), where).toBe(r.defect)
      expect(r.calls, where).toBe(2)
      expect(r.log.filter((e) => e.startsWith("onGiveup")), where).toEqual([])
    }
  })

  it("a giveup or predicate Effect that fails (outside its type) stops the run at once, the failure surfaced", async () => {
    // Handlers are orDie'd; giveup / predicate Effects are typed Effect<boolean, never>, so
    // a failure there is a caller's type hole. Whatever channel it lands in, the loop must
    // stop: no further attempt, no onGiveup, and the failure is not swallowed.
    for (const where of ["giveup", "predicate"] as const) {
      const r = await runCase({ where, fault: "fail", n: 2, maxTries: 10, succeedAt: 99, style: "effect" })
      expect(r.calls, where).toBe(2)
      expect(r.log.some((e) => e.startsWith("onGiveup")), where).toBe(false)
      const surfaced = Exit.isFailure(r.exit) &&
        (Option.getOrUndefined(Cause.dieOption(r.exit.cause)) === r.defect ||
          Option.getOrUndefined(Cause.failureOption(r.exit.cause)) === r.defect)
      expect(surfaced, where).toBe(true)
    }
  })

  it("a runtime wait that computes a bad duration: the run dies with an InvalidOptionError, no further call", () => {
    let calls = 0
    const exit = Effect.runSyncExit(
      Effect.suspend(() => (calls++, Effect.fail({ retryAfter: -5 }))).pipe(
        Backoff.onException({
          wait: Wait.runtime((e: { retryAfter: number }) => e.retryAfter),
          jitter: null,
          logger: false
        })
      )
    )
    const defect = dieOf(exit)
    expect(defect).toBeInstanceOf(InvalidOptionError)
    expect((defect as InvalidOptionError).value).toBe(-5)
    expect(calls).toBe(1)
  })

  it("1,000 random faults: the run dies with exactly that defect after exactly the planned calls", async () => {
    const where = fc.constantFrom<Where>("onBackoff", "onSuccess", "onGiveup", "giveup", "predicate", "runtimeWait")
    let cases = 0
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          where,
          fault: fc.constantFrom(...FAULTS),
          n: fc.integer({ min: 1, max: 6 }),
          maxTries: fc.integer({ min: 1, max: 8 }),
          succeedAt: fc.integer({ min: 1, max: 10 }),
          style: fc.constantFrom<"effect" | "function">("effect", "function")
        }).filter((c) =>
          // a runtime wait must return a duration synchronously; giveup and predicate return
          // a boolean or an Effect (a Promise is not part of their contract)
          c.where === "runtimeWait" ?
            c.fault === "throw" || c.fault === "throwNonError"
            // (a failing Effect there is outside the types: see the test below)
            : c.where === "giveup" || c.where === "predicate" ?
            !c.fault.startsWith("reject") && c.fault !== "fail"
            : true
        ).map((c) => Object.assign(c, { [fc.toStringMethod]: () => showCase(c) })),
        async (c) => {
          cases++
          const r = await runCase(c)
          // when does the faulty hook run for the n-th time, if ever?
          const calls = Math.min(c.succeedAt, c.maxTries)
          const retries = c.succeedAt > c.maxTries ? c.maxTries - 1 : c.succeedAt - 1
          const reached = c.where === "onSuccess" ?
            c.n === 1 && c.succeedAt <= c.maxTries
            : c.where === "onGiveup" ?
            c.n === 1 && c.succeedAt > c.maxTries
            : c.where === "onBackoff" || c.where === "runtimeWait" ?
            c.n <= retries
            // giveup is asked on every failure, the predicate on every value
            : c.where === "giveup" ?
            c.n <= Math.min(c.succeedAt - 1, c.maxTries)
            : c.n <= calls
          if (reached) {
            expect(dieOf(r.exit)).toBe(r.defect)
            const expectedCalls = c.where === "onSuccess" || c.where === "onGiveup" ? calls : c.n
            expect(r.calls).toBe(expectedCalls)
            // no attempt and no handler after the faulty one
            const last = r.log.at(-1)!
            expect(
              last.startsWith("call") || last.startsWith(c.where) || c.where === "giveup" ||
                c.where === "predicate" || c.where === "runtimeWait"
            ).toBe(true)
            if (c.where !== "onGiveup") expect(r.log.some((e) => e.startsWith("onGiveup"))).toBe(false)
          } else {
            expect(
              Exit.isSuccess(r.exit) ||
                Option.isSome(Cause.failureOption((r.exit as Exit.Failure<unknown, unknown>).cause))
            )
              .toBe(true)
            expect(r.calls).toBe(calls)
          }
        }
      ),
      { numRuns: 1_000, seed: 3 }
    )
    console.log(`handler faults: ${cases} random fault cases`)
  })

  it.effect("a slow handler delays the next attempt but never duplicates it", () =>
    Effect.gen(function*() {
      const callTimes: Array<number> = []
      let handlerRuns = 0
      const fiber = yield* Effect.fork(
        Effect.flatMap(Effect.clockWith((c) => c.currentTimeMillis), (now) => {
          callTimes.push(now)
          return Effect.fail("boom")
        }).pipe(
          Backoff.onException({
            wait: Wait.constant({ interval: "1 second" }),
            jitter: null,
            maxTries: 4,
            logger: false,
            onBackoff: () => {
              handlerRuns++
              return Effect.sleep("10 seconds")
            }
          }),
          Effect.exit
        )
      )
      yield* TestClock.adjust("5 seconds")
      expect(callTimes).toEqual([0])
      yield* TestClock.adjust("5 seconds")
      expect(callTimes).toEqual([0])
      yield* TestClock.adjust("1 second")
      expect(callTimes).toEqual([0, 11_000])
      yield* TestClock.adjust("1 minute")
      const exit = yield* Fiber.join(fiber)
      expect(exit).toEqual(Exit.fail("boom"))
      expect(callTimes).toEqual([0, 11_000, 22_000, 33_000])
      expect(handlerRuns).toBe(3)
    }))

  it.effect("a slow Promise handler and a slow onSuccess: one attempt each, in order", () =>
    Effect.gen(function*() {
      let calls = 0
      const order: Array<string> = []
      const fiber = yield* Effect.fork(
        Effect.suspend(() => {
          calls++
          order.push(`call ${calls}`)
          return calls < 3 ? Effect.fail("boom") : Effect.succeed("ok")
        }).pipe(
          Backoff.onException({
            wait: Wait.constant({ interval: "100 millis" }),
            jitter: null,
            logger: false,
            onBackoff: (d) =>
              Effect.zipRight(
                Effect.sleep(Duration.seconds(d.tries)),
                Effect.sync(() => order.push(`backoff ${d.tries} done`))
              ),
            onSuccess: () => Effect.zipRight(Effect.sleep("1 hour"), Effect.sync(() => order.push("success done")))
          })
        )
      )
      yield* TestClock.adjust("2 hours")
      expect(yield* Fiber.join(fiber)).toBe("ok")
      expect(calls).toBe(3)
      expect(order).toEqual(["call 1", "backoff 1 done", "call 2", "backoff 2 done", "call 3", "success done"])
    }))
})
