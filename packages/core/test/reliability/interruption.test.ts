/**
 * Interruption at scale: a run that is interrupted (during a call, during a sleep, inside a
 * handler, or at whatever point a racing interrupter happens to land) makes no further
 * attempt and calls neither onGiveup nor onSuccess; interrupted real-timer runs leave no
 * timer behind. Virtual time everywhere except the one `it.live` group that needs real
 * timers.
 */
import { Backoff, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Duration, Effect, Exit, Fiber, FiberId, Random, Scheduler } from "effect"
import type { Scope } from "effect"
import fc from "fast-check"
import type { Failure, JitterSpec, Prng, WaitSpec } from "./support.js"
import { activeTimers, buildJitter, buildWait, prng, quiet, randomWait, showWait, YieldingClock } from "./support.js"

const RUNS = 10_000

type Point = "call" | "sleep" | "onBackoff" | "onSuccess" | "onGiveup"
type Style = "sync" | "effect" | "promise"

interface Plan {
  readonly seed: number
  readonly mode: "exception" | "predicate"
  readonly wait: WaitSpec
  readonly jitter: JitterSpec
  readonly maxTries: number | undefined
  readonly maxTime: number | undefined
  /** the call that succeeds (never, if beyond maxTries) */
  readonly successAt: number
  readonly style: Style
  /** "point": block at the at-th occurrence of `point` and interrupt there; "race": interrupt after `yields` scheduler turns */
  readonly how: "point" | "race"
  readonly point: Point
  readonly at: number
  readonly yields: number
}

const POINTS: ReadonlyArray<Point> = ["call", "sleep", "onBackoff", "onSuccess", "onGiveup"]

const makePlan = (seed: number): Plan => {
  const r: Prng = prng(seed)
  const maxTries = r.chance(0.2) ? undefined : r.int(1, 8)
  const point = r.pick(POINTS)
  return {
    seed,
    mode: r.chance(0.7) ? "exception" : "predicate",
    wait: randomWait(r),
    jitter: r.pick<JitterSpec>(["default", "full", "equal", "none", "null"]),
    maxTries,
    maxTime: r.chance(0.5) ? undefined : r.int(0, 200),
    successAt: r.int(1, 10),
    style: r.pick<Style>(["sync", "effect", "promise"]),
    how: seed % 2 === 0 ? "point" : "race",
    point,
    // onSuccess and onGiveup run at most once per run
    at: point === "onSuccess" || point === "onGiveup" ? 1 : r.int(1, 3),
    yields: r.int(0, 12)
  }
}

const showPlan = (p: Plan): string =>
  `seed=${p.seed} ${p.mode} ${showWait(p.wait)} jitter=${p.jitter} maxTries=${p.maxTries ?? "-"} maxTime=${
    p.maxTime ?? "-"
  } successAt=${p.successAt} handlers=${p.style} ${
    p.how === "point" ? `block in ${p.point} #${p.at}` : `race after ${p.yields} yields`
  }`

interface Outcome {
  readonly plan: Plan
  readonly interrupted: boolean
  /** where the run was when the interrupt was sent */
  readonly landedIn: string
  readonly exit: Exit.Exit<unknown, unknown>
  readonly violations: ReadonlyArray<string>
  readonly log: ReadonlyArray<string>
}

/** One planned run: forked, driven to its interruption point, interrupted, then checked. */
const runPlan = (plan: Plan, sabotage = false): Effect.Effect<Outcome> =>
  Effect.gen(function*() {
    const log: Array<string> = []
    const violations: Array<string> = []
    let interrupted = false
    let phase = "start"
    const reached = yield* Deferred.make<"reached" | "done">()
    const record = (event: string) => {
      if (interrupted) violations.push(`${event} after the interrupt`)
      log.push(event)
    }
    const block: Effect.Effect<never> = Effect.zipRight(Deferred.succeed(reached, "reached"), Effect.never)
    const counts: Record<Point, number> = { call: 0, sleep: 0, onBackoff: 0, onSuccess: 0, onGiveup: 0 }
    const blocksHere = (point: Point) => plan.how === "point" && plan.point === point && ++counts[point] === plan.at

    const clock = new YieldingClock((_n, duration) => {
      record(`sleep ${Duration.toMillis(duration)}`)
      phase = "sleep"
      return blocksHere("sleep") ? block : undefined
    })

    const call = (id: number): Effect.Effect<unknown, Failure> =>
      Effect.suspend((): Effect.Effect<unknown, Failure> => {
        const n = log.filter((e) => e.startsWith("call")).length + 1
        record(`call ${n}`)
        phase = "call"
        if (id !== plan.seed) violations.push(`call saw args ${id}`)
        if (blocksHere("call")) return block
        const ok = n === plan.successAt
        const ms = (n * 7) % 23
        const result: Effect.Effect<unknown, Failure> = plan.mode === "exception"
          ? ok ? Effect.succeed(n) : Effect.fail<Failure>({ _tag: "Failure", n, ms })
          : Effect.succeed({ retry: !ok, n, ms })
        return Effect.zipRight(Effect.yieldNow(), result)
      })

    const handler = (point: Point) => (details: Backoff.Details) => {
      record(point)
      phase = point
      if (details.args[0] !== plan.seed) violations.push(`${point} saw args ${String(details.args[0])}`)
      if (blocksHere(point)) {
        switch (plan.style) {
          case "sync":
          case "effect":
            return block
          case "promise":
            Deferred.unsafeDone(reached, Exit.succeed("reached"))
            return new Promise<void>(() => {})
        }
      }
      switch (plan.style) {
        case "sync":
          return undefined
        case "effect":
          return Effect.yieldNow()
        case "promise":
          return Promise.resolve()
      }
    }

    const options = {
      wait: buildWait(plan.wait),
      ...buildJitter(plan.jitter),
      ...(plan.maxTries === undefined ? {} : { maxTries: plan.maxTries }),
      ...(plan.maxTime === undefined ? {} : { maxTime: plan.maxTime }),
      onBackoff: handler("onBackoff"),
      onSuccess: handler("onSuccess"),
      onGiveup: handler("onGiveup"),
      logger: plan.seed % 3 === 0
    }
    const wrapped: (id: number) => Effect.Effect<unknown, unknown> = plan.mode === "exception"
      ? Backoff.onException(call, options as any) as any
      : Backoff.onPredicate(call, {
        ...options,
        predicate: (v: { readonly retry: boolean }) => v.retry
      } as Backoff.PredicateOptions<any>) as any

    const retried = wrapped(plan.seed)
    const program = (sabotage
      // negative control: a retry that "cleans up" by reporting a give-up when interrupted
      ? Effect.onInterrupt(retried, () => Effect.sync(() => record("onGiveup")))
      : retried).pipe(
        Effect.withClock(clock),
        Effect.withRandom(Random.make(plan.seed)),
        Effect.ensuring(Deferred.succeed(reached, "done")),
        quiet
      )
    const fiber = yield* Effect.fork(program)
    let landedIn = "finished first"
    if (plan.how === "point") {
      const why = yield* Deferred.await(reached)
      if (why === "reached") {
        landedIn = phase
        interrupted = true
      }
    } else {
      for (let i = 0; i < plan.yields && fiber.unsafePoll() === null; i++) yield* Effect.yieldNow()
      if (fiber.unsafePoll() === null) {
        landedIn = phase
        interrupted = true
      }
    }
    const exit = interrupted ? yield* Fiber.interrupt(fiber) : yield* Fiber.await(fiber)
    // give anything the run might have left running a few turns to show itself
    for (let i = 0; i < 3; i++) yield* Effect.yieldNow()
    if (interrupted && !(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause))) {
      violations.push(`exit after interrupt: ${String(exit)}`)
    }
    return { plan, interrupted, landedIn, exit, violations, log }
  })

describe("interruption on virtual time", () => {
  it.effect(`${RUNS} runs interrupted at planned and racing points`, () =>
    Effect.gen(function*() {
      const plans = Array.from({ length: RUNS }, (_, i) => makePlan(1000 + i))
      // one setImmediate per scheduler turn: the default scheduler falls back to 1 ms timers
      // after 2,048 microtask turns, which would make this virtual-time suite wait for real
      const outcomes = yield* Effect.forEach(plans, (p) => runPlan(p), { concurrency: 100 }).pipe(
        Effect.withScheduler(Scheduler.makeBatched((runBatch) => setImmediate(runBatch)))
      )

      const bad = outcomes.filter((o) => o.violations.length > 0)
      expect(
        bad.slice(0, 5).map((o) => `${showPlan(o.plan)}\n  ${o.violations.join("; ")}\n  log: ${o.log.join(", ")}`)
      ).toEqual([])

      // every interrupted run ended interrupted; no event after the interrupt (checked above)
      const interrupted = outcomes.filter((o) => o.interrupted)
      const landed: Record<string, number> = {}
      for (const o of interrupted) landed[o.landedIn] = (landed[o.landedIn] ?? 0) + 1
      // the suite really reaches every kind of point, many times each
      for (const point of ["call", "sleep", "onBackoff", "onSuccess", "onGiveup"]) {
        expect(landed[point] ?? 0, `interrupts landing in ${point}`).toBeGreaterThan(100)
      }
      expect(interrupted.length).toBeGreaterThan(RUNS / 2)

      // runs that finished before their interrupt came obey the ordinary contract
      for (const o of outcomes.filter((o) => !o.interrupted)) {
        expect(Exit.isInterrupted(o.exit), showPlan(o.plan)).toBe(false)
        const ends = o.log.filter((e) => e === "onSuccess" || e === "onGiveup")
        expect(ends.length, showPlan(o.plan)).toBe(1)
      }
      // an interrupted run never reaches its end events once interrupted; before it, at most one
      for (const o of interrupted) {
        expect(o.log.filter((e) => e === "onSuccess" || e === "onGiveup").length).toBeLessThanOrEqual(1)
        if (o.plan.how === "point" && (o.landedIn === "call" || o.landedIn === "sleep" || o.landedIn === "onBackoff")) {
          expect(o.log.filter((e) => e === "onSuccess" || e === "onGiveup"), showPlan(o.plan)).toEqual([])
        }
      }
      // the checker is not vacuous: a retry that calls onGiveup on interruption is caught
      const sabotaged = yield* Effect.forEach(plans.slice(0, 200), (p) => runPlan(p, true), { concurrency: 100 })
      expect(sabotaged.filter((o) => o.violations.some((v) => v.startsWith("onGiveup after"))).length)
        // (an interrupt that lands before the fiber's first step never runs its onInterrupt)
        .toBe(sabotaged.filter((o) => o.interrupted && o.landedIn !== "start").length)
      console.log(
        `interruption: ${RUNS} runs, ${interrupted.length} interrupted (${JSON.stringify(landed)}), ${
          RUNS - interrupted.length
        } finished first`
      )
    }), 60_000)
})

describe("interrupt-versus-timer races (fast-check scheduler)", () => {
  it("the interrupt wins or loses the race cleanly, in every interleaving", async () => {
    let interleavings = 0
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom<"timer" | "call" | "both">("timer", "call", "both"),
        fc.integer({ min: 0, max: 5 }),
        async (s, maxTries, async, handlerAt) => {
          interleavings++
          const log: Array<string> = []
          let interrupted = false
          const record = (event: string) => log.push(interrupted ? `LATE ${event}` : event)
          // every sleep and (optionally) every call resolves when the scheduler says so
          const tick = (label: string) =>
            Effect.async<void>((resume) => {
              s.schedule(Promise.resolve(), label).then(() => resume(Effect.void))
            })
          const clock = new YieldingClock((n, d) => {
            record(`sleep ${n}`)
            return async === "call" ? undefined : Effect.zipRight(
              tick(`timer ${n}`),
              Effect.sync(() => {
                clock.now += Duration.toMillis(d)
              })
            )
          })
          let calls = 0
          const call = Effect.suspend(() => {
            record(`call ${++calls}`)
            return Effect.zipRight(async === "timer" ? Effect.void : tick(`call ${calls}`), Effect.fail("boom"))
          })
          const retried = call.pipe(
            Backoff.onException({
              wait: Wait.constant({ interval: "10 millis" }),
              jitter: null,
              maxTries,
              logger: false,
              onBackoff: (d) => {
                record("onBackoff")
                return d.tries === handlerAt ? tick("handler") : undefined
              },
              onGiveup: () => {
                record("onGiveup")
              },
              onSuccess: () => {
                record("onSuccess")
              }
            }),
            Effect.withClock(clock)
          )
          const fiber = Effect.runFork(retried)
          s.schedule(Promise.resolve(), "interrupt").then(() => {
            if (fiber.unsafePoll() !== null) return
            interrupted = true
            fiber.unsafeInterruptAsFork(FiberId.none)
          })
          const done = Effect.runPromise(Fiber.await(fiber))
          const exit = await s.waitFor(done)
          await s.waitAll()

          expect(log.filter((e) => e.startsWith("LATE")), `${s.report().map((r) => r.label).join(" > ")}\n${log}`)
            .toEqual([])
          expect(calls).toBeLessThanOrEqual(maxTries)
          if (interrupted) {
            expect(Exit.isInterrupted(exit)).toBe(true)
            expect(log).not.toContain("onGiveup")
          } else {
            expect(exit).toEqual(Exit.fail("boom"))
            expect(calls).toBe(maxTries)
            expect(log.filter((e) => e === "onGiveup")).toHaveLength(1)
          }
          expect(log).not.toContain("onSuccess")
        }
      ),
      { numRuns: 2_000, seed: 7 }
    )
    expect(interleavings).toBeGreaterThanOrEqual(2_000)
    console.log(`fc.scheduler: ${interleavings} interleavings of interrupt, timers, calls and a handler`)
  }, 60_000)
})

describe("real timers", () => {
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

  it.live("interrupted real-timer runs leave no timer behind", () =>
    Effect.gen(function*() {
      yield* Effect.promise(settle)
      const before = activeTimers()
      const r = prng(42)
      let calls = 0
      let callsAfter = 0
      const runs = Array.from({ length: 200 }, (_, i) => ({
        i,
        interval: r.int(1, 15),
        interruptAfter: r.int(0, 25)
      }))
      let armed = 0
      const one = (run: (typeof runs)[number]): Effect.Effect<void, never, Scope.Scope> =>
        Effect.gen(function*() {
          let stopped = false
          const fiber = yield* Effect.fork(
            Effect.suspend(() => {
              calls++
              if (stopped) callsAfter++
              return Effect.fail("boom")
            }).pipe(
              Backoff.onException({
                wait: Wait.constant({ interval: Duration.millis(run.interval) }),
                jitter: null,
                logger: false
              })
            )
          )
          yield* Effect.sleep(Duration.millis(run.interruptAfter))
          armed = Math.max(armed, activeTimers())
          const exit = yield* Fiber.interrupt(fiber)
          stopped = true
          expect(Exit.isInterrupted(exit)).toBe(true)
        })
      yield* Effect.scoped(Effect.forEach(runs, one, { concurrency: 50, discard: true }))
      // a wait longer than any interval: an attempt left scheduled would show up here
      yield* Effect.sleep("40 millis")
      yield* Effect.promise(settle)
      const after = activeTimers()
      expect(callsAfter).toBe(0)
      expect(calls).toBeGreaterThan(200)
      // the measurement can see timers: while runs slept, there were many
      expect(armed).toBeGreaterThan(before + 10)
      expect(after).toBeLessThanOrEqual(before)
      console.log(
        `real timers: 200 runs, ${calls} calls, up to ${armed} timers armed, ${before} before, ${after} after`
      )
    }), 30_000)

  it.live(
    "a run interrupted inside a slow handler leaves no timer and makes no further call",
    () =>
      Effect.gen(function*() {
        yield* Effect.promise(settle)
        const before = activeTimers()
        let calls = 0
        let giveups = 0
        const fibers = yield* Effect.forEach(Array.from({ length: 50 }), () =>
          Effect.fork(
            Effect.suspend(() => {
              calls++
              return Effect.fail("boom")
            }).pipe(
              Backoff.onException({
                wait: Wait.constant({ interval: "1 millis" }),
                jitter: null,
                maxTries: 3,
                logger: false,
                onBackoff: () => Effect.sleep("1 second"),
                onGiveup: () => {
                  giveups++
                }
              })
            )
          ))
        yield* Effect.sleep("5 millis")
        expect(activeTimers()).toBeGreaterThanOrEqual(before + 50)
        yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
        yield* Effect.sleep("10 millis")
        yield* Effect.promise(settle)
        expect(calls).toBe(50)
        expect(giveups).toBe(0)
        expect(activeTimers()).toBeLessThanOrEqual(before)
      }),
    10_000
  )
})
