/**
 * Differential test against the real python-backoff library.
 *
 * 1,200 seeded random policies (every wait generator, interval lists, max_tries, max_time,
 * giveup, on_predicate with a predicate, handlers with their details, runtime-read
 * options, deterministic jitters) run in python-backoff on a fake clock, in ONE child
 * process (run_python.py), and through this library: all of them on `Timeline`'s virtual
 * clock, the first `TESTCLOCK_CASES` also in the function form (with arguments) under
 * the `TestClock`. The traces are compared exactly: every call (tries, time), every
 * sleep, every handler call (which handler, tries, elapsed, wait, value / exception, the
 * detail keys), the outcome and the total virtual time.
 *
 * - Times: Python's seconds × 1000 against our milliseconds. Waits are chosen so that
 *   both sides compute in exact binary fractions (multiples of 1/8 s, integer bases),
 *   except `decay` (e^−kt); the tolerance is one nanosecond plus 1e-12 relative, far
 *   below any wait, and the largest deviation seen is asserted.
 * - Calls take no time: python-backoff 2.2 measures `elapsed` before the call and 2.4
 *   after it (2.4's changelog: "Measure elapsed time after function call"); with calls
 *   of zero duration both releases, and this library, agree.
 * - python-backoff 2.2 has no `decay`: run_python.py then uses 2.4's generator, copied.
 * - Documented deliberate differences are listed in `DELIBERATE`, each with the sentence
 *   of docs/differences-from-python.md that makes it deliberate, and adjusted explicitly.
 * - Mismatches caused by the retry loop that the loop is meant to fix are listed in
 *   `KNOWN_LOOP_MISMATCHES`: reported, not hidden; delete an entry once it stops
 *   reproducing (a test says when).
 *
 * Without python3 or its backoff module the suite is skipped, with the reason; under CI
 * (`CI=true`) that is a failure. BACKOFF_PYTHON picks the interpreter (only that one is
 * tried); otherwise /usr/bin/python3 (where Debian's python3-backoff lives, even when a
 * pyenv python3 comes first on PATH), then python3 and python.
 */
import { Backoff, InvalidOptionError, Timeline, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Clock,
  Config,
  ConfigProvider,
  Data,
  Duration,
  Effect,
  Exit,
  FastCheck as fc,
  Fiber,
  Option,
  TestClock,
  TestContext
} from "effect"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"

// ---------------------------------------------------------------------------
// python3 with the backoff module
// ---------------------------------------------------------------------------

const SCRIPT = fileURLToPath(new URL("./run_python.py", import.meta.url))
const DOC = fileURLToPath(new URL("../../../../docs/differences-from-python.md", import.meta.url))
const CI = process.env.CI === "true"

/** The first interpreter that imports backoff (Debian's module lives in /usr/bin/python3's dist-packages). */
const findPython = (): { readonly python?: string; readonly version?: string; readonly reason: string } => {
  const chosen = process.env.BACKOFF_PYTHON
  const candidates = chosen !== undefined && chosen !== "" ? [chosen] : ["/usr/bin/python3", "python3", "python"]
  const tried: Array<string> = []
  for (const python of candidates) {
    const probe = spawnSync(python, ["-c", "import backoff; print(backoff.__version__)"], {
      encoding: "utf8",
      timeout: 10_000
    })
    if (probe.status === 0) return { python, version: probe.stdout.trim(), reason: "" }
    tried.push(`${python}: ${probe.error ? probe.error.message : (probe.stderr.trim().split("\n").at(-1) ?? "failed")}`)
  }
  return {
    reason: `python3 with the backoff module not found (apt-get install python3-backoff; tried ${tried.join("; ")})`
  }
}

const found = findPython()
const available = found.python !== undefined

// ---------------------------------------------------------------------------
// cases (the JSON both sides read; times in seconds, as python-backoff)
// ---------------------------------------------------------------------------

type WaitSpec =
  | { readonly kind: "expo"; readonly base: number; readonly factor: number; readonly maxValue: number | null }
  | { readonly kind: "fibo"; readonly maxValue: number | null }
  | { readonly kind: "constant"; readonly interval: number | ReadonlyArray<number> }
  | {
    readonly kind: "decay"
    readonly initialValue: number
    readonly decayFactor: number
    readonly minValue: number | null
  }
  | { readonly kind: "runtime"; readonly scale: number }

type ErrorName = "ErrA" | "ErrB"
type Step =
  | { readonly raise: { readonly type: ErrorName; readonly code: number } }
  | { readonly return: number }
  | number
  | null
  | ReadonlyArray<number>
type PredicateSpec = "falsy" | { readonly kind: "lessThan"; readonly n: number } | { readonly kind: "even" }

interface Case {
  readonly id: number | string
  readonly mode: "exception" | "predicate"
  readonly wait: WaitSpec
  /** Python: the generator's arguments as callables; ours: `wait` as an Effect producing the strategy. */
  readonly waitRuntime: boolean
  readonly jitter: "none" | "half" | "plus"
  readonly maxTries: number | null
  readonly maxTriesRuntime: boolean
  readonly maxTime: number | null
  readonly maxTimeRuntime: boolean
  /** Ours: runtime options as an `Effect` or as a `Config` read from a ConfigProvider. */
  readonly runtimeVia: "effect" | "config"
  readonly exception: "any" | ErrorName | ReadonlyArray<ErrorName>
  /** Ours: the `exception` filter as `_tag` strings or as the error classes. */
  readonly filterForm: "tag" | "class"
  readonly giveup: null | { readonly kind: "codeAtLeast" | "codeEquals"; readonly n: number }
  readonly raiseOnGiveup: boolean
  readonly predicate: PredicateSpec
  /** Ours: `predicate` and `giveup` return an Effect of the boolean (awaited; the trace must not change). */
  readonly effectPredicates: boolean
  readonly handlers: { readonly success: number; readonly backoff: number; readonly giveup: number }
  readonly script: ReadonlyArray<Step>
  readonly args: ReadonlyArray<number | string>
  readonly callLimit: number
}

const CASES = 1_200
const SEED = 20_261_201
const TESTCLOCK_CASES = 150
const CALL_LIMIT = 2_000

const waitArb: fc.Arbitrary<WaitSpec> = fc.oneof(
  fc.record({
    kind: fc.constant("expo" as const),
    base: fc.constantFrom(0.5, 1, 1.5, 2, 3),
    factor: fc.constantFrom(0, 0.125, 0.25, 0.5, 1, 2),
    maxValue: fc.constantFrom(null, 0.5, 1, 3, 8, 60)
  }),
  fc.record({ kind: fc.constant("fibo" as const), maxValue: fc.constantFrom(null, 0.5, 1, 2, 5, 13) }),
  fc.record({
    kind: fc.constant("constant" as const),
    interval: fc.oneof(
      fc.constantFrom(0, 0.125, 0.5, 1, 2),
      fc.array(fc.constantFrom(0, 0.125, 0.25, 1, 2), { minLength: 1, maxLength: 5 })
    )
  }),
  fc.record({
    kind: fc.constant("decay" as const),
    initialValue: fc.constantFrom(0.5, 1, 2, 8),
    decayFactor: fc.constantFrom(0, 0.1, 0.5, 1, 2),
    minValue: fc.constantFrom(null, 0.25, 1, 3)
  }),
  fc.record({ kind: fc.constant("runtime" as const), scale: fc.constantFrom(0, 0.125, 0.5, 1) })
)

const errorStep = fc.record({
  raise: fc.record({ type: fc.constantFrom<ErrorName>("ErrA", "ErrB"), code: fc.integer({ min: 0, max: 9 }) })
})
const returnStep = fc.record({ return: fc.integer({ min: 1, max: 99 }) })

const exceptionScript = fc.array(
  fc.oneof({ weight: 6, arbitrary: errorStep }, { weight: 1, arbitrary: returnStep }),
  { minLength: 1, maxLength: 15 }
)
const falsyScript = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom<Step>(0, null) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 9 }) },
    { weight: 1, arbitrary: errorStep }
  ),
  { minLength: 1, maxLength: 15 }
)
const intScript = fc.array(
  fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 9 }) }, { weight: 1, arbitrary: errorStep }),
  { minLength: 1, maxLength: 15 }
)

const predicateArb: fc.Arbitrary<PredicateSpec> = fc.oneof(
  fc.constant("falsy" as const),
  fc.record({ kind: fc.constant("lessThan" as const), n: fc.integer({ min: 1, max: 9 }) }),
  fc.constant({ kind: "even" as const })
)

const handlerCount = fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.constant(1) }, {
  weight: 1,
  arbitrary: fc.constant(2)
})

const caseArb = fc.record({
  mode: fc.constantFrom<Case["mode"]>("exception", "predicate"),
  wait: waitArb,
  waitRuntime: fc.boolean(),
  jitter: fc.constantFrom<Case["jitter"]>("none", "none", "half", "plus"),
  maxTries: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, {
    weight: 3,
    arbitrary: fc.integer({ min: 1, max: 12 })
  }),
  maxTriesRuntime: fc.boolean(),
  maxTime: fc.constantFrom(null, null, null, 0, 0.5, 1, 2.5, 5, 10, 30),
  maxTimeRuntime: fc.boolean(),
  runtimeVia: fc.constantFrom<Case["runtimeVia"]>("effect", "config"),
  exception: fc.constantFrom<Case["exception"]>("any", "ErrA", ["ErrA", "ErrB"]),
  filterForm: fc.constantFrom<Case["filterForm"]>("tag", "class"),
  giveup: fc.oneof(
    { weight: 3, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constantFrom("codeAtLeast" as const, "codeEquals" as const),
        n: fc.integer({ min: 0, max: 12 })
      })
    }
  ),
  raiseOnGiveup: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  predicate: predicateArb,
  effectPredicates: fc.boolean(),
  handlers: fc.record({ success: handlerCount, backoff: handlerCount, giveup: handlerCount }),
  exceptionScript,
  falsyScript,
  intScript,
  args: fc.array(fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constantFrom("x", "y")), { maxLength: 3 })
})

/** A value that ends the run: a success, or a value the predicate accepts. */
const terminal = (c: Pick<Case, "mode" | "predicate">): Step =>
  c.mode === "exception"
    ? { return: 42 }
    : c.predicate === "falsy"
    ? 7
    : c.predicate.kind === "lessThan"
    ? c.predicate.n
    : 1

const generate = (): ReadonlyArray<Case> =>
  fc.sample(caseArb, { seed: SEED, numRuns: CASES }).map((r, i) => {
    const script: ReadonlyArray<Step> = r.mode === "exception"
      ? r.exceptionScript
      : r.predicate === "falsy"
      ? r.falsyScript
      : r.intScript
    const base = { mode: r.mode, predicate: r.predicate }
    // every run must end: without maxTries or a finite interval list, the script ends with a terminal value
    const finite = r.maxTries !== null || (r.wait.kind === "constant" && Array.isArray(r.wait.interval))
    return {
      id: i,
      mode: r.mode,
      wait: r.wait,
      waitRuntime: r.waitRuntime,
      jitter: r.jitter,
      maxTries: r.maxTries,
      maxTriesRuntime: r.maxTriesRuntime,
      maxTime: r.maxTime,
      maxTimeRuntime: r.maxTimeRuntime,
      runtimeVia: r.runtimeVia,
      exception: r.exception,
      filterForm: r.filterForm,
      giveup: r.giveup,
      raiseOnGiveup: r.raiseOnGiveup,
      predicate: r.predicate,
      effectPredicates: r.effectPredicates,
      handlers: r.handlers,
      script: finite ? script : [...script, terminal(base)],
      args: r.args,
      callLimit: CALL_LIMIT
    }
  })

// ---------------------------------------------------------------------------
// traces
// ---------------------------------------------------------------------------

type Outcome =
  | { readonly return: unknown }
  | { readonly raise: { readonly type: string; readonly code: number } }
  | { readonly none: true }
  | { readonly cutoff: true }
  | { readonly defect: string }

interface HandlerCall {
  readonly event: "success" | "backoff" | "giveup"
  readonly handler: number
  readonly keys: ReadonlyArray<string>
  readonly target: string
  readonly args: ReadonlyArray<unknown>
  readonly tries: number
  /** Milliseconds (Python's seconds are converted). */
  readonly elapsed: number
  readonly wait?: number
  readonly value?: unknown
  readonly exception?: { readonly type: string; readonly code: number }
}

interface Trace {
  readonly calls: ReadonlyArray<{ readonly tries: number; readonly at: number; readonly args?: ReadonlyArray<unknown> }>
  readonly events: ReadonlyArray<HandlerCall>
  /** Every sleep, in ms (Timeline records them whether or not a handler is set). */
  readonly sleeps?: ReadonlyArray<number> | undefined
  readonly outcome: Outcome
  readonly total?: number | undefined
  /** Compared only up to a wait Python takes beyond our cap (see DELIBERATE). */
  readonly cut?: true
}

/** What run_python.py writes for one case. */
interface PythonResult {
  readonly id: number | string
  readonly error?: string
  readonly calls: ReadonlyArray<{ readonly tries: number; readonly at: number; readonly args: ReadonlyArray<unknown> }>
  readonly events: ReadonlyArray<HandlerCall & { readonly at: number }>
  readonly sleeps: ReadonlyArray<number>
  readonly rawWaits: ReadonlyArray<number>
  readonly exhausted: boolean
  readonly outcome: Outcome
  readonly total: number
}

interface PythonRun {
  readonly version: string
  readonly python: string
  readonly decay: string
  readonly results: ReadonlyArray<PythonResult>
}

/** Python's trace in our units: seconds to milliseconds, `kwargs` dropped (see DELIBERATE). */
const fromPython = (r: PythonResult): Trace => ({
  calls: r.calls.map((c) => ({ tries: c.tries, at: c.at * 1000, args: c.args })),
  events: r.events.map(({ at: _at, ...e }) => ({
    ...e,
    elapsed: e.elapsed * 1000,
    ...(e.wait === undefined ? {} : { wait: e.wait * 1000 })
  })),
  sleeps: r.sleeps.map(ms),
  outcome: r.outcome,
  total: r.total * 1000
})

// ---------------------------------------------------------------------------
// our side
// ---------------------------------------------------------------------------

class ErrA extends Data.TaggedError("ErrA")<{ readonly code: number }> {}
class ErrB extends Data.TaggedError("ErrB")<{ readonly code: number }> {}
const ERRORS = { ErrA, ErrB } as const

const ms = (seconds: number): number => seconds * 1000
const MAX_WAIT = 2 ** 31 - 1

const strategyOf = (c: Case): Wait.Wait<any> => {
  const w = c.wait
  switch (w.kind) {
    case "expo":
      return Wait.expo({
        base: w.base,
        factor: ms(w.factor),
        ...(w.maxValue === null ? {} : { maxValue: ms(w.maxValue) })
      })
    case "fibo":
      return Wait.fibo(w.maxValue === null ? {} : { maxValue: ms(w.maxValue) })
    case "constant":
      return Wait.constant({ interval: typeof w.interval === "number" ? ms(w.interval) : w.interval.map(ms) })
    case "decay":
      return Wait.decay({
        initialValue: ms(w.initialValue),
        decayFactor: w.decayFactor,
        ...(w.minValue === null ? {} : { minValue: ms(w.minValue) })
      })
    case "runtime":
      return c.mode === "exception"
        ? Wait.runtime((e: { readonly code: number }) => Duration.millis(ms(e.code * w.scale)))
        : Wait.runtime((v: number | null) => Duration.millis(ms((v ?? 0) * w.scale)))
  }
}

const JITTERS = {
  none: null,
  half: (wait: Duration.Duration) => Effect.succeed(Duration.millis(Duration.toMillis(wait) * 0.5)),
  plus: (wait: Duration.Duration) => Effect.succeed(Duration.millis(Duration.toMillis(wait) + 250))
} as const

const exceptionDetails = (e: unknown) => {
  const error = e as { readonly _tag: string; readonly code: number }
  return { type: error._tag, code: error.code }
}

/** The options object for `c`, recording every handler call into `events`. */
const optionsOf = (c: Case, events: Array<HandlerCall>): Record<string, unknown> => {
  const record = (event: HandlerCall["event"], handler: number) => (d: Record<string, unknown>) => {
    events.push({
      event,
      handler,
      keys: Object.keys(d).sort(),
      target: d.target as string,
      args: d.args as ReadonlyArray<unknown>,
      tries: d.tries as number,
      elapsed: Duration.toMillis(d.elapsed as Duration.Duration),
      ...(d.wait === undefined ? {} : { wait: Duration.toMillis(d.wait as Duration.Duration) }),
      ...("value" in d ? { value: d.value } : {}),
      ...(d.exception === undefined ? {} : { exception: exceptionDetails(d.exception) })
    })
  }
  const handlers = (event: HandlerCall["event"], count: number) =>
    count === 0 ? undefined : count === 1 ? record(event, 0) : Array.from({ length: count }, (_, i) => record(event, i))
  const answer = (b: boolean) => (c.effectPredicates ? Effect.succeed(b) : b)
  const strategy = strategyOf(c)
  const options: Record<string, unknown> = {
    wait: c.waitRuntime ? Effect.sync(() => strategy) : strategy,
    jitter: JITTERS[c.jitter],
    logger: false,
    target: "call"
  }
  if (c.maxTries !== null) {
    options.maxTries = !c.maxTriesRuntime
      ? c.maxTries
      : c.runtimeVia === "effect"
      ? Effect.succeed(c.maxTries)
      : Config.integer("DIFF_MAX_TRIES")
  }
  if (c.maxTime !== null) {
    options.maxTime = !c.maxTimeRuntime
      ? ms(c.maxTime)
      : c.runtimeVia === "effect"
      ? Effect.succeed(`${ms(c.maxTime)} millis`)
      : Config.duration("DIFF_MAX_TIME")
  }
  const success = handlers("success", c.handlers.success)
  const backoff = handlers("backoff", c.handlers.backoff)
  const giveup = handlers("giveup", c.handlers.giveup)
  if (success !== undefined) options.onSuccess = success
  if (backoff !== undefined) options.onBackoff = backoff
  if (giveup !== undefined) options.onGiveup = giveup
  if (c.mode === "exception") {
    if (c.exception !== "any") {
      const names = typeof c.exception === "string" ? [c.exception] : c.exception
      const filters = names.map((name) => (c.filterForm === "tag" ? name : ERRORS[name]))
      options.exception = typeof c.exception === "string" ? filters[0] : filters
    }
    if (c.giveup !== null) {
      const { kind, n } = c.giveup
      options.giveup = (e: { readonly code: number }) => answer(kind === "codeAtLeast" ? e.code >= n : e.code === n)
    }
    if (!c.raiseOnGiveup) options.raiseOnGiveup = false
  } else if (c.predicate !== "falsy") {
    const p = c.predicate
    options.predicate = (v: number) => answer(p.kind === "lessThan" ? v < p.n : v % 2 === 0)
  }
  return options
}

/** The ConfigProvider the `Config` forms read. */
const configFor = (c: Case) =>
  ConfigProvider.fromMap(
    new Map([
      ["DIFF_MAX_TRIES", String(c.maxTries ?? 1)],
      ["DIFF_MAX_TIME", `${ms(c.maxTime ?? 0)} millis`]
    ])
  )

const outcomeOf = (c: Case, exit: Exit.Exit<unknown, unknown>, cutOff: boolean): Outcome => {
  if (cutOff) return { cutoff: true }
  if (Exit.isSuccess(exit)) {
    const value = exit.value
    if (c.mode === "exception" && !c.raiseOnGiveup) {
      const option = value as Option.Option<unknown>
      return Option.isNone(option) ? { none: true } : { return: option.value }
    }
    return { return: value }
  }
  const failure = Cause.failureOption(exit.cause)
  if (
    Option.isSome(failure) && typeof failure.value === "object" && failure.value !== null && "_tag" in failure.value
  ) {
    return { raise: exceptionDetails(failure.value) }
  }
  return { defect: Cause.pretty(exit.cause) }
}

const stepEffect = (step: Step): Effect.Effect<unknown, unknown> =>
  typeof step === "object" && step !== null && "raise" in step
    ? Effect.fail(new ERRORS[step.raise.type]({ code: step.raise.code }))
    : typeof step === "object" && step !== null && "return" in step
    ? Effect.succeed(step.return)
    : Effect.succeed(step)

const timelineRun = Timeline.run as unknown as (
  options: Record<string, unknown>,
  outcomes: ReadonlyArray<unknown>,
  settings?: Timeline.Settings
) => Effect.Effect<Timeline.Result<unknown, unknown>>
const timelineRunPredicate = Timeline.runPredicate as unknown as typeof timelineRun

/** Our trace on Timeline's virtual clock (the Effect form: `args` is []). */
const runOnTimeline = (c: Case): Trace => {
  const events: Array<HandlerCall> = []
  const outcomes = c.script.map((step) =>
    typeof step === "object" && step !== null && "raise" in step
      ? Timeline.fail(new ERRORS[step.raise.type]({ code: step.raise.code }))
      : Timeline.succeed(typeof step === "object" && step !== null && "return" in step ? step.return : step)
  )
  const run = c.mode === "exception" ? timelineRun : timelineRunPredicate
  const result = Effect.runSync(
    run(optionsOf(c, events), outcomes, { maxCalls: c.callLimit }).pipe(Effect.withConfigProvider(configFor(c)))
  )
  return {
    calls: result.events.filter((e) => e._tag === "Call").map((e) => ({ tries: e.tries, at: Duration.toMillis(e.at) })),
    events,
    sleeps: result.events.filter((e) => e._tag === "Backoff").map((e) => Duration.toMillis(e.wait!)),
    outcome: outcomeOf(c, result.result, result.cutOff),
    total: Duration.toMillis(result.total)
  }
}

const onExceptionFn = Backoff.onException as unknown as (
  f: (...args: Array<unknown>) => Effect.Effect<unknown, unknown>,
  options: Record<string, unknown>
) => (...args: Array<unknown>) => Effect.Effect<unknown, unknown>
const onPredicateFn = Backoff.onPredicate as unknown as typeof onExceptionFn

/** Our trace in the function form (Python's decorator, with the case's arguments) under the TestClock. */
const runOnTestClock = (c: Case, pythonTotal: number) =>
  Effect.gen(function*() {
    const events: Array<HandlerCall> = []
    const calls: Array<{ tries: number; at: number; args: ReadonlyArray<unknown> }> = []
    let cutOff = false
    const call = function call(...args: Array<unknown>): Effect.Effect<unknown, unknown> {
      return Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (calls.length >= c.callLimit) {
          cutOff = true
          return Effect.interrupt
        }
        calls.push({ tries: calls.length + 1, at: now, args })
        return stepEffect(c.script[Math.min(calls.length - 1, c.script.length - 1)]!)
      })
    }
    const wrap = c.mode === "exception" ? onExceptionFn : onPredicateFn
    const retried = wrap(call, optionsOf(c, events))(...c.args).pipe(Effect.withConfigProvider(configFor(c)))
    const start = yield* Clock.currentTimeMillis
    const fiber = yield* Effect.fork(Effect.exit(retried))
    // far past Python's total, so a run that sleeps longer than Python's still ends
    yield* TestClock.adjust(Duration.millis(pythonTotal + 1e9))
    const exit = yield* Fiber.poll(fiber)
    if (Option.isNone(exit)) {
      yield* Fiber.interrupt(fiber)
      return { calls, events, outcome: { defect: "still running after Python's total + 1e9 ms" } } satisfies Trace
    }
    const inner = Exit.isSuccess(exit.value) ? exit.value.value : exit.value
    return {
      calls: calls.map((x) => ({ ...x, at: x.at - start })),
      events,
      outcome: outcomeOf(c, inner as Exit.Exit<unknown, unknown>, cutOff)
    } satisfies Trace
  })

// ---------------------------------------------------------------------------
// comparison
// ---------------------------------------------------------------------------

/**
 * Effect Durations have nanosecond resolution: `Duration.millis(x)` rounds a fractional
 * x to the nearest nanosecond, so each sleep (and each `details.wait`) is within half a
 * nanosecond of Python's float. A time after n sleeps is within n/2 ns; the tolerance is
 * one nanosecond per sleep of the case (plus 1e-12 relative, for the seconds-to-ms
 * product). Exact binary waits (all but decay) show no deviation at all.
 */
const NANO_MS = 1e-6
let tolerance = NANO_MS
let caseDeviation = 0
let largestDeviation = 0
let largestDeviationInSleeps = 0

const sameTime = (a: number, b: number): boolean => {
  const d = Math.abs(a - b)
  if (d > caseDeviation) caseDeviation = d
  return d <= tolerance + 1e-12 * Math.abs(b)
}

/** Sets the tolerance for one case: a nanosecond per sleep Python took. */
const toleranceFor = (py: PythonResult): void => {
  tolerance = NANO_MS * (py.sleeps.length + 1)
  caseDeviation = 0
}

/** Keeps the largest deviation among the cases that matched. */
const matched = (py: PythonResult): void => {
  largestDeviation = Math.max(largestDeviation, caseDeviation)
  largestDeviationInSleeps = Math.max(
    largestDeviationInSleeps,
    caseDeviation / (NANO_MS * Math.max(1, py.sleeps.length))
  )
}

const json = (u: unknown) => JSON.stringify(u)

/** The first difference between Python's trace and ours, or undefined. */
const diff = (expected: Trace, actual: Trace, options: { readonly args: boolean; readonly total: boolean }) => {
  const n = Math.max(expected.calls.length, actual.calls.length)
  for (let i = 0; i < n; i++) {
    const e = expected.calls[i]
    const a = actual.calls[i]
    if (e === undefined || a === undefined) {
      return `calls: Python made ${expected.calls.length}, we made ${actual.calls.length}`
    }
    if (e.tries !== a.tries || !sameTime(e.at, a.at)) return `call ${i + 1}: Python ${json(e)}, ours ${json(a)}`
    if (options.args && json(e.args) !== json(a.args)) {
      return `call ${i + 1} args: Python ${json(e.args)}, ours ${json(a.args)}`
    }
  }
  const m = Math.max(expected.events.length, actual.events.length)
  for (let i = 0; i < m; i++) {
    const e = expected.events[i]
    const a = actual.events[i]
    if (e === undefined || a === undefined) {
      return `handler calls: Python ${expected.events.length}, ours ${actual.events.length}; first extra: ${
        json(e ?? a)
      }`
    }
    const same = e.event === a.event && e.handler === a.handler && json(e.keys) === json(a.keys) &&
      e.target === a.target && e.tries === a.tries && sameTime(e.elapsed, a.elapsed) &&
      (e.wait === undefined ? a.wait === undefined : a.wait !== undefined && sameTime(e.wait, a.wait)) &&
      json(e.value) === json(a.value) && json(e.exception) === json(a.exception) &&
      (!options.args || json(e.args) === json(a.args))
    if (!same) return `handler call ${i + 1}: Python ${json(e)}, ours ${json(a)}`
  }
  if (expected.sleeps !== undefined && actual.sleeps !== undefined) {
    if (expected.sleeps.length !== actual.sleeps.length) {
      return `sleeps: Python ${json(expected.sleeps)}, ours ${json(actual.sleeps)}`
    }
    const k = expected.sleeps.findIndex((w, i) => !sameTime(w, actual.sleeps![i]!))
    if (k >= 0) return `sleep ${k + 1}: Python ${expected.sleeps[k]} ms, ours ${actual.sleeps[k]} ms`
  }
  if (json(expected.outcome) !== json(actual.outcome)) {
    return `outcome: Python ${json(expected.outcome)}, ours ${json(actual.outcome)}`
  }
  if (
    options.total && expected.total !== undefined && actual.total !== undefined &&
    !sameTime(expected.total, actual.total)
  ) {
    return `total: Python ${expected.total} ms, ours ${actual.total} ms`
  }
  return undefined
}

// ---------------------------------------------------------------------------
// deliberate differences (docs/differences-from-python.md) and known loop mismatches
// ---------------------------------------------------------------------------

interface Deliberate {
  readonly name: string
  /** The sentence of docs/differences-from-python.md that makes the difference deliberate. */
  readonly doc: string
  /** Python's trace adjusted to what this library does on purpose; undefined when it does not apply. */
  readonly adjust: (c: Case, py: PythonResult, expected: Trace) => Trace | undefined
}

const isRaise = (o: Outcome): o is Extract<Outcome, { raise: unknown }> => "raise" in o

/** The index of the first backoff whose Python wait (raw or slept) exceeds our cap, if any. */
const firstOverCap = (py: PythonResult): number =>
  py.rawWaits.findIndex((w, i) => ms(w) > MAX_WAIT || ms(py.sleeps[i] ?? 0) > MAX_WAIT)

const DELIBERATE: ReadonlyArray<Deliberate> = [
  {
    name: "units: seconds in Python, milliseconds here (converted, never adjusted)",
    doc: "a plain number is **milliseconds**",
    adjust: () => undefined
  },
  {
    name: "no kwargs in details (dropped from Python's keys)",
    doc: "no `kwargs`",
    adjust: () => undefined
  },
  {
    name: "the target is a name (Python's function __name__ is compared)",
    doc: "`target` is a name, `wait` and `elapsed` are `Duration`s",
    adjust: () => undefined
  },
  {
    name: "times are Durations, rounded to the nanosecond (the per-sleep tolerance, see sameTime)",
    doc: "`Duration`s, rounded to the nanosecond",
    adjust: () => undefined
  },
  {
    name: "the Effect form (Timeline) has args [] (the function form compares Python's args)",
    doc: "`args` is `[]` for an Effect",
    adjust: () => undefined
  },
  {
    name: "Effect predicates are awaited (effectPredicates cases must give Python's trace unchanged)",
    doc: "a predicate (and `giveup`) may return an `Effect`, which is awaited",
    adjust: () => undefined
  },
  {
    name: "give-up details carry a reason (Python's have none): the key is added to Python's",
    doc: "give-up details carry a `reason`",
    adjust: (_c, _py, expected) => {
      let changed = false
      const events = expected.events.map((e) => {
        if (e.event !== "giveup" || e.keys.includes("reason")) return e
        changed = true
        return { ...e, keys: [...e.keys, "reason"].sort() }
      })
      return changed ? { ...expected, events } : undefined
    }
  },
  {
    name: "a strategy running out with raiseOnGiveup: false gives None (Python re-raises)",
    doc: "with `raiseOnGiveup: false` it gives `None` too",
    adjust: (c, py, expected) =>
      c.mode === "exception" && !c.raiseOnGiveup && py.exhausted && isRaise(py.outcome)
        ? { ...expected, outcome: { none: true } }
        : undefined
  },
  {
    name: "waits are capped at 2^31 - 1 ms: compared up to the first wait Python takes beyond it",
    doc: "every wait is capped at 2^31 − 1 ms (about 24.8 days)",
    adjust: (_c, py, expected) => {
      const k = firstOverCap(py)
      if (k < 0) return undefined
      // calls 1..k+1 happen before the first over-cap sleep; handler calls up to that backoff's
      return {
        calls: expected.calls.slice(0, k + 1),
        events: expected.events.filter((e) => e.tries <= k || (e.tries === k + 1 && e.event !== "backoff")),
        sleeps: expected.sleeps?.slice(0, k),
        outcome: { cutoff: true },
        total: undefined,
        cut: true
      }
    }
  }
]

/** Differences of python-backoff's own releases, where the installed one (2.2) is not 2.4. */
const PYTHON_RELEASES: ReadonlyArray<Deliberate> = [
  {
    name:
      "python-backoff 2.2 calls on_giveup without `value` when on_predicate's generator runs out; 2.4 passes value=ret",
    doc: "",
    adjust: (c, py, expected) => {
      if (c.mode !== "predicate" || !py.exhausted) return undefined
      const last = py.calls.length > 0 ? c.script[Math.min(py.calls.length - 1, c.script.length - 1)] : undefined
      let changed = false
      const events = expected.events.map((e) => {
        if (e.event !== "giveup" || "value" in e) return e
        changed = true
        return { ...e, keys: [...e.keys, "value"].sort(), value: last }
      })
      return changed ? { ...expected, events } : undefined
    }
  }
]

interface KnownMismatch {
  readonly name: string
  readonly why: string
  readonly covers: (c: Case, py: PythonResult) => boolean
}

/**
 * Mismatches caused by the retry loop (internal/loop.ts), due to be fixed there (issue 11).
 * Cases an entry covers are compared and counted, not failed. Delete an entry once the
 * loop matches Python for its cases: "known loop mismatches still reproduce" says when.
 */
const KNOWN_LOOP_MISMATCHES: ReadonlyArray<KnownMismatch> = [
  // (empty: "jitter on a zero wait" matched Python once the loop applied jitter to every
  // wait; it covered 26 of 1,200 generated cases)
]

// ---------------------------------------------------------------------------
// special cases: one per deliberate difference that rejects what Python accepts
// ---------------------------------------------------------------------------

const special = (id: string, c: Partial<Case>): Case => ({
  id,
  mode: "exception",
  wait: { kind: "constant", interval: 0.125 },
  waitRuntime: false,
  jitter: "none",
  maxTries: null,
  maxTriesRuntime: false,
  maxTime: null,
  maxTimeRuntime: false,
  runtimeVia: "effect",
  exception: "any",
  filterForm: "tag",
  giveup: null,
  raiseOnGiveup: true,
  predicate: "falsy",
  effectPredicates: false,
  handlers: { success: 1, backoff: 1, giveup: 1 },
  script: [{ return: 1 }],
  args: [],
  callLimit: CALL_LIMIT,
  ...c
})

const fail5 = [...Array.from({ length: 5 }, () => ({ raise: { type: "ErrA" as const, code: 1 } })), { return: 9 }]

const SPECIAL: ReadonlyArray<{
  readonly case: Case
  readonly doc: string
  readonly check: (py: PythonResult) => void
}> = [
  {
    case: special("maxTries 0", { maxTries: 0, script: fail5 }),
    doc: "`maxTries: 0` is an `InvalidOptionError`",
    check: (py) => {
      // Python: tries == 0 never holds, so it retries until the script succeeds
      expect(py.calls).toHaveLength(6)
      expect(() => Backoff.onException({ maxTries: 0 })).toThrow(InvalidOptionError)
    }
  },
  {
    case: special("negative decayFactor", {
      mode: "predicate",
      wait: { kind: "decay", initialValue: 1, decayFactor: -1, minValue: null },
      maxTries: 4,
      script: [0]
    }),
    doc: "a negative `decayFactor` is an `InvalidOptionError`",
    check: (py) => {
      // Python: e^(+t) grows, 1 s then 2.7 s then 7.4 s: a "decay" that never decays
      expect(py.sleeps.map((s) => Math.round(s * 100) / 100)).toEqual([1, 2.72, 7.39])
      expect(() => Wait.decay({ decayFactor: -1 })).toThrow(InvalidOptionError)
    }
  },
  {
    case: special("[] is falsy in Python", { mode: "predicate", script: [[], [1]] }),
    doc: "JavaScript falsiness (`[]` is truthy) for the default predicate",
    check: (py) => {
      expect(py.calls).toHaveLength(2)
      const ours = runOnTimeline({ ...special("[]", { mode: "predicate", script: [[], [1]] }) })
      expect(ours.calls).toHaveLength(1)
      expect(ours.outcome).toEqual({ return: [] })
    }
  },
  {
    case: special("an interval list running out with raise_on_giveup=False", {
      wait: { kind: "constant", interval: [0.125, 0.25] },
      raiseOnGiveup: false,
      script: [{ raise: { type: "ErrA", code: 1 } }]
    }),
    doc: "with `raiseOnGiveup: false` it gives `None` too",
    check: (py) => {
      expect(py.exhausted).toBe(true)
      expect(py.outcome).toEqual({ raise: { type: "ErrA", code: 1 } })
      const c = special("x", {
        wait: { kind: "constant", interval: [0.125, 0.25] },
        raiseOnGiveup: false,
        script: [{ raise: { type: "ErrA", code: 1 } }]
      })
      expect(runOnTimeline(c).outcome).toEqual({ none: true })
    }
  }
]

// ---------------------------------------------------------------------------
// the suite
// ---------------------------------------------------------------------------

const runPython = (python: string, cases: ReadonlyArray<Case>) =>
  Effect.async<PythonRun, Error>((resume) => {
    const child = spawn(python, [SCRIPT], { stdio: ["pipe", "pipe", "pipe"] })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (b: Buffer) => out.push(b))
    child.stderr.on("data", (b: Buffer) => err.push(b))
    child.on("error", (e) => resume(Effect.fail(e)))
    child.on("close", (code) => {
      if (code !== 0) {
        resume(Effect.fail(new Error(`run_python.py exited with ${code}: ${Buffer.concat(err).toString()}`)))
        return
      }
      try {
        resume(Effect.succeed(JSON.parse(Buffer.concat(out).toString()) as PythonRun))
      } catch (e) {
        resume(Effect.fail(e as Error))
      }
    })
    child.stdin.end(JSON.stringify({ cases }))
    return Effect.sync(() => {
      child.kill()
    })
  }).pipe(Effect.timeout("60 seconds"))

const title = available
  ? `differential: python-backoff ${found.version} against this library`
  : `differential against python-backoff (${CI ? "required under CI" : "skipped"}: ${found.reason})`

// the default reporter lists a skipped file without its tests' names: say why here too
if (!available && !CI) console.warn(`[differential] python-backoff tests skipped: ${found.reason}`)

describe.skipIf(!available && !CI)(title, () => {
  // runs wherever the suite runs: under CI (where a missing Python fails) and wherever
  // Python is there, so a CI run reports no skipped test
  it("python3 with the backoff module is installed (required under CI)", () => {
    expect(available, `CI=true, and ${found.reason}`).toBe(true)
  })

  if (!available) return

  const cases = generate()
  // expo base 3 without maxValue: 3^20 s is far beyond the 24.8-day cap
  const overCap = special("beyond the wait cap", {
    wait: { kind: "expo", base: 3, factor: 1, maxValue: null },
    maxTries: 25,
    script: [{ raise: { type: "ErrA", code: 1 } }]
  })
  const all = [...cases, ...SPECIAL.map((s) => s.case), overCap]
  let py: PythonRun | undefined
  const byId = new Map<number | string, PythonResult>()

  /** Python's trace for `c`, adjusted by every deliberate difference and release difference that applies. */
  const expectedFor = (c: Case): { readonly trace: Trace; readonly applied: ReadonlyArray<string> } => {
    const result = byId.get(c.id)!
    let trace = fromPython(result)
    const applied: Array<string> = []
    for (const d of [...PYTHON_RELEASES, ...DELIBERATE]) {
      const adjusted = d.adjust(c, result, trace)
      if (adjusted !== undefined) {
        trace = adjusted
        applied.push(d.name)
      }
    }
    return { trace, applied }
  }

  /** Our trace cut like an over-cap adjustment cuts Python's (the rest is not comparable). */
  const cutLike = (expected: Trace, ours: Trace): Trace =>
    expected.cut === true
      ? {
        calls: ours.calls.slice(0, expected.calls.length),
        sleeps: ours.sleeps?.slice(0, expected.calls.length - 1),
        events: ours.events.filter((e) =>
          e.tries < expected.calls.length || (e.tries === expected.calls.length && e.event !== "backoff")
        ),
        outcome: { cutoff: true }
      }
      : ours

  it.live(`python-backoff runs all ${all.length} policies in one child process`, () =>
    Effect.gen(function*() {
      py = yield* runPython(found.python!, all)
      expect(py.results).toHaveLength(all.length)
      const errors = py.results.filter((r) => r.error !== undefined)
      expect(errors).toEqual([])
      for (const r of py.results) byId.set(r.id, r)
      console.log(
        `python-backoff ${py.version} on Python ${py.python} (${found.python}); decay: ${py.decay}; ${all.length} policies`
      )
    }), 90_000)

  const report = {
    compared: 0,
    adjusted: new Map<string, number>(),
    known: new Map<string, { mismatched: number; matched: number }>(),
    knownCases: new Map<string, Array<string>>()
  }

  it("every policy gives Python's exact trace on Timeline's virtual clock", () => {
    expect(py).toBeDefined()
    const failures: Array<string> = []
    for (const c of cases) {
      const { applied, trace } = expectedFor(c)
      for (const a of applied) report.adjusted.set(a, (report.adjusted.get(a) ?? 0) + 1)
      const ours = cutLike(trace, runOnTimeline(c))
      toleranceFor(byId.get(c.id)!)
      const difference = diff(trace, { ...ours, calls: ours.calls }, { args: false, total: true })
      report.compared++
      if (difference === undefined) matched(byId.get(c.id)!)
      const known = KNOWN_LOOP_MISMATCHES.find((k) => k.covers(c, byId.get(c.id)!))
      if (known !== undefined) {
        const k = report.known.get(known.name) ?? { mismatched: 0, matched: 0 }
        if (difference === undefined) k.matched++
        else {
          k.mismatched++
          const list = report.knownCases.get(known.name) ?? []
          list.push(`case ${c.id}: ${difference}`)
          report.knownCases.set(known.name, list)
        }
        report.known.set(known.name, k)
        continue
      }
      if (difference !== undefined) failures.push(`case ${c.id} ${json(c)}\n    ${difference}`)
    }
    console.log(
      `compared ${report.compared} policies; adjusted: ${json(Object.fromEntries(report.adjusted))}; ` +
        `known loop mismatches: ${json(Object.fromEntries(report.known))}; largest time deviation ` +
        `${largestDeviation} ms (${largestDeviationInSleeps.toFixed(3)} ns per sleep)`
    )
    expect(failures.slice(0, 5).join("\n")).toBe("")
    expect(failures).toHaveLength(0)
    // half a nanosecond per sleep at most: Durations round to the nearest nanosecond
    expect(largestDeviationInSleeps).toBeLessThanOrEqual(0.5 + 1e-6)
  })

  it.effect(
    `the first ${TESTCLOCK_CASES} policies give the same trace in the function form under the TestClock`,
    () =>
      Effect.gen(function*() {
        expect(py).toBeDefined()
        const failures: Array<string> = []
        for (const c of cases.slice(0, TESTCLOCK_CASES)) {
          const { trace } = expectedFor(c)
          // a fresh TestClock per case, starting at 0 (times far from 0 would lose float precision)
          const ours = cutLike(
            trace,
            yield* runOnTestClock(c, ms(byId.get(c.id)!.total)).pipe(Effect.provide(TestContext.TestContext))
          )
          toleranceFor(byId.get(c.id)!)
          const difference = diff(trace, ours, { args: true, total: false })
          const known = KNOWN_LOOP_MISMATCHES.find((k) => k.covers(c, byId.get(c.id)!))
          if (difference !== undefined && known === undefined) {
            failures.push(`case ${c.id} ${json(c)}\n    ${difference}`)
          }
        }
        expect(failures.slice(0, 5).join("\n")).toBe("")
      }),
    120_000
  )

  it("known loop mismatches still reproduce (delete an entry from KNOWN_LOOP_MISMATCHES once it does not)", () => {
    expect(report.compared).toBe(cases.length)
    for (const k of KNOWN_LOOP_MISMATCHES) {
      const seen = report.known.get(k.name) ?? { mismatched: 0, matched: 0 }
      console.log(
        `KNOWN_LOOP_MISMATCHES "${k.name}": ${seen.mismatched} cases mismatch, ${seen.matched} match. ${k.why}\n  ` +
          (report.knownCases.get(k.name) ?? []).join("\n  ")
      )
      expect(seen.mismatched + seen.matched, `"${k.name}" covers no generated case`).toBeGreaterThan(0)
      expect(seen.mismatched, `"${k.name}" no longer reproduces: the loop matches Python, delete the entry`)
        .toBeGreaterThan(0)
    }
  })

  it("every deliberate difference is stated in docs/differences-from-python.md", () => {
    const doc = fs.readFileSync(DOC, "utf8")
    for (const d of [...DELIBERATE, ...SPECIAL]) expect(doc, d.doc).toContain(d.doc)
  })

  it.each(SPECIAL.map((s) => [s.case.id, s] as const))("deliberate: %s (Python does it, we do not)", (_, s) => {
    expect(py).toBeDefined()
    s.check(byId.get(s.case.id)!)
  })

  it("deliberate: waits beyond 2^31 - 1 ms are capped; the trace matches Python's up to there", () => {
    const { applied, trace } = expectedFor(overCap)
    expect(applied).toContain(DELIBERATE.find((d) => d.doc.includes("capped"))!.name)
    const ours = runOnTimeline(overCap)
    toleranceFor(byId.get(overCap.id)!)
    expect(diff(trace, cutLike(trace, ours), { args: false, total: false })).toBeUndefined()
    // 3^13 s (18.5 days) is below the cap and 3^14 s (55 days) above: compared up to call 15
    expect(trace.calls).toHaveLength(15)
    expect(ms(byId.get(overCap.id)!.sleeps[14]!)).toBeGreaterThan(MAX_WAIT)
    expect(Math.max(...ours.events.filter((e) => e.event === "backoff").map((e) => e.wait!))).toBe(MAX_WAIT)
  })

  it("the policies cover every generator, option and outcome", () => {
    const count = (p: (c: Case) => boolean) => cases.filter(p).length
    for (const kind of ["expo", "fibo", "constant", "decay", "runtime"]) {
      expect(count((c) => c.wait.kind === kind), kind).toBeGreaterThan(150)
    }
    expect(count((c) => c.wait.kind === "constant" && Array.isArray(c.wait.interval))).toBeGreaterThan(50)
    expect(count((c) => c.mode === "predicate" && c.predicate !== "falsy")).toBeGreaterThan(200)
    expect(count((c) => c.giveup !== null && c.mode === "exception")).toBeGreaterThan(100)
    expect(count((c) => c.maxTime !== null)).toBeGreaterThan(300)
    expect(count((c) => c.maxTriesRuntime && c.maxTries !== null && c.runtimeVia === "config")).toBeGreaterThan(100)
    const results = cases.map((c) => byId.get(c.id)!)
    const outcomes = (key: string) => results.filter((r) => key in r.outcome).length
    expect(outcomes("return")).toBeGreaterThan(200)
    expect(outcomes("raise")).toBeGreaterThan(200)
    expect(outcomes("none")).toBeGreaterThan(20)
    const events = (name: string) => results.filter((r) => r.events.some((e) => e.event === name)).length
    expect(events("backoff")).toBeGreaterThan(400)
    expect(events("giveup")).toBeGreaterThan(300)
    expect(events("success")).toBeGreaterThan(200)
    expect(results.filter((r) => r.exhausted).length).toBeGreaterThan(15)
    // a budget cut a sleep short (the sleep below the jittered wait) in some runs
    const jittered = (c: Case, raw: number) => c.jitter === "half" ? raw * 0.5 : c.jitter === "plus" ? raw + 0.25 : raw
    const clamped = results.filter((r, i) =>
      cases[i]!.maxTime !== null && r.sleeps.some((s, j) => s < jittered(cases[i]!, r.rawWaits[j] ?? 0) - 1e-12)
    )
    expect(clamped.length).toBeGreaterThan(20)
  })
})
