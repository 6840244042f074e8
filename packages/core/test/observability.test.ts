/**
 * Metrics (`Backoff.withMetrics`) and tracing (`Backoff.withTracing`, the `span` option).
 *
 * Metrics live in Effect's global registry, so every test uses its own target names and
 * compares values read before and after the run. Time is the TestClock's.
 */
import { Backoff, Jitter, Timeline, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Metric, Option, Tracer } from "effect"
import type { MetricState } from "effect"
import { HttpError, runFor } from "./helpers.js"

// ---------------------------------------------------------------------------------------
// metric helpers

let uniqueCounter = 0
/** A target name no other test (or earlier run in this process) has used. */
const unique = (name: string): string => `${name}_${Date.now().toString(36)}_${++uniqueCounter}`

interface Snapshot {
  readonly retries: number
  readonly giveups: number
  readonly successesAfterRetry: number
  readonly waits: MetricState.MetricState.Histogram
  readonly attempts: MetricState.MetricState.Histogram
}

const read = (target: string): Effect.Effect<Snapshot> =>
  Effect.all({
    retries: Effect.map(Metric.value(Metric.tagged(Backoff.metrics.retries, "target", target)), (s) => s.count),
    giveups: Effect.map(Metric.value(Metric.tagged(Backoff.metrics.giveups, "target", target)), (s) => s.count),
    successesAfterRetry: Effect.map(
      Metric.value(Metric.tagged(Backoff.metrics.successesAfterRetry, "target", target)),
      (s) => s.count
    ),
    waits: Metric.value(Metric.tagged(Backoff.metrics.waits, "target", target)),
    attempts: Metric.value(Metric.tagged(Backoff.metrics.attempts, "target", target))
  })

/** Every metric pair in the registry that carries the label `target=<target>`. */
const pairsTagged = (target: string) =>
  Effect.map(
    Metric.snapshot,
    (pairs) => pairs.filter((pair) => pair.metricKey.tags.some((l) => l.key === "target" && l.value === target))
  )

/** An effect that fails `failures` times with HttpError("503"), then succeeds with "ok". */
const flaky = (failures: number) => {
  let calls = 0
  const effect = Effect.suspend(() =>
    ++calls <= failures ? Effect.fail(new HttpError({ message: "503" })) : Effect.succeed("ok")
  )
  return { effect, calls: () => calls }
}

const quiet = { logger: false, jitter: null } as const

// ---------------------------------------------------------------------------------------
// a tracer that records every span

interface RecordedEvent {
  readonly name: string
  readonly time: bigint
  readonly attributes: Record<string, unknown>
}

interface RecordedSpan extends Tracer.Span {
  readonly events: ReadonlyArray<RecordedEvent>
  readonly exit: Option.Option<Exit.Exit<unknown, unknown>>
}

const makeRecorder = () => {
  const spans: Array<RecordedSpan> = []
  let ids = 0
  const tracer = Tracer.make({
    span(name, parent, context, links, startTime, kind, options) {
      const attributes = new Map<string, unknown>(Object.entries(options?.attributes ?? {}))
      const events: Array<RecordedEvent> = []
      const spanLinks = [...links]
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      let exit: Option.Option<Exit.Exit<unknown, unknown>> = Option.none()
      const spanId = `span-${++ids}`
      const span: RecordedSpan = {
        _tag: "Span",
        name,
        spanId,
        traceId: Option.match(parent, { onNone: () => `trace-${spanId}`, onSome: (p) => p.traceId }),
        parent,
        context,
        get status() {
          return status
        },
        attributes,
        get links() {
          return spanLinks
        },
        sampled: true,
        kind,
        events,
        get exit() {
          return exit
        },
        end(endTime, e) {
          status = { _tag: "Ended", startTime, endTime, exit: e }
          exit = Option.some(e)
        },
        attribute(key, value) {
          attributes.set(key, value)
        },
        event(eventName, time, eventAttributes) {
          events.push({ name: eventName, time, attributes: eventAttributes ?? {} })
        },
        addLinks(more) {
          for (const link of more) spanLinks.push(link)
        }
      }
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  return { tracer, spans }
}

/** Runs `self` under a recording tracer and returns its Exit with the spans it produced. */
const traced = <A, E, R>(self: Effect.Effect<A, E, R>, advance: Duration.DurationInput = "1 hour") => {
  const { spans, tracer } = makeRecorder()
  return Effect.map(runFor(Effect.withTracer(self, tracer), advance), (exit) => ({ exit, spans }))
}

const seconds = (nanos: bigint): number => Number(nanos) / 1e9

// ---------------------------------------------------------------------------------------

describe("Backoff.withMetrics", () => {
  it.effect("counts retries and a success after retry, tagged by target", () =>
    Effect.gen(function*() {
      const target = unique("fetchOrder")
      const before = yield* read(target)
      const { calls, effect } = flaky(3)
      const exit = yield* runFor(
        effect.pipe(Backoff.onException(Backoff.withMetrics({ ...quiet, target, wait: Wait.constant() })))
      )
      expect(exit).toEqual(Exit.succeed("ok"))
      expect(calls()).toBe(4)
      const after = yield* read(target)
      expect(after.retries - before.retries).toBe(3)
      expect(after.successesAfterRetry - before.successesAfterRetry).toBe(1)
      expect(after.giveups - before.giveups).toBe(0)
      expect(after.waits.count - before.waits.count).toBe(3)
      expect(after.waits.sum - before.waits.sum).toBeCloseTo(3, 9)
      expect(after.attempts.count - before.attempts.count).toBe(1)
      expect(after.attempts.sum - before.attempts.sum).toBe(4)
    }))

  it.effect("counts a give-up and the attempts of the run", () =>
    Effect.gen(function*() {
      const target = unique("alwaysDown")
      const { effect } = flaky(Infinity)
      const exit = yield* runFor(
        effect.pipe(
          Backoff.onException(
            Backoff.withMetrics({ ...quiet, target, maxTries: 3, wait: Wait.expo({ factor: "100 millis" }) })
          )
        )
      )
      expect(exit).toEqual(Exit.fail(new HttpError({ message: "503" })))
      const after = yield* read(target)
      expect(after.retries).toBe(2)
      expect(after.giveups).toBe(1)
      expect(after.successesAfterRetry).toBe(0)
      expect(after.waits.count).toBe(2)
      expect(after.waits.sum).toBeCloseTo(0.1 + 0.2, 9)
      expect(after.waits.min).toBeCloseTo(0.1, 9)
      expect(after.waits.max).toBeCloseTo(0.2, 9)
      expect(after.attempts.count).toBe(1)
      expect(after.attempts.sum).toBe(3)
    }))

  it.effect("a first-try success counts one run of one attempt and nothing else", () =>
    Effect.gen(function*() {
      const target = unique("healthy")
      const exit = yield* runFor(Effect.succeed(1).pipe(Backoff.onException(Backoff.withMetrics({ ...quiet, target }))))
      expect(exit).toEqual(Exit.succeed(1))
      const after = yield* read(target)
      expect(after).toMatchObject({ retries: 0, giveups: 0, successesAfterRetry: 0 })
      expect(after.waits.count).toBe(0)
      expect(after.attempts.count).toBe(1)
      expect(after.attempts.sum).toBe(1)
    }))

  it.effect("the waits histogram holds the exact sleeps: jittered and clamped by maxTime", () =>
    Effect.gen(function*() {
      const target = unique("budgeted")
      const slept: Array<number> = []
      const { effect } = flaky(Infinity)
      const retried = effect.pipe(
        Backoff.onException(Backoff.withMetrics({
          target,
          logger: false,
          jitter: Jitter.full,
          wait: Wait.constant({ interval: "1 second" }),
          maxTime: "2500 millis",
          onBackoff: (d) => {
            slept.push(Duration.toSeconds(d.wait))
          }
        }))
      )
      const timed = yield* runFor(Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(retried)
        const end = yield* Clock.currentTimeMillis
        return { exit, start, end }
      }))
      if (!Exit.isSuccess(timed)) throw new Error("unreachable")
      const { end, exit, start } = timed.value
      expect(Exit.isFailure(exit)).toBe(true)
      const after = yield* read(target)
      expect(slept.length).toBeGreaterThan(0)
      expect(after.retries).toBe(slept.length)
      expect(after.waits.count).toBe(slept.length)
      expect(after.waits.sum).toBeCloseTo(slept.reduce((a, b) => a + b, 0), 9)
      // the run's virtual time is the sum of its sleeps (the calls take no time)
      expect(after.waits.sum).toBeCloseTo((end - start) / 1000, 3)
      expect(after.giveups).toBe(1)
    }))

  it.effect("the function form is tagged by the function's name, and targets are kept apart", () =>
    Effect.gen(function*() {
      const name = unique("loadUser")
      const other = unique("loadTeam")
      const options = Backoff.withMetrics({ ...quiet, wait: Wait.constant(), maxTries: 2 })
      const load = { [name]: (id: number) => Effect.fail(`no user ${id}`) }[name]!
      expect(load.name).toBe(name)
      const loadUser = Backoff.onException(load, options)
      const loadTeam = Backoff.onException((id: number) => Effect.fail(`no team ${id}`), options).bind(null)
      const loadTeamTagged = Backoff.onException(
        (id: number) => Effect.fail(`no team ${id}`),
        Backoff.withMetrics({ ...quiet, wait: Wait.constant(), maxTries: 4, target: other })
      )
      yield* runFor(loadUser(1))
      yield* runFor(loadUser(2))
      yield* runFor(loadTeamTagged(3))
      yield* runFor(loadTeam(4)) // anonymous: target "effect"
      const user = yield* read(name)
      const team = yield* read(other)
      expect(user).toMatchObject({ retries: 2, giveups: 2 })
      expect(user.attempts.sum).toBe(4)
      expect(team).toMatchObject({ retries: 3, giveups: 1 })
      expect(team.attempts.sum).toBe(4)
    }))

  it.effect("records onPredicate runs too", () =>
    Effect.gen(function*() {
      const target = unique("pollJob")
      let polls = 0
      const poll = Effect.sync(() => (++polls < 3 ? { done: false } : { done: true }))
      const exit = yield* runFor(
        poll.pipe(Backoff.onPredicate(Backoff.withMetrics({
          ...quiet,
          target,
          wait: Wait.fibo({ unit: "10 millis" }),
          predicate: (job: { readonly done: boolean }) => !job.done
        })))
      )
      expect(exit).toEqual(Exit.succeed({ done: true }))
      const after = yield* read(target)
      expect(after).toMatchObject({ retries: 2, giveups: 0, successesAfterRetry: 1 })
      expect(after.waits.sum).toBeCloseTo(0.02, 9)
      expect(after.attempts.sum).toBe(3)
    }))

  it.effect("onPredicate giving up with the last value counts as a give-up", () =>
    Effect.gen(function*() {
      const target = unique("emptyQueue")
      const exit = yield* runFor(
        Effect.succeed(0).pipe(Backoff.onPredicate(Backoff.withMetrics({ ...quiet, target, maxTries: 4 })))
      )
      expect(exit).toEqual(Exit.succeed(0))
      const after = yield* read(target)
      expect(after).toMatchObject({ retries: 3, giveups: 1, successesAfterRetry: 0 })
      expect(after.attempts.sum).toBe(4)
    }))

  it.effect("user handlers still run, in order, alongside the metric handlers", () =>
    Effect.gen(function*() {
      const target = unique("withHandlers")
      const seen: Array<string> = []
      const { effect } = flaky(1)
      const options = Backoff.withMetrics({
        ...quiet,
        target,
        wait: Wait.constant(),
        onBackoff: [(d) => void seen.push(`backoff ${d.tries}`), () => void seen.push("second")],
        onSuccess: (d) => void seen.push(`success ${d.tries}`)
      })
      expect(Array.isArray(options.onBackoff)).toBe(true)
      yield* runFor(effect.pipe(Backoff.onException(options)))
      expect(seen).toEqual(["backoff 1", "second", "success 2"])
      expect((yield* read(target)).retries).toBe(1)
    }))

  it.effect("reusing a withMetrics options object records each run once", () =>
    Effect.gen(function*() {
      const target = unique("reused")
      const options = Backoff.withMetrics({ ...quiet, target, wait: Wait.constant(), maxTries: 2 })
      const a = Backoff.onException(options)
      const b = Backoff.onException(options)
      yield* runFor(Effect.fail("x").pipe(a))
      yield* runFor(Effect.fail("y").pipe(b))
      const after = yield* read(target)
      expect(after).toMatchObject({ retries: 2, giveups: 2 })
    }))

  it.effect("Timeline runs with withMetrics record on the caller's registry", () =>
    Effect.gen(function*() {
      const target = unique("timeline")
      const result = yield* Timeline.run(
        Backoff.withMetrics({ ...quiet, target, wait: Wait.expo(), maxTries: 4 }),
        [Timeline.fail("a"), Timeline.fail("b"), Timeline.succeed("c")]
      )
      expect(result.result).toEqual(Exit.succeed("c"))
      const after = yield* read(target)
      expect(after).toMatchObject({ retries: 2, successesAfterRetry: 1, giveups: 0 })
      expect(after.waits.sum).toBeCloseTo(1 + 2, 9)
    }))

  it.effect("without withMetrics nothing is recorded", () =>
    Effect.gen(function*() {
      const target = unique("unmetered")
      const before = yield* read(target)
      const { effect } = flaky(2)
      yield* runFor(effect.pipe(Backoff.onException({ ...quiet, target, wait: Wait.constant() })))
      yield* runFor(Effect.fail("z").pipe(Backoff.onException({ ...quiet, target, maxTries: 3 })))
      yield* runFor(Effect.succeed(0).pipe(Backoff.onPredicate({ ...quiet, target, maxTries: 3 })))
      const after = yield* read(target)
      expect(after.retries).toBe(before.retries)
      expect(after.giveups).toBe(before.giveups)
      expect(after.successesAfterRetry).toBe(before.successesAfterRetry)
      expect(after.waits.count).toBe(before.waits.count)
      expect(after.attempts.count).toBe(before.attempts.count)
      // and the runs did not touch the registry: no pair carries this target except the
      // ones `read` itself created, all still empty
      const pairs = yield* pairsTagged(target)
      for (const pair of pairs) {
        const state = pair.metricState as { readonly count?: number }
        expect(state.count).toBe(0)
      }
    }))

  it("rejects options that are not an object", () => {
    expect(() => Backoff.withMetrics(42 as any)).toThrow(/withMetrics/)
    expect(() => Backoff.withTracing("x" as any)).toThrow(/withTracing/)
    expect(Backoff.withMetrics(undefined as any)).toHaveProperty("onBackoff")
  })
})

describe("Backoff.withTracing", () => {
  it.effect("one span per run, named after the target, with backoff and giveup events", () =>
    Effect.gen(function*() {
      const { effect } = flaky(Infinity)
      const { exit, spans } = yield* traced(
        effect.pipe(Backoff.onException(Backoff.withTracing({
          ...quiet,
          target: "getUrl",
          wait: Wait.constant({ interval: "1 second" }),
          maxTries: 3
        })))
      )
      expect(exit).toEqual(Exit.fail(new HttpError({ message: "503" })))
      expect(spans.map((s) => s.name)).toEqual(["getUrl"])
      const span = spans[0]!
      expect(span.status._tag).toBe("Ended")
      expect(Option.map(span.exit, Exit.isFailure)).toEqual(Option.some(true))
      expect(span.attributes.get("backoff.target")).toBe("getUrl")
      expect(span.attributes.get("backoff.tries")).toBe(3)
      expect(span.attributes.get("backoff.outcome")).toBe("giveup")
      expect(span.events.map((e) => e.name)).toEqual(["backoff", "backoff", "giveup"])
      expect(span.events.map((e) => e.attributes)).toEqual([
        { "backoff.tries": 1, "backoff.wait": 1, "backoff.outcome": "HttpError: 503" },
        { "backoff.tries": 2, "backoff.wait": 1, "backoff.outcome": "HttpError: 503" },
        { "backoff.tries": 3, "backoff.outcome": "HttpError: 503" }
      ])
      // events are stamped with the Effect Clock (here the TestClock): 0 s, 1 s, 2 s
      const start = span.events[0]!.time
      expect(span.events.map((e) => seconds(e.time - start))).toEqual([0, 1, 2])
    }))

  it.effect("a success after retry annotates tries and outcome", () =>
    Effect.gen(function*() {
      const { effect } = flaky(2)
      const { exit, spans } = yield* traced(
        effect.pipe(Backoff.onException(Backoff.withTracing({ ...quiet, target: "flaky", wait: Wait.expo() })))
      )
      expect(exit).toEqual(Exit.succeed("ok"))
      expect(spans).toHaveLength(1)
      const span = spans[0]!
      expect(span.name).toBe("flaky")
      expect(Option.map(span.exit, Exit.isSuccess)).toEqual(Option.some(true))
      expect(span.attributes.get("backoff.tries")).toBe(3)
      expect(span.attributes.get("backoff.outcome")).toBe("success")
      expect(span.events.map((e) => [e.name, e.attributes["backoff.tries"], e.attributes["backoff.wait"]])).toEqual([
        ["backoff", 1, 1],
        ["backoff", 2, 2]
      ])
    }))

  it.effect("the function form: one span per call, named after the function", () =>
    Effect.gen(function*() {
      const fetchUser = (
        id: number
      ) => (id > 0 ? Effect.succeed({ id }) : Effect.fail(new HttpError({ message: "404" })))
      const retried = Backoff.onException(
        fetchUser,
        Backoff.withTracing({ ...quiet, maxTries: 2, wait: Wait.constant() })
      )
      const { spans } = yield* traced(Effect.all([Effect.exit(retried(0)), retried(1), retried(2)]))
      expect(spans.map((s) => s.name)).toEqual(["fetchUser", "fetchUser", "fetchUser"])
      expect(spans.map((s) => s.attributes.get("backoff.outcome"))).toEqual(["giveup", "success", "success"])
      expect(spans.map((s) => s.events.length)).toEqual([2, 0, 0])
    }))

  it.effect("onPredicate events carry the retried value", () =>
    Effect.gen(function*() {
      let n = 0
      const { spans } = yield* traced(
        Effect.sync(() => ++n).pipe(Backoff.onPredicate(Backoff.withTracing({
          ...quiet,
          target: "count",
          wait: Wait.constant({ interval: "10 millis" }),
          predicate: (x: number) => x < 3
        })))
      )
      expect(spans).toHaveLength(1)
      expect(spans[0]!.events.map((e) => e.attributes)).toEqual([
        { "backoff.tries": 1, "backoff.wait": 0.01, "backoff.outcome": "1" },
        { "backoff.tries": 2, "backoff.wait": 0.01, "backoff.outcome": "2" }
      ])
      expect(spans[0]!.attributes.get("backoff.outcome")).toBe("success")
    }))

  it.effect("the run's span is a child of the caller's span", () =>
    Effect.gen(function*() {
      const { spans } = yield* traced(
        Effect.fail("boom").pipe(
          Backoff.onException(Backoff.withTracing({ ...quiet, target: "inner", maxTries: 2, wait: Wait.constant() })),
          Effect.withSpan("request")
        )
      )
      const request = spans.find((s) => s.name === "request")!
      const inner = spans.find((s) => s.name === "inner")!
      expect(Option.map(inner.parent, (p) => p.spanId)).toEqual(Option.some(request.spanId))
      expect(inner.traceId).toBe(request.traceId)
      expect(request.events).toEqual([])
    }))

  it.effect("stacked policies: each layer has its own span, the inner one nested in the outer", () =>
    Effect.gen(function*() {
      const { effect } = flaky(Infinity)
      const { spans } = yield* traced(
        effect.pipe(
          Backoff.onException(Backoff.withTracing({ ...quiet, target: "inner", maxTries: 2, wait: Wait.constant() })),
          Backoff.onException(Backoff.withTracing({ ...quiet, target: "outer", maxTries: 2, wait: Wait.constant() }))
        )
      )
      expect(spans.map((s) => s.name).sort()).toEqual(["inner", "inner", "outer"])
      const outer = spans.find((s) => s.name === "outer")!
      for (const inner of spans.filter((s) => s.name === "inner")) {
        expect(Option.map(inner.parent, (p) => p.spanId)).toEqual(Option.some(outer.spanId))
        expect(inner.events.map((e) => e.name)).toEqual(["backoff", "giveup"])
      }
      expect(outer.events.map((e) => e.name)).toEqual(["backoff", "giveup"])
    }))

  it.effect("a `span` name given to withTracing wins over the target", () =>
    Effect.gen(function*() {
      const { spans } = yield* traced(
        Effect.succeed(1).pipe(Backoff.onException(Backoff.withTracing({ ...quiet, target: "t", span: "custom" })))
      )
      expect(spans.map((s) => s.name)).toEqual(["custom"])
      expect(spans[0]!.attributes.get("backoff.target")).toBe("t")
    }))

  it.effect("withTracing and withMetrics compose", () =>
    Effect.gen(function*() {
      const target = unique("both")
      const { effect } = flaky(1)
      const { spans } = yield* traced(
        effect.pipe(
          Backoff.onException(Backoff.withTracing(Backoff.withMetrics({ ...quiet, target, wait: Wait.constant() })))
        )
      )
      expect(spans.map((s) => s.name)).toEqual([target])
      expect(spans[0]!.events.map((e) => e.name)).toEqual(["backoff"])
      expect(yield* read(target)).toMatchObject({ retries: 1, successesAfterRetry: 1 })
    }))

  it.effect("events and annotations are skipped quietly when there is no span", () =>
    Effect.gen(function*() {
      // span: false turns the run's span off; the handlers find no current span and do nothing
      const { effect } = flaky(1)
      const { exit, spans } = yield* traced(
        effect.pipe(Backoff.onException(Backoff.withTracing({ ...quiet, span: false, wait: Wait.constant() })))
      )
      expect(exit).toEqual(Exit.succeed("ok"))
      expect(spans).toEqual([])
    }))
})

describe("the span option alone", () => {
  it.effect("span: true wraps each run in a span named after the target, without events", () =>
    Effect.gen(function*() {
      const { effect } = flaky(1)
      const { exit, spans } = yield* traced(
        effect.pipe(Backoff.onException({ ...quiet, target: "plain", span: true, wait: Wait.constant() }))
      )
      expect(exit).toEqual(Exit.succeed("ok"))
      expect(spans.map((s) => s.name)).toEqual(["plain"])
      expect(spans[0]!.events).toEqual([])
      expect(spans[0]!.attributes.get("backoff.target")).toBe("plain")
      expect(spans[0]!.attributes.has("backoff.outcome")).toBe(false)
      expect(spans[0]!.status._tag).toBe("Ended")
    }))

  it.effect("span: a string names the span; the function form uses it for every call", () =>
    Effect.gen(function*() {
      const retried = Backoff.onPredicate((n: number) => Effect.succeed(n), {
        ...quiet,
        span: "poll",
        predicate: (n) => n < 0
      })
      const { spans } = yield* traced(Effect.all([retried(1), retried(2)]))
      expect(spans.map((s) => s.name)).toEqual(["poll", "poll"])
      expect(spans.map((s) => s.attributes.get("backoff.target"))).toEqual(["effect", "effect"])
    }))

  it.effect("span: true on an Effect without a target is named \"effect\"", () =>
    Effect.gen(function*() {
      const { spans } = yield* traced(Effect.succeed(1).pipe(Backoff.onException({ span: true })))
      expect(spans.map((s) => s.name)).toEqual(["effect"])
    }))

  it.effect("without span or withTracing no span is created", () =>
    Effect.gen(function*() {
      const { effect } = flaky(2)
      const { spans } = yield* traced(
        effect.pipe(Backoff.onException({ ...quiet, target: "untraced", wait: Wait.constant() }))
      )
      expect(spans).toEqual([])
    }))

  it("an empty span name or a non-boolean is rejected at construction", () => {
    expect(() => Backoff.onException({ span: "" })).toThrow(/span/)
    expect(() => Backoff.onException({ span: 1 as any })).toThrow(/span/)
  })

  it.effect("a span ends when the run is interrupted during a sleep", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeRecorder()
      const exit = yield* Effect.fail("x").pipe(
        Backoff.onException({ ...quiet, target: "cut", span: true, wait: Wait.constant({ interval: "1 hour" }) }),
        Effect.withTracer(tracer),
        Effect.timeout("1 second"),
        (self) => runFor(self, "2 seconds")
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(spans.map((s) => s.name)).toEqual(["cut"])
      expect(spans[0]!.status._tag).toBe("Ended")
      expect(Option.map(spans[0]!.exit, Exit.isInterrupted)).toEqual(Option.some(true))
    }))
})
