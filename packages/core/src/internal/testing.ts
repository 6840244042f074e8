import {
  Cause,
  Chunk,
  Data,
  Duration,
  Effect,
  Effectable,
  Exit,
  Random,
  Schedule,
  ScheduleDecision,
  Stream
} from "effect"
import * as fc from "effect/FastCheck"
import * as backoff from "./backoff.js"
import { describeValue } from "./describe.js"
import * as jitters from "./jitter.js"
import * as plans from "./plan.js"
import type { GiveupReason, JitterFunction } from "./plan.js"
import * as timeline from "./timeline.js"
import type { Outcome } from "./timeline.js"
import { durationMillis, invalid, MAX_WAIT_MILLIS, optionsObject } from "./validate.js"
import * as waits from "./wait.js"

// ---------------------------------------------------------------------------
// Formatting: durations and values as a reader writes them
// ---------------------------------------------------------------------------

const round = (x: number, digits: number) => Number(x.toFixed(digits))

/**
 * @internal Milliseconds for a trace: `0ms`, `250.5ms`, `1.5s`, `2m 3s`; seconds to the
 * millisecond, or to the nanosecond when `precise` (what a law compares with a limit).
 */
export const formatMillis = (ms: number, precise = false): string => {
  if (ms === Infinity) return "∞"
  if (!Number.isFinite(ms)) return String(ms)
  if (ms < 1000) return `${round(ms, precise ? 6 : 3)}ms`
  if (ms < 60_000) return `${round(ms / 1000, precise ? 9 : 3)}s`
  if (ms < 3_600_000) {
    const minutes = Math.floor(ms / 60_000)
    return `${minutes}m ${round((ms - minutes * 60_000) / 1000, 3)}s`
  }
  const hours = Math.floor(ms / 3_600_000)
  return `${hours}h ${Math.floor((ms - hours * 3_600_000) / 60_000)}m`
}

const millisInput = (ms: number) => `"${round(ms, 6)} millis"`

// ---------------------------------------------------------------------------
// Descriptions carried by generated values
// ---------------------------------------------------------------------------

/** @internal What a generated wait or policy says about itself. */
interface Declared {
  readonly text: string
  readonly maxValue: number | undefined
  readonly maxTries: number
  readonly maxTime: number
  readonly jittered: boolean
}

const DeclaredId: unique symbol = Symbol.for("@effect-backoff/core/Testing/Declared")

const declare = <A extends object>(value: A, declared: Declared): A =>
  Object.defineProperties(value, {
    [DeclaredId]: { value: declared },
    [fc.toStringMethod]: { value: () => declared.text },
    toString: { value: () => declared.text }
  })

const declaredOf = (value: unknown): Declared | undefined =>
  typeof value === "object" && value !== null ? (value as { [DeclaredId]?: Declared })[DeclaredId] : undefined

/**
 * @internal The limits a policy keeps: what a generated policy was built with, else what
 * its `Backoff.maxTries` / `maxTime` / `Jitter.apply` layers carry (the lowest of each).
 */
const limitsOf = (policy: Schedule.Schedule<unknown, any, any>): Declared => {
  const declared = declaredOf(policy)
  if (declared !== undefined) return declared
  let maxTries = Infinity
  let maxTime = Infinity
  let jittered = false
  let foreign = false
  let schedule: unknown = policy
  for (let depth = 0; depth < 100; depth++) {
    const plan = plans.planOf(schedule)
    if (plan === undefined) {
      foreign = true
      break
    }
    maxTries = Math.min(maxTries, plan.maxTries)
    maxTime = Math.min(maxTime, plan.maxTime)
    if (plan.jitter !== undefined) jittered = true
    if (plan.base === undefined) break
    schedule = plan.base
  }
  // a schedule Testing cannot see into may jitter its delays itself
  const limits = [
    ...(maxTries === Infinity ? [] : [`maxTries ${maxTries}`]),
    ...(maxTime === Infinity ? [] : [`maxTime ${formatMillis(maxTime)}`]),
    ...(jittered ? ["jittered"] : [])
  ]
  const text = `the policy${limits.length === 0 ? "" : ` (${limits.join(", ")})`}`
  return { text, maxValue: undefined, maxTries, maxTime, jittered: jittered || foreign }
}

// ---------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------

/** @internal */
export type StrategyName =
  | "expo"
  | "fibo"
  | "constant"
  | "list"
  | "decay"
  | "linear"
  | "decorrelated"
  | "runtime"
  | "spaced"

const STRATEGIES: ReadonlyArray<StrategyName> = [
  "expo",
  "fibo",
  "constant",
  "list",
  "decay",
  "linear",
  "decorrelated",
  "runtime",
  "spaced"
]

/** @internal */
export type JitterName = "full" | "equal" | "random" | "none"

const JITTERS: ReadonlyArray<JitterName> = ["full", "equal", "random", "none"]

const jitterOf = (name: JitterName): JitterFunction => jitters[name]

const nonEmptySubset = <A extends string>(
  option: string,
  input: unknown,
  all: ReadonlyArray<A>
): ReadonlyArray<A> => {
  if (input === undefined) return all
  if (!Array.isArray(input) || input.length === 0 || input.some((x) => !all.includes(x))) {
    throw invalid(option, input, `a non-empty list of ${all.map((x) => JSON.stringify(x)).join(", ")}`)
  }
  return input as ReadonlyArray<A>
}

const positiveMillis = (option: string, input: unknown, fallback: number): number => {
  if (input === undefined) return fallback
  const ms = durationMillis(option, input)
  if (ms <= 0) throw invalid(option, input, "a duration > 0")
  return ms
}

const WAIT_KEYS = ["strategies", "maxValue", "scale"]

/** A duration in ms: mostly whole milliseconds up to `max`, sometimes 0, sometimes a fraction. */
const millisArb = (max: number): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: Math.max(0, Math.floor(max)) }) },
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.double({ min: 0, max, noNaN: true }).map((x) => round(x, 3)) }
  )

interface WaitDraft {
  readonly make: () => Schedule.Schedule<Duration.Duration, unknown>
  readonly text: string
  readonly maxValue: number | undefined
}

const capText = (cap: number | undefined) => cap === undefined ? "" : `, maxValue: ${millisInput(cap)}`

/** @internal `Testing.wait(options)`: a wait strategy with valid options, described as code. */
export const waitDrafts = (input: unknown = {}): fc.Arbitrary<WaitDraft> => {
  const o = optionsObject("Testing.wait", input, WAIT_KEYS) as {
    readonly strategies?: unknown
    readonly maxValue?: unknown
    readonly scale?: unknown
  }
  const strategies = nonEmptySubset("Testing.wait strategies", o.strategies, STRATEGIES)
  const limit = o.maxValue === undefined ? undefined : durationMillis("Testing.wait maxValue", o.maxValue)
  const scale = positiveMillis("Testing.wait scale", o.scale, 1000)
  const small = millisArb(scale)
  // a cap: required (and at most `limit`) when narrowed, else sometimes
  const cap = (first: fc.Arbitrary<number>): fc.Arbitrary<number | undefined> =>
    limit === undefined
      ? fc.option(fc.tuple(first, millisArb(scale * 10)).map(([a, b]) => a + b), { nil: undefined })
      : millisArb(limit)
  const upTo = (a: fc.Arbitrary<number>) => limit === undefined ? a : a.map((x) => Math.min(x, limit))
  const arbs: Record<StrategyName, fc.Arbitrary<WaitDraft>> = {
    expo: fc.record({
      base: fc.oneof(fc.constantFrom(1, 1.5, 2, 3), fc.double({ min: 1, max: 4, noNaN: true }).map((x) => round(x, 3))),
      factor: small,
      maxValue: cap(small)
    }).map(({ base, factor, maxValue }) => ({
      make: () => waits.toSchedule(waits.expo({ base, factor, maxValue })),
      text: `Wait.expo({ base: ${base}, factor: ${millisInput(factor)}${capText(maxValue)} })`,
      maxValue
    })),
    fibo: fc.record({ unit: small, maxValue: cap(small) }).map(({ maxValue, unit }) => ({
      make: () => waits.toSchedule(waits.fibo({ unit, maxValue })),
      text: `Wait.fibo({ unit: ${millisInput(unit)}${capText(maxValue)} })`,
      maxValue
    })),
    constant: upTo(small).map((interval) => ({
      make: () => waits.toSchedule(waits.constant({ interval })),
      text: `Wait.constant({ interval: ${millisInput(interval)} })`,
      maxValue: limit === undefined ? undefined : interval
    })),
    list: fc.array(upTo(small), { minLength: 1, maxLength: 6 }).map((interval) => ({
      make: () => waits.toSchedule(waits.constant({ interval })),
      text: `Wait.constant({ interval: [${interval.map(millisInput).join(", ")}] })`,
      maxValue: limit === undefined ? undefined : Math.max(...interval)
    })),
    decay: fc.record({
      initialValue: upTo(millisArb(scale * 4)),
      decayFactor: fc.double({ min: 0, max: 3, noNaN: true }).map((x) => round(x, 3)),
      minValue: fc.option(small, { nil: undefined })
    }).map(({ decayFactor, initialValue, minValue }) => {
      const floor = minValue === undefined ? undefined : Math.min(minValue, initialValue)
      return {
        make: () => waits.toSchedule(waits.decay({ initialValue, decayFactor, minValue: floor })),
        text: `Wait.decay({ initialValue: ${millisInput(initialValue)}, decayFactor: ${decayFactor}${
          floor === undefined ? "" : `, minValue: ${millisInput(floor)}`
        } })`,
        maxValue: limit === undefined ? undefined : initialValue
      }
    }),
    linear: fc.record({ initial: small, step: small, maxValue: cap(small) }).map(({ initial, maxValue, step }) => ({
      make: () => waits.toSchedule(waits.linear({ initial, step, maxValue })),
      text: `Wait.linear({ initial: ${millisInput(initial)}, step: ${millisInput(step)}${capText(maxValue)} })`,
      maxValue
    })),
    decorrelated: fc.record({
      base: small,
      extra: millisArb(scale * 20)
    }).map(({ base, extra }) => {
      const maxValue = limit === undefined ? base + extra : Math.min(base + extra, limit)
      return {
        make: () => waits.decorrelated({ base, maxValue }),
        text: `Wait.decorrelated({ base: ${millisInput(base)}, maxValue: ${millisInput(maxValue)} })`,
        maxValue
      }
    }),
    // the wait read from the failure, as a Retry-After header would be: here its text's length
    runtime: upTo(small).map((unit) => {
      const f = (input: unknown) => {
        const ms = (typeof input === "string" ? input.length : 1) * unit
        return limit === undefined ? ms : Math.min(ms, limit)
      }
      return {
        make: () => waits.toSchedule(waits.runtime(f)),
        text: `Wait.runtime((e) => ${limit === undefined ? "" : "min("}String(e).length × ${millisInput(unit)}${
          limit === undefined ? "" : `, ${millisInput(limit)})`
        })`,
        maxValue: limit === undefined ? undefined : Math.min(unit, limit)
      }
    }),
    // Effect's own Schedule: not one of ours, stepped through Schedule.step
    spaced: upTo(fc.integer({ min: 0, max: Math.max(0, Math.floor(scale)) })).map((interval) => ({
      make: () => Schedule.as(Schedule.spaced(Duration.millis(interval)), Duration.millis(interval)),
      text: `Schedule.spaced(${millisInput(interval)})`,
      maxValue: limit === undefined ? undefined : interval
    }))
  }
  return fc.oneof(...strategies.map((s) => arbs[s]))
}

/** @internal */
export const wait = (options?: unknown): fc.Arbitrary<Schedule.Schedule<Duration.Duration, unknown>> =>
  waitDrafts(options).map((d) =>
    declare(d.make(), { text: d.text, maxValue: d.maxValue, maxTries: Infinity, maxTime: Infinity, jittered: false })
  )

const JITTER_KEYS = ["jitters"]

/** @internal `Testing.jitter(options)`: one of the library's jitters, shown by its name. */
export const jitter = (input: unknown = {}): fc.Arbitrary<JitterFunction> => {
  const o = optionsObject("Testing.jitter", input, JITTER_KEYS) as { readonly jitters?: unknown }
  const names = nonEmptySubset("Testing.jitter jitters", o.jitters, JITTERS)
  return fc.constantFrom(...names).map((name) => {
    // a fresh function per value, so its name can be printed; it draws as the original does
    const original = jitterOf(name)
    const f: JitterFunction = (w) => original(w)
    return Object.defineProperties(name === "random" ? f : plans.zeroPreserving(f), {
      [fc.toStringMethod]: { value: () => `Jitter.${name}` },
      toString: { value: () => `Jitter.${name}` }
    })
  })
}

const POLICY_KEYS = ["strategies", "maxValue", "scale", "jitters", "bounded", "maxTries", "maxTime"]

type Layer = "jitter" | "maxTries" | "maxTime"

/** @internal `Testing.policy(options)`: wait, jitter, maxTries and maxTime, as one Schedule. */
export const policy = (input: unknown = {}): fc.Arbitrary<Schedule.Schedule<Duration.Duration, unknown>> => {
  const o = optionsObject("Testing.policy", input, POLICY_KEYS) as Record<string, unknown>
  const waitArb = waitDrafts({
    ...(o.strategies === undefined ? {} : { strategies: o.strategies }),
    ...(o.maxValue === undefined ? {} : { maxValue: o.maxValue }),
    ...(o.scale === undefined ? {} : { scale: o.scale })
  })
  const names = nonEmptySubset("Testing.policy jitters", o.jitters, JITTERS)
  const bounded = o.bounded ?? false
  if (typeof bounded !== "boolean") throw invalid("Testing.policy bounded", bounded, "a boolean")
  const topTries = o.maxTries ?? 10
  if (typeof topTries !== "number" || !Number.isInteger(topTries) || topTries < 1) {
    throw invalid("Testing.policy maxTries", topTries, "an integer >= 1 (the highest maxTries generated)")
  }
  const topTime = o.maxTime === undefined ? 30_000 : durationMillis("Testing.policy maxTime", o.maxTime)
  const tries = fc.integer({ min: 1, max: topTries })
  const time = millisArb(topTime)
  const limits: fc.Arbitrary<{ readonly maxTries: number | undefined; readonly maxTime: number | undefined }> = fc
    .oneof(
      tries.map((maxTries) => ({ maxTries, maxTime: undefined })),
      fc.tuple(tries, time).map(([maxTries, maxTime]) => ({ maxTries, maxTime })),
      // a maxTime alone ends a run only when time passes (zero waits and instant calls never do)
      ...(bounded ? [] : [
        time.map((maxTime) => ({ maxTries: undefined, maxTime })),
        fc.constant({ maxTries: undefined, maxTime: undefined })
      ])
    )
  return fc.record({
    wait: waitArb,
    jitter: fc.constantFrom(...names),
    limits,
    // Backoff.schedule(options), or the combinators piped in the documented order
    form: fc.constantFrom("pipe" as const, "options" as const)
  }).map(({ form, jitter, limits, wait }) => {
    const { maxTime, maxTries } = limits
    const jittered = jitter !== "none"
    const declared = (text: string): Declared => ({
      text,
      maxValue: wait.maxValue,
      maxTries: maxTries ?? Infinity,
      maxTime: maxTime ?? Infinity,
      jittered
    })
    if (form === "options") {
      const fields = [
        `wait: ${wait.text}`,
        `jitter: ${jittered ? `Jitter.${jitter}` : "null"}`,
        ...(maxTries === undefined ? [] : [`maxTries: ${maxTries}`]),
        ...(maxTime === undefined ? [] : [`maxTime: ${millisInput(maxTime)}`])
      ]
      const schedule = backoff.schedule({
        wait: wait.make(),
        jitter: jittered ? jitterOf(jitter) : null,
        ...(maxTries === undefined ? {} : { maxTries }),
        ...(maxTime === undefined ? {} : { maxTime })
      }) as Schedule.Schedule<Duration.Duration, unknown>
      return declare(schedule, declared(`Backoff.schedule({ ${fields.join(", ")} })`))
    }
    const layers: Array<[Layer, string]> = []
    if (jittered) layers.push(["jitter", `Jitter.apply(Jitter.${jitter})`])
    if (maxTries !== undefined) layers.push(["maxTries", `Backoff.maxTries(${maxTries})`])
    if (maxTime !== undefined) layers.push(["maxTime", `Backoff.maxTime(${millisInput(maxTime)})`])
    let schedule: Schedule.Schedule<Duration.Duration, unknown> = wait.make()
    for (const [layer] of layers) {
      schedule = layer === "jitter"
        ? jitters.apply(schedule, jitterOf(jitter))
        : layer === "maxTries"
        ? backoff.maxTries(schedule, maxTries!)
        : backoff.maxTime(schedule, maxTime!)
    }
    const text = layers.length === 0 ? wait.text : `${wait.text}.pipe(${layers.map(([, t]) => t).join(", ")})`
    return declare(schedule, declared(text))
  })
}

const OUTCOME_KEYS = ["minLength", "maxLength", "successes", "maxDuration", "error", "value"]

const showOutcome = (o: Outcome): string =>
  `${o._tag === "Fail" ? "fail" : "succeed"}(${describeValue(o.value)}${
    o.duration > 0 ? `, ${millisInput(o.duration)}` : ""
  })`

const shown = <A extends Outcome>(o: A): A =>
  Object.defineProperties(o, {
    [fc.toStringMethod]: { value: () => showOutcome(o) },
    toString: { value: () => showOutcome(o) }
  })

const isArbitrary = (u: unknown): u is fc.Arbitrary<unknown> =>
  typeof u === "object" && u !== null && typeof (u as fc.Arbitrary<unknown>).generate === "function" &&
  typeof (u as fc.Arbitrary<unknown>).shrink === "function"

/** @internal `Testing.outcomes(options)`: scripts of failures and successes, each call taking some time. */
export const outcomes = <A = string, E = string>(input: unknown = {}): fc.Arbitrary<ReadonlyArray<Outcome<A, E>>> => {
  const o = optionsObject("Testing.outcomes", input, OUTCOME_KEYS) as Record<string, unknown>
  const minLength = o.minLength ?? 1
  const maxLength = o.maxLength ?? 8
  if (typeof minLength !== "number" || !Number.isInteger(minLength) || minLength < 1) {
    throw invalid("Testing.outcomes minLength", minLength, "an integer >= 1")
  }
  if (typeof maxLength !== "number" || !Number.isInteger(maxLength) || maxLength < minLength) {
    throw invalid("Testing.outcomes maxLength", maxLength, `an integer >= minLength (${minLength})`)
  }
  const successes = o.successes ?? true
  if (typeof successes !== "boolean") throw invalid("Testing.outcomes successes", successes, "a boolean")
  const maxDuration = o.maxDuration === undefined ? 1000 : durationMillis("Testing.outcomes maxDuration", o.maxDuration)
  for (const key of ["error", "value"] as const) {
    if (o[key] !== undefined && !isArbitrary(o[key])) {
      throw invalid(`Testing.outcomes ${key}`, o[key], "a fast-check Arbitrary (from effect/FastCheck)")
    }
  }
  const error = (o.error as fc.Arbitrary<unknown> | undefined) ?? fc.constantFrom("503", "timeout", "connection reset")
  const value = (o.value as fc.Arbitrary<unknown> | undefined) ?? fc.constant("ok")
  // most calls take no time; some take up to maxDuration
  const duration = maxDuration === 0
    ? fc.constant(0)
    : fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: millisArb(maxDuration) })
  const failure = fc.tuple(error, duration).map(([e, d]) => shown(timeline.fail(e, d)))
  const outcome = successes
    ? fc.oneof(
      { weight: 3, arbitrary: failure },
      { weight: 1, arbitrary: fc.tuple(value, duration).map(([v, d]) => shown(timeline.succeed(v, d))) }
    )
    : failure
  return fc.array(outcome as fc.Arbitrary<Outcome>, { minLength, maxLength }) as fc.Arbitrary<
    ReadonlyArray<Outcome<A, E>>
  >
}

// ---------------------------------------------------------------------------
// Runs and laws
// ---------------------------------------------------------------------------

/** @internal One event of a Timeline run (the public `Timeline.Event`). */
export interface Event {
  readonly _tag: "Call" | "Rejected" | "Backoff" | "Success" | "Giveup"
  readonly at: Duration.Duration
  readonly tries: number
  readonly wait?: Duration.Duration
  readonly reason?: GiveupReason
}

/** @internal A Timeline run's report (the public `Timeline.Result`). */
export interface Result {
  readonly events: ReadonlyArray<Event>
  readonly total: Duration.Duration
  readonly result: Exit.Exit<unknown, unknown>
  readonly calls: number
  readonly cutOff: boolean
}

/** @internal The drivers `Run.callTimes` runs the policy under. */
export type Driver = "Backoff.retry" | "Effect.retry" | "Stream.retry"

/** @internal What a law looks at (the public `Testing.Run`). */
export interface Run {
  readonly description: string
  readonly outcomes: ReadonlyArray<Outcome>
  readonly seed: number
  readonly maxTries: number
  readonly maxTime: Duration.Duration
  readonly jittered: boolean
  readonly maxCalls: number
  readonly timeline: Result
  readonly waits: ReadonlyArray<Duration.Duration>
  readonly replay: (seed?: number) => Result
  readonly callTimes: (driver: Driver) => ReadonlyArray<Duration.Duration>
}

/** @internal */
export interface Law {
  readonly name: string
  readonly check: (run: Run) => string | undefined
}

/** @internal `Testing.law(name, check)`. */
export const law = (name: string, check: (run: Run) => string | undefined): Law => {
  if (typeof name !== "string" || name === "") throw invalid("Testing.law name", name, "a non-empty string")
  if (typeof check !== "function") throw invalid("Testing.law check", check, "a function (run) => string | undefined")
  return { name, check }
}

/** Equal up to what float milliseconds and nanosecond Durations can tell apart. */
const EPSILON = 1e-5
const ms = Duration.toMillis

/**
 * Wraps a policy so every wait its strategy gives (before jitter) is recorded; it runs as
 * the policy does. A schedule Testing cannot see into records its delays.
 */
const recording = (
  schedule: Schedule.Schedule<unknown, any, any>,
  record: (wait: number) => void
): Schedule.Schedule<unknown, any, any> => {
  const plan = plans.planOf(schedule)
  if (plan === undefined) {
    return Schedule.makeWithState(
      schedule.initial,
      (now, input, state) =>
        Effect.map(schedule.step(now, input, state), (step) => {
          const decision = step[2]
          if (ScheduleDecision.isContinue(decision)) record(plans.delayOf(decision, now))
          return step
        })
    )
  }
  const strategy = plan.strategy
  return plans.toSchedule({
    ...plan,
    strategy: strategy === undefined ? undefined : {
      next: (previous, input) => {
        const step = strategy.next(previous, input)
        if (step !== undefined) record(step.wait)
        return step
      }
    },
    base: plan.base === undefined ? undefined : recording(plan.base, record)
  })
}

const runTimeline = (
  policy: Schedule.Schedule<unknown, any, any>,
  script: ReadonlyArray<Outcome>,
  seed: number,
  maxCalls: number
): Result => {
  const exit = Effect.runSyncExit(timeline.run(policy, script, { seed, maxCalls }) as Effect.Effect<Result>)
  if (Exit.isSuccess(exit)) return exit.value
  throw new Error(
    `Testing.check runs a policy synchronously on a virtual clock, and this one could not be: ${
      Cause.pretty(exit.cause)
    }`
  )
}

/** The start of each call under one driver, on a fresh virtual clock; the first call takes no time. */
const callTimesUnder = (
  policy: Schedule.Schedule<unknown, any, any>,
  script: ReadonlyArray<Outcome>,
  seed: number,
  maxCalls: number,
  driver: Driver
): ReadonlyArray<Duration.Duration> => {
  const clock = new timeline.VirtualClock()
  const times: Array<Duration.Duration> = []
  const task = Effect.suspend(() => {
    const i = times.length
    // every driver stops at the same cut-off: that call succeeds
    if (i >= maxCalls) return Effect.succeed(undefined)
    times.push(Duration.millis(clock.now))
    const step = script[Math.min(i, script.length - 1)]!
    const result = step._tag === "Fail" ? Effect.fail(step.value) : Effect.succeed(step.value)
    return i === 0 || step.duration === 0
      ? result
      : Effect.zipRight(clock.sleep(Duration.millis(step.duration)), result)
  })
  const program: Effect.Effect<unknown, unknown> = driver === "Backoff.retry"
    ? backoff.retry({ schedule: policy, logger: false })(task)
    : driver === "Effect.retry"
    ? Effect.retry(task, policy)
    : Stream.runCollect(Stream.retry(Stream.fromEffect(task), policy)).pipe(Effect.map(Chunk.toArray))
  Effect.runSyncExit(program.pipe(Effect.withClock(clock), Effect.withRandom(Random.make(seed))))
  return times
}

/** @internal One generated case: the policy, the calls' outcomes and the jitter seed. */
export interface Case {
  readonly policy: Schedule.Schedule<unknown, any, any>
  readonly outcomes: ReadonlyArray<Outcome>
  readonly seed: number
}

interface Limits {
  readonly maxTries?: number | undefined
  readonly maxTime?: number | undefined
  readonly maxCalls: number
}

/** @internal Runs a case on Timeline and gathers what the laws look at. */
export const runCase = (c: Case, limits: Limits): Run => {
  const declared = limitsOf(c.policy)
  const recorded: Array<number> = []
  const result = runTimeline(recording(c.policy, (w) => recorded.push(w)), c.outcomes, c.seed, limits.maxCalls)
  const backoffs = result.events.filter((e) => e._tag === "Backoff").length
  const maxTime = Math.min(limits.maxTime ?? Infinity, declared.maxTime)
  return {
    description: declared.text,
    outcomes: c.outcomes,
    seed: c.seed,
    maxTries: Math.min(limits.maxTries ?? Infinity, declared.maxTries),
    maxTime: maxTime === Infinity ? Duration.infinity : Duration.millis(maxTime),
    jittered: declared.jittered,
    maxCalls: limits.maxCalls,
    timeline: result,
    waits: recorded.slice(0, backoffs).map((w) => Duration.millis(w)),
    replay: (seed = c.seed) => runTimeline(c.policy, c.outcomes, seed, limits.maxCalls),
    callTimes: (driver) => callTimesUnder(c.policy, c.outcomes, c.seed, limits.maxCalls, driver)
  }
}

const eventText = (e: Event): string => {
  const tail = e._tag === "Backoff"
    ? `  wait ${formatMillis(ms(e.wait!))}`
    : e._tag === "Giveup" && e.reason !== undefined
    ? `  (${e.reason})`
    : ""
  return `${formatMillis(ms(e.at)).padStart(10)}  ${e._tag.padEnd(7)} #${e.tries}${tail}`
}

/** A longer trace shows its start and its end. */
const MAX_TRACE_EVENTS = 40

/** @internal The readable trace of a run: the policy, the script, the seed, the events. */
export const trace = (run: Run): string => {
  const r = run.timeline
  const end = r.cutOff
    ? `cut off after ${r.calls} calls`
    : Exit.isSuccess(r.result)
    ? `succeeded with ${describeValue(r.result.value)}`
    : Cause.isFailType(r.result.cause)
    ? `failed with ${describeValue(r.result.cause.error)}`
    : `died: ${Cause.pretty(r.result.cause).split("\n")[0]}`
  return [
    `policy:   ${run.description}`,
    `outcomes: ${run.outcomes.map(showOutcome).join(", ")} (the last repeats)`,
    `seed:     ${run.seed}`,
    ...(r.events.length <= MAX_TRACE_EVENTS
      ? r.events.map(eventText)
      : [
        ...r.events.slice(0, MAX_TRACE_EVENTS - 8).map(eventText),
        `${"".padStart(10)}  … ${r.events.length - MAX_TRACE_EVENTS + 2} more events …`,
        ...r.events.slice(-6).map(eventText)
      ]),
    `=> ${end} after ${formatMillis(ms(r.total))}`
  ].join("\n")
}

const backoffsOf = (run: Run) => run.timeline.events.filter((e) => e._tag === "Backoff")
const callsOf = (run: Run) => run.timeline.events.filter((e) => e._tag === "Call")

/** @internal */
export const nonNegativeWaits: Law = law("nonNegativeWaits", (run) => {
  for (const b of backoffsOf(run)) {
    const w = ms(b.wait!)
    if (!(Number.isFinite(w) && w >= 0)) return `the wait after call ${b.tries} is ${w}: not a finite duration >= 0`
  }
  const events = run.timeline.events
  for (let i = 1; i < events.length; i++) {
    if (ms(events[i]!.at) < ms(events[i - 1]!.at)) {
      return `time went back: event ${i + 1} is at ${formatMillis(ms(events[i]!.at))}, after one at ${
        formatMillis(ms(events[i - 1]!.at))
      }`
    }
  }
  const result = run.timeline.result
  if (Exit.isFailure(result)) {
    const defect = Cause.dieOption(result.cause)
    if (defect._tag === "Some") {
      const d = defect.value as { readonly _tag?: unknown; readonly message?: unknown }
      if (typeof d === "object" && d !== null && d._tag === "InvalidOptionError") {
        return `the run died of an invalid wait: ${String(d.message)}`
      }
    }
  }
  return undefined
})

/** @internal */
export const capped = (maxValue: Duration.DurationInput): Law => {
  const cap = durationMillis("Testing.capped maxValue", maxValue)
  return law(`capped(${formatMillis(cap)})`, (run) => {
    for (let i = 0; i < run.waits.length; i++) {
      const w = ms(run.waits[i]!)
      if (w > cap + EPSILON) {
        return `wait ${i + 1} (before jitter) is ${formatMillis(w)}, above the cap ${formatMillis(cap)}`
      }
    }
    return undefined
  })
}

/** @internal */
export const withinMaxTries: Law = law("withinMaxTries", (run) =>
  run.timeline.calls > run.maxTries
    ? `${run.timeline.calls} calls, but maxTries is ${run.maxTries}`
    : undefined)

const exact = (ms: number) => formatMillis(ms, true)

/** @internal */
export const withinMaxTime: Law = law("withinMaxTime", (run) => {
  const maxTime = ms(run.maxTime)
  if (maxTime === Infinity) return undefined
  for (const c of callsOf(run)) {
    if (ms(c.at) > maxTime + EPSILON) {
      return `call ${c.tries} starts at ${exact(ms(c.at))}, after maxTime ${exact(maxTime)}`
    }
  }
  const slept = backoffsOf(run).reduce((sum, b) => sum + ms(b.wait!), 0)
  if (slept > maxTime + EPSILON) {
    return `the sleeps add up to ${exact(slept)}, more than maxTime ${exact(maxTime)}`
  }
  return undefined
})

/** @internal */
export const lastWaitClamped: Law = law("lastWaitClamped", (run) => {
  const maxTime = ms(run.maxTime)
  const backoffs = backoffsOf(run)
  for (let i = 0; i < backoffs.length; i++) {
    const b = backoffs[i]!
    const at = ms(b.at)
    const sleep = ms(b.wait!)
    if (maxTime !== Infinity && at + sleep > maxTime + EPSILON) {
      return `the sleep after call ${b.tries} (at ${exact(at)}, ${exact(sleep)}) ends at ${
        exact(at + sleep)
      }, past maxTime ${exact(maxTime)}: it was not cut to the ${exact(maxTime - at)} left`
    }
    // without jitter the sleep is the strategy's own wait, cut to what is left of the budget
    const wait = run.waits[i] === undefined ? undefined : ms(run.waits[i]!)
    if (!run.jittered && wait !== undefined) {
      const expected = Math.min(wait, MAX_WAIT_MILLIS, maxTime - at)
      if (Math.abs(sleep - expected) > EPSILON) {
        return `the sleep after call ${b.tries} is ${exact(sleep)}; the wait is ${exact(wait)}${
          maxTime === Infinity ? "" : ` and ${exact(maxTime - at)} are left of maxTime`
        }, so it should be ${exact(expected)}`
      }
    }
  }
  const last = run.timeline.events.at(-1)
  if (last !== undefined && last._tag === "Giveup" && last.reason === "maxTime" && ms(last.at) < maxTime - EPSILON) {
    return `gave up for maxTime at ${exact(ms(last.at))}, before maxTime ${
      exact(maxTime)
    }: the last sleep was cut short`
  }
  return undefined
})

const sameEvent = (a: Event, b: Event) =>
  a._tag === b._tag && a.tries === b.tries && ms(a.at) === ms(b.at) &&
  (a.wait === undefined ? b.wait === undefined : b.wait !== undefined && ms(a.wait) === ms(b.wait)) &&
  (a.reason as GiveupReason | undefined) === b.reason

/** @internal */
export const deterministicUnderSeed: Law = law("deterministicUnderSeed", (run) => {
  const again = run.replay()
  const a = run.timeline.events
  const b = again.events
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i]
    const y = b[i]
    if (x === undefined || y === undefined || !sameEvent(x, y)) {
      return `a second run with the same seed (${run.seed}) differs at event ${i + 1}: ${
        x === undefined ? "nothing" : eventText(x).trim()
      }, then ${y === undefined ? "nothing" : eventText(y).trim()}`
    }
  }
  if (Exit.isSuccess(run.timeline.result) !== Exit.isSuccess(again.result)) {
    return `a second run with the same seed (${run.seed}) ends differently`
  }
  return undefined
})

const DRIVERS: ReadonlyArray<Driver> = ["Backoff.retry", "Effect.retry", "Stream.retry"]

const timesText = (times: ReadonlyArray<Duration.Duration>) =>
  times.length > 12
    ? `${times.slice(0, 12).map((t) => formatMillis(ms(t))).join(" ")} …`
    : times.map((t) => formatMillis(ms(t))).join(" ")

/** @internal */
export const sameUnderDrivers: Law = law("sameUnderDrivers", (run) => {
  const [first, ...others] = DRIVERS.map((d) => [d, run.callTimes(d)] as const)
  const [name, expected] = first!
  for (const [other, times] of others) {
    if (times.length !== expected.length) {
      return `${name} made ${expected.length} calls (at ${timesText(expected)}), ${other} ${times.length} (at ${
        timesText(times)
      })`
    }
    for (let i = 0; i < times.length; i++) {
      if (Math.abs(ms(times[i]!) - ms(expected[i]!)) > EPSILON) {
        return `call ${i + 1}: ${name} at ${exact(ms(expected[i]!))}, ${other} at ${exact(ms(times[i]!))}`
      }
    }
  }
  return undefined
})

/** @internal Every law that holds for any policy of this library. */
export const laws: ReadonlyArray<Law> = [
  nonNegativeWaits,
  withinMaxTries,
  withinMaxTime,
  lastWaitClamped,
  deterministicUnderSeed,
  sameUnderDrivers
]

// ---------------------------------------------------------------------------
// check
// ---------------------------------------------------------------------------

/** @internal What `Testing.check` fails with as an Effect: the law, what broke, the trace. */
export class LawError extends Data.TaggedError("LawError")<{
  readonly law: string
  readonly broken: string
  readonly trace: string
  /** How many runs, how many shrinks, and the fast-check seed and path that replay it. */
  readonly replay: string
}> {
  /**
   * @since 0.3.0
   */
  override get message(): string {
    return `${this.law} broke: ${this.broken}\n${this.trace}\n(${this.replay})`
  }
}

/** The error a failing case throws inside fast-check: its message is the law and the trace. */
class Broken extends Error {
  constructor(readonly law: string, readonly broken: string, readonly trace: string) {
    super(`${law}: ${broken}\n${trace}`)
    this.name = "LawBroken"
  }
}

const CHECK_KEYS = ["outcomes", "numRuns", "seed", "maxTries", "maxTime", "maxCalls"]

interface CheckOptions {
  readonly outcomes: fc.Arbitrary<ReadonlyArray<Outcome>>
  readonly numRuns: number | undefined
  readonly seed: number | undefined
  readonly limits: Limits
}

const checkOptions = (input: unknown): CheckOptions => {
  const o = optionsObject("Testing.check", input ?? {}, CHECK_KEYS) as Record<string, unknown>
  if (o.outcomes !== undefined && !isArbitrary(o.outcomes)) {
    throw invalid("Testing.check outcomes", o.outcomes, "an Arbitrary of outcome lists (Testing.outcomes())")
  }
  const positiveInt = (key: string) => {
    const v = o[key]
    if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 1)) {
      throw invalid(`Testing.check ${key}`, v, "an integer >= 1")
    }
    return v as number | undefined
  }
  const seed = o.seed
  if (seed !== undefined && (typeof seed !== "number" || !Number.isInteger(seed))) {
    throw invalid("Testing.check seed", seed, "an integer (fast-check's seed)")
  }
  const maxTries = o.maxTries === undefined || o.maxTries === Infinity ? undefined : positiveInt("maxTries")
  return {
    outcomes: (o.outcomes as fc.Arbitrary<ReadonlyArray<Outcome>> | undefined) ?? outcomes(),
    numRuns: positiveInt("numRuns"),
    seed: seed as number | undefined,
    limits: {
      maxTries,
      maxTime: o.maxTime === undefined ? undefined : durationMillis("Testing.check maxTime", o.maxTime, true),
      maxCalls: positiveInt("maxCalls") ?? 200
    }
  }
}

/** @internal The first law the case breaks, with its trace. */
export const verify = (c: Case, laws: ReadonlyArray<Law>, limits: Limits): Broken | undefined => {
  const run = runCase(c, limits)
  for (const l of laws) {
    const broken = l.check(run)
    if (broken !== undefined) return new Broken(l.name, broken, trace(run))
  }
  return undefined
}

const showCase = (c: Case, limits: Limits): string => {
  try {
    return `\n${trace(runCase(c, limits))}\n`
  } catch (e) {
    return `${limitsOf(c.policy).text} (${e instanceof Error ? e.message : String(e)})`
  }
}

/** @internal `Testing.check`: a fast-check property and an Effect at once. */
export class Check extends Effectable.Class<void, LawError> implements fc.IProperty<[Case]> {
  private readonly property: fc.IProperty<[Case]>
  constructor(
    subject: unknown,
    lawOrLaws: unknown,
    private readonly options: CheckOptions
  ) {
    super()
    const subjects = isArbitrary(subject)
      ? (subject as fc.Arbitrary<Schedule.Schedule<unknown, any, any>>)
      : plans.isAnySchedule(subject)
      ? fc.constant(subject)
      : undefined
    if (subjects === undefined) {
      throw invalid("Testing.check policy", subject, "a policy Schedule or an Arbitrary of them (Testing.policy())")
    }
    const list = Array.isArray(lawOrLaws) ? lawOrLaws : [lawOrLaws]
    if (list.length === 0 || list.some((l) => typeof l !== "object" || l === null || typeof l.check !== "function")) {
      throw invalid(
        "Testing.check law",
        lawOrLaws,
        "a law (Testing.withinMaxTries, Testing.law(...)) or a list of them"
      )
    }
    const laws = list as ReadonlyArray<Law>
    const limits = options.limits
    const cases = fc.record({ policy: subjects, outcomes: options.outcomes, seed: fc.integer() }).map((c): Case =>
      Object.defineProperty(c, fc.toStringMethod, { value: () => showCase(c, limits) })
    )
    this.property = fc.property(cases, (c) => {
      const broken = verify(c, laws, limits)
      if (broken !== undefined) throw broken
    })
  }
  isAsync(): false {
    return false
  }
  generate(mrng: fc.Random, runId?: number): fc.Value<[Case]> {
    return this.property.generate(mrng, runId)
  }
  shrink(value: fc.Value<[Case]>): fc.Stream<fc.Value<[Case]>> {
    return this.property.shrink(value)
  }
  run(v: [Case], dontRunHook?: boolean): fc.PreconditionFailure | fc.PropertyFailure | null {
    return this.property.run(v, dontRunHook)
  }
  runBeforeEach(): void {
    this.property.runBeforeEach?.()
  }
  runAfterEach(): void {
    this.property.runAfterEach?.()
  }
  commit(): Effect.Effect<void, LawError> {
    return Effect.suspend(() => {
      const { numRuns, seed } = this.options
      const details = fc.check(this.property, {
        ...(numRuns === undefined ? {} : { numRuns }),
        ...(seed === undefined ? {} : { seed })
      })
      if (!details.failed) return Effect.void
      const error = details.errorInstance
      const replay = `replay: { seed: ${details.seed}, path: "${details.counterexamplePath}" }`
      const runs = `after ${details.numRuns} run${details.numRuns === 1 ? "" : "s"}, shrunk ${details.numShrinks} time${
        details.numShrinks === 1 ? "" : "s"
      }`
      if (error instanceof Broken) {
        return Effect.fail(
          new LawError({ law: error.law, broken: error.broken, trace: error.trace, replay: `${runs}; ${replay}` })
        )
      }
      // not a law: the run itself threw (an asynchronous policy, a law that throws)
      return Effect.die(error)
    })
  }
}

/** @internal */
export const check = (subject: unknown, lawOrLaws: unknown, options?: unknown): Check =>
  new Check(subject, lawOrLaws, checkOptions(options))
