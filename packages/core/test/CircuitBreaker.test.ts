import { Backoff, CircuitBreaker, InvalidOptionError, RetryBudget, Timeline, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Duration, Effect, Either, Exit, Fiber, Metric, Stream, TestClock } from "effect"
import type { LogLine } from "./helpers.js"
import { captureLogs } from "./helpers.js"

const boom = Effect.fail("boom" as const)
const ok = Effect.succeed("ok" as const)

/** Runs `effect` through the breaker and says what happened: "ok", "failed", or "rejected". */
const call = <A, E>(breaker: CircuitBreaker.CircuitBreaker, effect: Effect.Effect<A, E>) =>
  Effect.map(
    Effect.either(breaker.execute(effect)),
    (e) => Either.isRight(e) ? "ok" : CircuitBreaker.isOpenError(e.left) ? "rejected" : "failed"
  )

const calls = <A, E>(breaker: CircuitBreaker.CircuitBreaker, effect: Effect.Effect<A, E>, n: number) =>
  Effect.forEach(Array.from({ length: n }), () => call(breaker, effect))

/** The OpenError of a rejected call (fails the test if the call was not rejected). */
const rejection = <A, E>(breaker: CircuitBreaker.CircuitBreaker, effect: Effect.Effect<A, E>) =>
  Effect.flatMap(
    Effect.flip(breaker.execute(effect)),
    (e) => CircuitBreaker.isOpenError(e) ? Effect.succeed(e) : Effect.dieMessage(`not rejected: ${String(e)}`)
  )

/** Lets forked fibers (a Stream's subscription) start. */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

/** An effect that counts its runs. */
const counted = <A, E>(effect: Effect.Effect<A, E>) => {
  const counter = { runs: 0 }
  return [counter, Effect.suspend(() => (counter.runs++, effect))] as const
}

describe("CircuitBreaker: consecutive (the default)", () => {
  it.effect("opens after 5 failures in a row, rejects without running, half-opens after 5 seconds", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make()
      const [counter, failing] = counted(boom)
      expect(yield* calls(breaker, failing, 5)).toEqual(["failed", "failed", "failed", "failed", "failed"])
      expect(yield* breaker.state).toBe("open")
      const rejected = yield* rejection(breaker, failing)
      expect(rejected).toBeInstanceOf(CircuitBreaker.OpenError)
      expect(rejected._tag).toBe("OpenError")
      expect(rejected.key).toBe("circuit-breaker")
      expect(Duration.toMillis(rejected.retryAfter)).toBe(5000)
      expect(counter.runs).toBe(5)
      yield* TestClock.adjust("3 seconds")
      const later = yield* rejection(breaker, failing)
      expect(Duration.toMillis(later.retryAfter)).toBe(2000)
      yield* TestClock.adjust("2 seconds")
      expect(yield* breaker.state).toBe("halfOpen")
      expect(yield* call(breaker, ok)).toBe("ok")
      expect(yield* breaker.state).toBe("closed")
    }))

  it.effect("a success in between starts the count over", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.consecutive(3) })
      yield* calls(breaker, boom, 2)
      yield* call(breaker, ok)
      yield* calls(breaker, boom, 2)
      expect(yield* breaker.state).toBe("closed")
      yield* call(breaker, boom)
      expect(yield* breaker.state).toBe("open")
    }))

  it.effect("a failed probe opens it again; interruption never counts", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.consecutive(1), halfOpenAfter: "1 second" })
      // an interrupted call in closed state counts as nothing
      const fiber = yield* Effect.fork(breaker.execute(Effect.never))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(fiber)
      expect(yield* breaker.state).toBe("closed")
      yield* call(breaker, boom)
      yield* TestClock.adjust("1 second")
      expect(yield* call(breaker, boom)).toBe("failed")
      expect(yield* breaker.state).toBe("open")
      expect(yield* call(breaker, ok)).toBe("rejected")
    }))

  it.effect("defects count as failures", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.consecutive(2) })
      yield* Effect.exit(breaker.execute(Effect.die("bug")))
      yield* Effect.exit(breaker.execute(Effect.die("bug")))
      expect(yield* breaker.state).toBe("open")
    }))
})

describe("CircuitBreaker: count and sampling", () => {
  it.effect("count: the failure ratio over the last size calls, once minimumCalls were made", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        policy: CircuitBreaker.count({ threshold: 0.5, size: 4, minimumCalls: 4 })
      })
      // F S S F: 2 of 4 = 0.5 once the fourth call is in
      yield* call(breaker, boom)
      yield* call(breaker, ok)
      yield* call(breaker, ok)
      expect(yield* breaker.state).toBe("closed")
      yield* call(breaker, boom)
      expect(yield* breaker.state).toBe("open")
    }))

  it.effect("count: old calls leave the window", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.count({ threshold: 0.75, size: 4 }) })
      // F F S S S F: the window [S S S F] is 0.25, [F F S S] was 0.5
      for (const e of [boom, boom, ok, ok, ok, boom]) yield* call(breaker, e)
      expect(yield* breaker.state).toBe("closed")
      yield* calls(breaker, boom, 2)
      expect(yield* breaker.state).toBe("open") // [S F F F] = 0.75
    }))

  it.effect("sampling: a ratio over a sliding time window, once minimumThroughput calls fell in it", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        policy: CircuitBreaker.sampling({ threshold: 0.5, duration: "10 seconds", minimumThroughput: 4 })
      })
      yield* calls(breaker, boom, 3)
      expect(yield* breaker.state).toBe("closed") // 3 calls < 4
      yield* TestClock.adjust("11 seconds")
      yield* call(breaker, boom)
      expect(yield* breaker.state).toBe("closed") // the first three left the window
      yield* calls(breaker, ok, 2)
      yield* call(breaker, boom)
      expect(yield* breaker.state).toBe("open") // 2 of 4
    }))

  it.effect("slowCall: slow successes open it through their own ratio", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        policy: CircuitBreaker.count({ threshold: 1, size: 2, slowCall: { duration: "1 second", threshold: 1 } })
      })
      const slow = Effect.delay(ok, "2 seconds")
      const first = yield* Effect.fork(call(breaker, slow))
      yield* TestClock.adjust("2 seconds")
      expect(yield* Fiber.join(first)).toBe("ok")
      const second = yield* Effect.fork(call(breaker, slow))
      yield* TestClock.adjust("2 seconds")
      expect(yield* Fiber.join(second)).toBe("ok")
      expect(yield* breaker.state).toBe("open")
    }))

  it.effect("slowCall: fast calls do not count", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        policy: CircuitBreaker.count({ threshold: 1, size: 2, slowCall: { duration: "1 second", threshold: 1 } })
      })
      yield* calls(breaker, ok, 4)
      expect(yield* breaker.state).toBe("closed")
    }))
})

describe("CircuitBreaker: isFailure", () => {
  const only503 = (e: unknown) => e === 503
  const answers: ReadonlyArray<readonly [string, NonNullable<CircuitBreaker.Options["isFailure"]>]> = [
    ["a boolean", only503],
    ["an Effect", (e: unknown) => Effect.succeed(only503(e))],
    ["a Promise", (e: unknown) => Promise.resolve(only503(e))]
  ]
  it.effect.each(answers)("answering with %s", ([, isFailure]) =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.consecutive(2), isFailure })
      yield* calls(breaker, Effect.fail(404), 3)
      expect(yield* breaker.state).toBe("closed")
      yield* calls(breaker, Effect.fail(503), 2)
      expect(yield* breaker.state).toBe("open")
    }))
})

describe("CircuitBreaker: halfOpenAfter as a wait Schedule", () => {
  it.effect("the k-th opening in a row waits the k-th delay; closing starts over", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        policy: CircuitBreaker.consecutive(1),
        halfOpenAfter: Wait.expo({ factor: "1 second", maxValue: "4 seconds" })
      })
      const retryAfter = Effect.map(rejection(breaker, ok), (e) => Duration.toMillis(e.retryAfter))
      yield* call(breaker, boom)
      expect(yield* retryAfter).toBe(1000)
      for (const wait of [1000, 2000, 4000]) {
        yield* TestClock.adjust(Duration.millis(wait))
        yield* call(breaker, boom) // the probe fails: opened again, the next delay
      }
      expect(yield* retryAfter).toBe(4000) // capped
      yield* TestClock.adjust("4 seconds")
      yield* call(breaker, ok) // closed
      yield* call(breaker, boom)
      expect(yield* retryAfter).toBe(1000)
    }))
})

describe("CircuitBreaker: probes", () => {
  it.effect("half-open admits at most `probes` at once; successThreshold successes close it", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        policy: CircuitBreaker.consecutive(1),
        halfOpenAfter: "1 second",
        probes: 2,
        successThreshold: 3
      })
      yield* call(breaker, boom)
      yield* TestClock.adjust("1 second")
      const gate = yield* Deferred.make<void>()
      const slow = Effect.as(Deferred.await(gate), "ok")
      const a = yield* Effect.fork(call(breaker, slow))
      const b = yield* Effect.fork(call(breaker, slow))
      yield* Effect.yieldNow()
      const third = yield* rejection(breaker, ok)
      expect(third.state).toBe("halfOpen")
      expect(Duration.toMillis(third.retryAfter)).toBe(0)
      yield* Deferred.succeed(gate, undefined)
      expect([yield* Fiber.join(a), yield* Fiber.join(b)]).toEqual(["ok", "ok"])
      expect(yield* breaker.state).toBe("halfOpen") // 2 of 3
      expect(yield* call(breaker, ok)).toBe("ok")
      expect(yield* breaker.state).toBe("closed")
    }))

  it.effect("probeTimeout cuts a probe: it counts as failed and fails with OpenError", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({
        policy: CircuitBreaker.consecutive(1),
        halfOpenAfter: "1 second",
        probeTimeout: "500 millis"
      })
      yield* call(breaker, boom)
      yield* TestClock.adjust("1 second")
      const probe = yield* Effect.fork(Effect.flip(breaker.execute(Effect.never)))
      yield* TestClock.adjust("500 millis")
      const error = yield* Fiber.join(probe)
      expect(CircuitBreaker.isOpenError(error)).toBe(true)
      expect(yield* breaker.state).toBe("open")
    }))

  it.effect("an interrupted probe frees its slot and changes nothing", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.consecutive(1), halfOpenAfter: "1 second" })
      yield* call(breaker, boom)
      yield* TestClock.adjust("1 second")
      const probe = yield* Effect.fork(breaker.execute(Effect.never))
      yield* Effect.yieldNow()
      expect(yield* call(breaker, ok)).toBe("rejected") // the one slot is taken
      yield* Fiber.interrupt(probe)
      expect(yield* breaker.state).toBe("halfOpen")
      expect(yield* call(breaker, ok)).toBe("ok")
      expect(yield* breaker.state).toBe("closed")
    }))
})

describe("CircuitBreaker: isolate, reset, observability", () => {
  it.effect("isolate rejects until reset; reset closes it with counts cleared", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.consecutive(2) })
      yield* call(breaker, boom)
      yield* breaker.isolate
      expect(yield* breaker.state).toBe("isolated")
      yield* TestClock.adjust("1 hour")
      const e = yield* rejection(breaker, ok)
      expect(Duration.isFinite(e.retryAfter)).toBe(false)
      yield* breaker.reset
      expect(yield* breaker.state).toBe("closed")
      yield* call(breaker, boom)
      expect(yield* breaker.state).toBe("closed") // the failure before isolate was cleared
    }))

  it.effect("changes, log lines and metrics for each transition", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const breaker = yield* CircuitBreaker.make({
        name: "payments",
        policy: CircuitBreaker.consecutive(1),
        halfOpenAfter: "1 second"
      })
      const seen = yield* Effect.fork(Stream.runCollect(Stream.take(breaker.changes, 3)))
      yield* settle
      yield* captureLogs(
        Effect.gen(function*() {
          yield* call(breaker, boom)
          yield* call(breaker, ok) // rejected
          yield* TestClock.adjust("1 second")
          yield* call(breaker, ok)
        }),
        lines
      )
      const changes = Chunk.toReadonlyArray(yield* Fiber.join(seen))
      expect(changes.map((c) => [c.from, c.to, c.reason])).toEqual([
        ["closed", "open", "tripped"],
        ["open", "halfOpen", "halfOpenAfter"],
        ["halfOpen", "closed", "probesSucceeded"]
      ])
      expect(changes[0]!.key).toBe("payments")
      expect(changes[1]!.at - changes[0]!.at).toBe(1000)
      expect(lines.map((l) => l.message)).toEqual([
        "Circuit breaker payments: closed -> open (1 failures in a row)",
        "Circuit breaker payments: open -> halfOpen (1s after opening)",
        "Circuit breaker payments: halfOpen -> closed (1 probe succeeded)"
      ])
      expect(lines[0]!.annotations["circuitBreaker.to"]).toBe("open")
      const rejections = yield* Metric.value(Metric.tagged(CircuitBreaker.metrics.rejections, "breaker", "payments"))
      expect(rejections.count).toBe(1)
      const state = yield* Metric.value(Metric.tagged(CircuitBreaker.metrics.state, "breaker", "payments"))
      expect(state.value).toBe(0)
      const opened = yield* Metric.value(
        CircuitBreaker.metrics.transitions.pipe(
          Metric.tagged("breaker", "payments"),
          Metric.tagged("from", "closed"),
          Metric.tagged("to", "open")
        )
      )
      expect(opened.count).toBe(1)
    }))

  it.effect("protect is dual and the same as execute", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.consecutive(1) })
      yield* Effect.either(CircuitBreaker.protect(boom, breaker))
      expect(yield* Effect.either(ok.pipe(CircuitBreaker.protect(breaker)))).toEqual(
        Either.left(expect.objectContaining({ _tag: "OpenError" }))
      )
    }))
})

describe("CircuitBreaker.keyed", () => {
  it.effect("one breaker per key; the least recently used goes past capacity", () =>
    Effect.gen(function*() {
      const breakers = yield* CircuitBreaker.keyed({ policy: CircuitBreaker.consecutive(1) }, { capacity: 2 })
      yield* Effect.either(breakers.execute("a", boom))
      expect(yield* Effect.either(breakers.execute("a", ok))).toEqual(
        Either.left(expect.objectContaining({ _tag: "OpenError", key: "a" }))
      )
      yield* Effect.either(breakers.execute("b", ok))
      yield* Effect.either(breakers.execute("a", ok)) // a is the most recent again
      yield* Effect.either(breakers.execute("c", ok)) // b goes
      expect(yield* breakers.keys).toEqual(["a", "c"])
      yield* Effect.either(breakers.execute("b", ok)) // a goes, with its open state
      expect(yield* breakers.keys).toEqual(["c", "b"])
      expect(yield* Effect.either(breakers.execute("a", ok))).toEqual(Either.right("ok"))
    }))
})

describe("CircuitBreaker validation", () => {
  const bad = (f: () => unknown, option: string) => {
    try {
      f()
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidOptionError)
      expect((e as InvalidOptionError).option).toBe(option)
      return
    }
    throw new Error(`no error for ${option}`)
  }
  it("every bad option is an InvalidOptionError naming it", () => {
    bad(() => CircuitBreaker.consecutive(0), "consecutive")
    bad(() => CircuitBreaker.consecutive(1.5), "consecutive")
    bad(() => CircuitBreaker.count({ threshold: 1.5, size: 10 }), "count.threshold")
    bad(() => CircuitBreaker.count({ threshold: 0, size: 10 }), "count.threshold")
    bad(() => CircuitBreaker.count({ threshold: 0.5, size: 0 }), "count.size")
    bad(() => CircuitBreaker.count({ threshold: 0.5, size: 5, minimumCalls: 6 }), "count.minimumCalls")
    bad(() => CircuitBreaker.sampling({ threshold: 0.5, duration: Number.NaN }), "sampling.duration")
    bad(() => CircuitBreaker.sampling({ threshold: 0.5, duration: "0 seconds" }), "sampling.duration")
    bad(
      () => CircuitBreaker.sampling({ threshold: 0.5, duration: "1 second", minimumThroughput: 0 }),
      "sampling.minimumThroughput"
    )
    bad(
      () => CircuitBreaker.count({ threshold: 0.5, size: 5, slowCall: { duration: -1, threshold: 0.5 } }),
      "count.slowCall.duration"
    )
    bad(() => CircuitBreaker.resolve({ halfOpenAfter: "soon" as never }), "halfOpenAfter")
    bad(() => CircuitBreaker.resolve({ halfOpenAfter: Number.NaN }), "halfOpenAfter")
    bad(() => CircuitBreaker.resolve({ halfOpenAfter: {} as never }), "halfOpenAfter")
    bad(() => CircuitBreaker.resolve({ probes: 0 }), "probes")
    bad(() => CircuitBreaker.resolve({ probeTimeout: "-1 seconds" }), "probeTimeout")
    bad(() => CircuitBreaker.resolve({ successThreshold: 0.5 }), "successThreshold")
    bad(() => CircuitBreaker.resolve({ policy: 5 as never }), "policy")
    bad(() => CircuitBreaker.resolve({ isFailure: true as never }), "isFailure")
    bad(() => CircuitBreaker.resolve({ probe: 1 } as never), "CircuitBreaker options.probe")
    bad(() => CircuitBreaker.make({ probes: -1 }), "probes")
    bad(() => Effect.runSync(CircuitBreaker.keyed({}, { capacity: 0 })), "keyed.capacity")
    bad(() => Backoff.onException({ breaker: "yes" as never }), "breaker")
  })
})

// ---------------------------------------------------------------------------
// The `breaker` option of the retry entry points
// ---------------------------------------------------------------------------

describe("the breaker option", () => {
  it.effect("onException: a rejection is a failed try whose next wait is at least retryAfter", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.consecutive(2), halfOpenAfter: "10 seconds" })
      const [counter, task] = counted(boom)
      const waits: Array<number> = []
      const reasons: Array<string> = []
      const retried = task.pipe(Backoff.onException({
        wait: Wait.constant({ interval: "1 second" }),
        jitter: null,
        maxTries: 4,
        breaker,
        logger: false,
        onBackoff: (d) => void waits.push(Duration.toMillis(d.wait)),
        onGiveup: (d) => void reasons.push(d.reason)
      }))
      const fiber = yield* Effect.fork(Effect.flip(retried))
      yield* TestClock.adjust("30 seconds")
      const error = yield* Fiber.join(fiber)
      expect(counter.runs).toBe(3)
      // opened at 1 s (the end of call 2): try 3 at 2 s waits the 9 s left, try 4 at 11 s is the probe
      expect(waits).toEqual([1000, 1000, 9000])
      expect(reasons).toEqual(["maxTries"])
      expect(error).toBe("boom")
    }))

  it.effect("a retryAfter that does not fit in maxTime gives up at once: reason circuitOpen, the OpenError", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.consecutive(1), halfOpenAfter: "1 minute" })
      const reasons: Array<string> = []
      const retried = boom.pipe(Backoff.onException({
        wait: Wait.constant({ interval: "1 second" }),
        jitter: null,
        maxTime: "30 seconds",
        breaker,
        logger: false,
        onGiveup: (d) => void reasons.push(d.reason)
      }))
      const fiber = yield* Effect.fork(Effect.flip(retried))
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(reasons).toEqual(["circuitOpen"])
      expect(CircuitBreaker.isOpenError(error)).toBe(true)
      // and with the breaker already open, the run makes no call at all
      const [counter, task] = counted(boom)
      const again = yield* Effect.flip(
        task.pipe(Backoff.onException({ maxTime: "30 seconds", breaker, logger: false }))
      )
      expect(counter.runs).toBe(0)
      expect(CircuitBreaker.isOpenError(again)).toBe(true)
    }))

  it.effect("the default log line names the reason", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.consecutive(1) })
      yield* breaker.isolate
      yield* captureLogs(Effect.either(ok.pipe(Backoff.onException({ breaker, target: "pay" }))), lines)
      expect(lines.map((l) => l.message)).toContain(
        "Giving up pay(...) after 1 try: circuit open (OpenError: circuit breaker circuit-breaker is isolated: until reset)"
      )
    }))

  it.effect("a rejected attempt neither deposits to nor withdraws from the retry budget", () =>
    Effect.gen(function*() {
      const tokens = (budget: RetryBudget.RetryBudget) =>
        Effect.gen(function*() {
          let n = 0
          while (n < 100 && (yield* budget.tryWithdraw)) n++
          return n
        })
      // deposits at 0.1 and no reserve: 9 deposits are 0.9 of a token
      const budgetOptions = { percentCanRetry: 0.1, minRetriesPerSecond: 0 } as const
      const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.consecutive(1), halfOpenAfter: "1 second" })

      // a run whose every attempt is rejected deposits nothing
      const a = yield* RetryBudget.make(budgetOptions)
      for (let i = 0; i < 9; i++) yield* a.deposit
      yield* breaker.isolate
      yield* Effect.either(ok.pipe(Backoff.onException({ breaker, budget: a, maxTries: 3, logger: false })))
      expect(yield* tokens(a)).toBe(0) // a deposit would have made it a whole token

      // 20 deposits (2 tokens) + the run's own: call 1 fails and opens it, retry 1 withdraws,
      // try 2 is rejected, the wait after it withdraws nothing, try 3 (the probe) fails
      yield* breaker.reset
      const b = yield* RetryBudget.make(budgetOptions)
      for (let i = 0; i < 20; i++) yield* b.deposit
      const [counter, task] = counted(boom)
      const fiber = yield* Effect.fork(Effect.either(task.pipe(Backoff.onException({
        wait: Wait.constant({ interval: "10 millis" }),
        jitter: null,
        maxTries: 3,
        breaker,
        budget: b,
        logger: false
      }))))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      expect(counter.runs).toBe(2)
      expect(yield* tokens(b)).toBe(1) // 2.1 − 1; a withdrawal for the rejection would leave 0.1
    }))

  it.effect("Backoff.retry, repeat and onPredicate go through it too", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.consecutive(1) })
      yield* breaker.isolate
      const reasons: Array<string> = []
      const onGiveup = (d: { readonly reason: string }) => void reasons.push(d.reason)
      const schedule = Wait.constant({ interval: "1 second" })
      const [counter, task] = counted(ok)
      const r1 = yield* Effect.flip(task.pipe(Backoff.retry({ schedule, breaker, logger: false, onGiveup })))
      const r2 = yield* Effect.flip(task.pipe(Backoff.repeat({ schedule, breaker, logger: false, onGiveup })))
      const r3 = yield* Effect.flip(
        task.pipe(Backoff.onPredicate({ predicate: () => true, breaker, logger: false, onGiveup }))
      )
      expect([r1._tag, r2._tag, r3._tag]).toEqual(["OpenError", "OpenError", "OpenError"])
      expect(reasons).toEqual(["circuitOpen", "circuitOpen", "circuitOpen"])
      expect(counter.runs).toBe(0)
    }))

  it.effect("breaker: true uses the CircuitBreaker in context", () =>
    Effect.gen(function*() {
      const retried = boom.pipe(Backoff.onException({
        wait: Wait.constant({ interval: "1 second" }),
        jitter: null,
        maxTries: 3,
        breaker: true,
        logger: false
      }))
      const program = Effect.gen(function*() {
        yield* Effect.either(retried)
        return yield* (yield* CircuitBreaker.CircuitBreaker).state
      })
      const fiber = yield* Effect.fork(
        program.pipe(Effect.provide(CircuitBreaker.layer({ policy: CircuitBreaker.consecutive(3) })))
      )
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(fiber)).toBe("open")
    }))

  it.effect("a keyed breaker on Backoff is keyed by target", () =>
    Effect.gen(function*() {
      const breakers = yield* CircuitBreaker.keyed({ policy: CircuitBreaker.consecutive(1) }, { capacity: 10 })
      yield* Effect.either(
        boom.pipe(Backoff.onException({ maxTries: 1, breaker: breakers, target: "a", logger: false }))
      )
      yield* Effect.either(ok.pipe(Backoff.onException({ maxTries: 1, breaker: breakers, target: "b", logger: false })))
      expect(yield* breakers.keys).toEqual(["a", "b"])
      expect(yield* (yield* breakers.get("a")).state).toBe("open")
      expect(yield* (yield* breakers.get("b")).state).toBe("closed")
    }))

  it.effect("Timeline shows the rejections", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make({ policy: CircuitBreaker.consecutive(2), halfOpenAfter: "5 seconds" })
      const result = yield* Timeline.run(
        { wait: Wait.constant({ interval: "1 second" }), jitter: null, maxTries: 5, breaker, logger: false },
        [Timeline.fail("boom")]
      )
      expect(result.events.map((e) => [e._tag, Duration.toMillis(e.at)])).toEqual([
        ["Call", 0],
        ["Backoff", 0],
        ["Call", 1000],
        ["Backoff", 1000],
        ["Rejected", 2000],
        ["Backoff", 2000],
        ["Call", 6000],
        ["Backoff", 6000],
        ["Rejected", 7000],
        ["Giveup", 7000]
      ])
      expect(Exit.isFailure(result.result)).toBe(true)
    }))
})
