/**
 * @internal The circuit breaker (the public module `CircuitBreaker` documents it).
 *
 * ## The pure state machine (for reuse by other stores, e.g. the Redis breaker)
 *
 * Everything a breaker decides is one pure function, with no Effect, no clock and no
 * mutation:
 *
 *     const step = machine(settings)                 // settings = resolve(options)
 *     const { state, decision, transition } = step(state, event, nowMillis)
 *
 * - `resolve(options)` validates the user's options once (throws `InvalidOptionError`)
 *   and gives `Settings`: the policy (a `Policy` value: consecutive, count or sampling),
 *   the half-open delays, probes, probeTimeout, successThreshold.
 * - `initialState(settings)` is the closed breaker. A `State` is plain JSON data (numbers,
 *   strings, arrays of numbers; the policy's `window` too), so a store can read it,
 *   `JSON.parse` it, step it and write it back with a compare-and-set on `generation`
 *   (or on the whole text). Nothing in it refers to a process.
 * - Events: `ADMIT` (may a call start?), `outcome(kind, generation, probe, millis)` for
 *   a call that ended (`"success" | "failure" | "timeout" | "interrupt"`; `millis` is its
 *   duration, for slow calls), `TICK` (the clock moved: open → half-open once due),
 *   `ISOLATE`, `RESET`. `generation` and `probe` are what the admitting step's state and
 *   decision said; an outcome from an older generation (the breaker moved since the call
 *   started) counts as nothing.
 * - Decisions: `Admitted` (`probe: true` in half-open: the caller must report its
 *   outcome), `Rejected` (`retryAfter` in ms, Infinity when isolated), `Recorded`.
 * - `transition` is set when the state's name changed (`from`, `to`, `reason`, `detail`).
 * - `now` is monotonic milliseconds (the Clock's `currentTimeNanos` / 1e6); a store shared
 *   by processes must pass a time they share (e.g. the server's `TIME`).
 *
 * The in-memory breaker below holds one `State` in one cell and applies `step`
 * synchronously (JavaScript runs one step at a time, so read-step-write is atomic): an
 * admission costs no Effect step, no timer and no fiber.
 */
import {
  Cause,
  Context,
  Data,
  Duration,
  Effect,
  Layer,
  LogLevel,
  Metric,
  Option,
  PubSub,
  Schedule,
  Stream
} from "effect"
// modules Effect 4 removed go through the namespace (see effectVersion.ts)
import * as effect from "effect"
import type { Clock } from "effect"
import { dual } from "effect/Function"
import * as buckets from "./buckets.js"
import * as callbacks from "./callbacks.js"
import type { Admission, AttemptGuard, Run } from "./loop.js"
import { planOf } from "./plan.js"
import { durationMillis, invalid, optionsObject } from "./validate.js"

// ---------------------------------------------------------------------------
// Policies: when a closed breaker opens
// ---------------------------------------------------------------------------

/** @internal A call's outcome as a policy records it: bit 1 failure, bit 2 slow. */
export type Outcome = 0 | 1 | 2 | 3

/** @internal */
export const FAILURE = 1
/** @internal */
export const SLOW = 2

/**
 * @internal When to open: a value of this interface (cockatiel's breakers behind one
 * interface). `window` states are plain JSON data and are never mutated: `record` returns
 * a new one (or the same one when nothing changed).
 */
export interface Policy<W = any> {
  readonly _tag: "Consecutive" | "Count" | "Sampling"
  /** The empty window. */
  readonly initial: W
  /** The window with one more outcome, ended at `now`. */
  readonly record: (window: W, outcome: Outcome, now: number) => W
  /** Why the breaker opens now, or undefined. */
  readonly trip: (window: W, now: number) => string | undefined
  /** Calls slower than this are slow (Infinity: no slow-call rule). */
  readonly slowMillis: number
  /** The options as given, validated (for descriptions and other stores). */
  readonly options: Readonly<Record<string, unknown>>
}

const ratio = (option: string, input: unknown): number => {
  if (typeof input !== "number" || !(input > 0 && input <= 1)) {
    throw invalid(option, input, "a ratio in (0, 1] (0.5: half of the calls)")
  }
  return input
}

const integer = (option: string, input: unknown, least = 1): number => {
  if (typeof input !== "number" || !Number.isInteger(input) || input < least) {
    throw invalid(option, input, `an integer >= ${least}`)
  }
  return input
}

const positiveMillis = (option: string, input: unknown): number => {
  const millis = durationMillis(option, input)
  if (millis <= 0) throw invalid(option, input, "a positive, finite duration (\"2 seconds\")")
  return millis
}

interface SlowCall {
  readonly millis: number
  readonly threshold: number
}

const slowCallOption = (name: string, input: unknown): SlowCall | undefined => {
  if (input === undefined) return undefined
  const o = optionsObject(`${name}.slowCall`, input, ["duration", "threshold"])
  if (o.duration === undefined) throw invalid(`${name}.slowCall.duration`, undefined, "a positive duration")
  if (o.threshold === undefined) throw invalid(`${name}.slowCall.threshold`, undefined, "a ratio in (0, 1]")
  return {
    millis: positiveMillis(`${name}.slowCall.duration`, o.duration),
    threshold: ratio(`${name}.slowCall.threshold`, o.threshold)
  }
}

const pct = (x: number) => `${Number((x * 100).toPrecision(3))}%`

/** @internal `consecutive(n)`: n failures in a row open it; the window is that count. */
export const consecutive = (n: unknown): Policy<number> => {
  const threshold = integer("consecutive", n)
  return {
    _tag: "Consecutive",
    initial: 0,
    record: (window, outcome) => (outcome & FAILURE) !== 0 ? window + 1 : 0,
    trip: (window) => window >= threshold ? `${window} failures in a row` : undefined,
    slowMillis: Infinity,
    options: { threshold }
  }
}

/** @internal The `count` window: the outcomes of the last `size` calls in a ring, and their sums. */
export interface CountWindow {
  readonly ring: ReadonlyArray<number>
  /** The slot the next outcome goes to. */
  readonly next: number
  readonly calls: number
  readonly failures: number
  readonly slow: number
}

const tripRatio = (
  calls: number,
  failures: number,
  slow: number,
  threshold: number,
  slowCall: SlowCall | undefined,
  over: string
): string | undefined => {
  if (calls > 0 && failures / calls >= threshold) {
    return `failure ratio ${pct(failures / calls)} >= ${pct(threshold)} over ${over}`
  }
  if (slowCall !== undefined && calls > 0 && slow / calls >= slowCall.threshold) {
    return `slow-call ratio ${pct(slow / calls)} >= ${pct(slowCall.threshold)} over ${over}`
  }
  return undefined
}

/** @internal `count({ threshold, size, minimumCalls = size, slowCall? })`: a ratio over the last `size` calls. */
export const count = (options: unknown): Policy<CountWindow> => {
  const o = optionsObject("count", options, ["threshold", "size", "minimumCalls", "slowCall"])
  const threshold = ratio("count.threshold", o.threshold)
  const size = integer("count.size", o.size)
  const minimumCalls = o.minimumCalls === undefined ? size : integer("count.minimumCalls", o.minimumCalls)
  if (minimumCalls > size) throw invalid("count.minimumCalls", minimumCalls, `an integer from 1 to size (${size})`)
  const slowCall = slowCallOption("count", o.slowCall)
  const initial: CountWindow = { ring: new Array<number>(size).fill(0), next: 0, calls: 0, failures: 0, slow: 0 }
  return {
    _tag: "Count",
    initial,
    record: (w, outcome) => {
      const old = w.calls === size ? w.ring[w.next]! : 0
      const ring = w.ring.slice()
      ring[w.next] = outcome
      return {
        ring,
        next: (w.next + 1) % size,
        calls: w.calls === size ? size : w.calls + 1,
        failures: w.failures + (outcome & FAILURE) - (old & FAILURE),
        slow: w.slow + ((outcome & SLOW) >> 1) - ((old & SLOW) >> 1)
      }
    },
    trip: (w) =>
      w.calls < minimumCalls
        ? undefined
        : tripRatio(w.calls, w.failures, w.slow, threshold, slowCall, `the last ${w.calls} calls`),
    slowMillis: slowCall === undefined ? Infinity : slowCall.millis,
    options: { threshold, size, minimumCalls, slowCall }
  }
}

/**
 * @internal The `sampling` window: per time bucket (the retry budget's scheme, see
 * buckets.ts) the calls, failures and slow calls, flat in `counts` (3 per slot).
 */
export interface SamplingWindow {
  /** The bucket last written (-1 before any: time starts at 0 or later). */
  readonly bucket: number
  readonly counts: ReadonlyArray<number>
}

/** @internal The sampling window is cut into this many buckets (it counts between duration − duration/10 and duration). */
export const SAMPLING_BUCKETS = 10

/** @internal `sampling({ threshold, duration, minimumThroughput = 100, slowCall? })`: a ratio over a sliding time window. */
export const sampling = (options: unknown): Policy<SamplingWindow> => {
  const o = optionsObject("sampling", options, ["threshold", "duration", "minimumThroughput", "slowCall"])
  const threshold = ratio("sampling.threshold", o.threshold)
  if (o.duration === undefined) throw invalid("sampling.duration", undefined, "a positive duration (\"30 seconds\")")
  const millis = positiveMillis("sampling.duration", o.duration)
  const minimumThroughput = o.minimumThroughput === undefined
    ? 100
    : integer("sampling.minimumThroughput", o.minimumThroughput)
  const slowCall = slowCallOption("sampling", o.slowCall)
  const n = SAMPLING_BUCKETS
  const bucketMillis = millis / n
  const initial: SamplingWindow = { bucket: -1, counts: new Array<number>(3 * n).fill(0) }
  // the window moved to `now`: a copy with the buckets that left it cleared
  const moved = (w: SamplingWindow, now: number): SamplingWindow => {
    const k = buckets.bucketOf(now, bucketMillis)
    if (!(k > w.bucket)) return w
    const counts = w.counts.slice()
    buckets.advance(w.bucket, k, n, (s) => {
      counts[3 * s] = 0
      counts[3 * s + 1] = 0
      counts[3 * s + 2] = 0
    })
    return { bucket: k, counts }
  }
  const sums = (w: SamplingWindow) => {
    let calls = 0, failures = 0, slow = 0
    for (let s = 0; s < n; s++) {
      calls += w.counts[3 * s]!
      failures += w.counts[3 * s + 1]!
      slow += w.counts[3 * s + 2]!
    }
    return [calls, failures, slow] as const
  }
  const seconds = Duration.format(Duration.millis(millis))
  return {
    _tag: "Sampling",
    initial,
    record: (w, outcome, now) => {
      const m = moved(w, now)
      const counts = m === w ? w.counts.slice() : (m.counts as Array<number>)
      const s = buckets.slotOf(m.bucket, n)
      counts[3 * s] = counts[3 * s]! + 1
      counts[3 * s + 1] = counts[3 * s + 1]! + (outcome & FAILURE)
      counts[3 * s + 2] = counts[3 * s + 2]! + ((outcome & SLOW) >> 1)
      return { bucket: m.bucket, counts }
    },
    trip: (w, now) => {
      const [calls, failures, slow] = sums(moved(w, now))
      return calls < minimumThroughput
        ? undefined
        : tripRatio(calls, failures, slow, threshold, slowCall, `${calls} calls in the last ${seconds}`)
    },
    slowMillis: slowCall === undefined ? Infinity : slowCall.millis,
    options: { threshold, duration: Duration.millis(millis), minimumThroughput, slowCall }
  }
}

/** @internal */
export const isPolicy = (u: unknown): u is Policy =>
  typeof u === "object" && u !== null && "trip" in u && "record" in u &&
  ["Consecutive", "Count", "Sampling"].includes((u as Policy)._tag)

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

/** @internal After this many openings in a row the half-open delay stays the last one computed. */
const MAX_OPENINGS = 1024

/**
 * @internal `halfOpenAfter` as a function of k, the number of openings in a row (k >= 1):
 * a Duration is the same for every k; a Schedule's k-th delay (a pure strategy of ours is
 * stepped directly; any other Schedule through its `step`, synchronously, from time 0).
 * A schedule that ends keeps its last delay.
 */
const halfOpenDelays = (input: unknown): { readonly delay: (k: number) => number; readonly first: number } => {
  if (!Schedule.isSchedule(input)) {
    const millis = durationMillis("halfOpenAfter", input)
    return { delay: () => millis, first: millis }
  }
  const schedule = input as Schedule.Schedule<unknown, unknown, never>
  const plan = planOf(schedule)
  const pure = plan !== undefined && plan.strategy !== undefined && plan.jitter === undefined &&
    plan.maxTries === Infinity && plan.maxTime === Infinity && plan.onBackoff === undefined &&
    plan.onGiveup === undefined
  const cache: Array<number> = []
  let state: unknown = pure ? undefined : schedule.initial
  let now = 0
  let ended = false
  const stepOnce = (): number | undefined => {
    if (pure) {
      const step = plan.strategy!.next(state, undefined)
      if (step === undefined) return undefined
      state = step
      return step.wait
    }
    const [next, , decision] = Effect.runSync(schedule.step(now, undefined, state))
    if (effect.ScheduleDecision.isDone(decision)) return undefined
    state = next
    const wait = Math.max(0, effect.ScheduleIntervals.start(decision.intervals) - now)
    now += wait
    return wait
  }
  const extend = (k: number) => {
    while (!ended && cache.length < Math.min(k, MAX_OPENINGS)) {
      const wait = stepOnce()
      if (wait === undefined || !Number.isFinite(wait) || wait < 0) ended = true
      else cache.push(wait)
    }
  }
  try {
    extend(1)
  } catch (e) {
    throw invalid("halfOpenAfter", input, `a Duration or a wait Schedule that steps synchronously (${String(e)})`)
  }
  if (cache.length === 0) throw invalid("halfOpenAfter", input, "a wait Schedule with at least one delay")
  return {
    delay: (k) => {
      extend(k)
      return cache[Math.min(k, cache.length) - 1]!
    },
    first: cache[0]!
  }
}

/** @internal A breaker's options, validated (`CircuitBreaker.Settings`). */
export interface Settings {
  readonly name: string
  readonly policy: Policy
  /** The delay before half-open after the k-th opening in a row (k >= 1), in milliseconds. */
  readonly halfOpenAfter: (k: number) => number
  readonly probes: number
  /** Milliseconds; Infinity for none. */
  readonly probeTimeout: number
  readonly successThreshold: number
  /** The user's `isFailure`, or undefined for the default (every typed failure and defect). */
  readonly isFailure: ((error: unknown) => unknown) | undefined
}

/** @internal The option names of `make`. */
export const KEYS: ReadonlyArray<string> = [
  "policy",
  "halfOpenAfter",
  "probes",
  "probeTimeout",
  "successThreshold",
  "isFailure",
  "name"
]

/** @internal Validates a breaker's options; throws `InvalidOptionError` naming the option. */
export const resolve = (options: unknown, extra: ReadonlyArray<string> = []): Settings => {
  const o = optionsObject("CircuitBreaker options", options, [...KEYS, ...extra])
  const policy = o.policy === undefined ? consecutive(5) : o.policy
  if (!isPolicy(policy)) {
    throw invalid(
      "policy",
      policy,
      "CircuitBreaker.consecutive(n), CircuitBreaker.count({ ... }) or CircuitBreaker.sampling({ ... })"
    )
  }
  const halfOpenAfter = halfOpenDelays(o.halfOpenAfter === undefined ? "5 seconds" : o.halfOpenAfter)
  const probes = o.probes === undefined ? 1 : integer("probes", o.probes)
  const successThreshold = o.successThreshold === undefined ? probes : integer("successThreshold", o.successThreshold)
  const probeTimeout = o.probeTimeout === undefined ? Infinity : positiveMillis("probeTimeout", o.probeTimeout)
  if (o.isFailure !== undefined && typeof o.isFailure !== "function") {
    throw invalid("isFailure", o.isFailure, "a function (error) => boolean | Effect<boolean> | Promise<boolean>")
  }
  if (o.name !== undefined && (typeof o.name !== "string" || o.name === "")) {
    throw invalid("name", o.name, "a non-empty string")
  }
  return {
    name: (o.name as string | undefined) ?? "circuit-breaker",
    policy,
    halfOpenAfter: halfOpenAfter.delay,
    probes,
    probeTimeout,
    successThreshold,
    isFailure: o.isFailure as Settings["isFailure"]
  }
}

// ---------------------------------------------------------------------------
// State, events, decisions, step
// ---------------------------------------------------------------------------

/** @internal */
export type StateName = "closed" | "open" | "halfOpen" | "isolated"

/** @internal A breaker's whole state: plain JSON data. */
export interface State {
  readonly name: StateName
  /** +1 on every transition; an outcome from an older generation counts as nothing. */
  readonly generation: number
  /** When this state began (monotonic ms). */
  readonly since: number
  /** The policy's window (closed). */
  readonly window: unknown
  /** Openings in a row: halfOpenAfter's k. Cleared when the breaker closes. */
  readonly openings: number
  /** Open: when it may half-open (monotonic ms). */
  readonly openUntil: number
  /** Half-open: probes running. */
  readonly probes: number
  /** Half-open: probe successes so far. */
  readonly successes: number
}

/** @internal Why a breaker moved. */
export type Reason =
  | "tripped"
  | "halfOpenAfter"
  | "probesSucceeded"
  | "probeFailed"
  | "probeTimeout"
  | "isolate"
  | "reset"

/** @internal */
export interface Transition {
  readonly from: StateName
  readonly to: StateName
  readonly reason: Reason
  /** What happened, in words ("5 failures in a row"). */
  readonly detail: string
}

/** @internal */
export type OutcomeKind = "success" | "failure" | "timeout" | "interrupt"

/** @internal */
export type Event =
  | { readonly _tag: "Admit" }
  | { readonly _tag: "Tick" }
  | { readonly _tag: "Isolate" }
  | { readonly _tag: "Reset" }
  | {
    readonly _tag: "Outcome"
    readonly kind: OutcomeKind
    readonly generation: number
    readonly probe: boolean
    /** The call's duration in ms (slow calls). */
    readonly millis: number
  }

/** @internal */
export const ADMIT: Event = { _tag: "Admit" }
/** @internal */
export const TICK: Event = { _tag: "Tick" }
/** @internal */
export const ISOLATE: Event = { _tag: "Isolate" }
/** @internal */
export const RESET: Event = { _tag: "Reset" }

/** @internal */
export const outcome = (kind: OutcomeKind, generation: number, probe: boolean, millis: number): Event => ({
  _tag: "Outcome",
  kind,
  generation,
  probe,
  millis
})

/** @internal */
export type Decision =
  | { readonly _tag: "Admitted"; readonly probe: boolean }
  | { readonly _tag: "Rejected"; readonly retryAfter: number }
  | { readonly _tag: "Recorded" }

/** @internal */
export const ADMITTED_CALL: Decision = { _tag: "Admitted", probe: false }
/** @internal */
export const ADMITTED_PROBE: Decision = { _tag: "Admitted", probe: true }
/** @internal */
export const RECORDED: Decision = { _tag: "Recorded" }

/** @internal */
export interface StepResult {
  readonly state: State
  readonly decision: Decision
  readonly transition: Transition | undefined
}

/** @internal The closed breaker, as at `now`. */
export const initialState = (settings: Settings, now = 0): State => ({
  name: "closed",
  generation: 0,
  since: now,
  window: settings.policy.initial,
  openings: 0,
  openUntil: 0,
  probes: 0,
  successes: 0
})

/** @internal The pure step: the state after `event` at `now`, what to do, and the transition if any. */
export type Step = (state: State, event: Event, now: number) => StepResult

/** @internal The breaker's rules, as one pure function of its settings. */
export const machine = (settings: Settings): Step => {
  const policy = settings.policy
  const move = (state: State, to: StateName, now: number, fields: Partial<State>) => ({
    ...state,
    probes: 0,
    successes: 0,
    ...fields,
    name: to,
    generation: state.generation + 1,
    since: now
  })
  const open = (state: State, now: number, reason: Reason, detail: string, decision: Decision): StepResult => {
    const openings = state.openings + 1
    const delay = settings.halfOpenAfter(openings)
    return {
      state: move(state, "open", now, { openings, openUntil: now + delay, window: policy.initial }),
      decision,
      transition: { from: state.name, to: "open", reason, detail }
    }
  }
  const halfOpen = (state: State, now: number): State => move(state, "halfOpen", now, {})
  const halfOpened = (state: State, now: number): Transition => ({
    from: state.name,
    to: "halfOpen",
    reason: "halfOpenAfter",
    detail: `${Duration.format(Duration.millis(now - state.since))} after opening`
  })
  const nothing = (state: State, decision: Decision): StepResult => ({ state, decision, transition: undefined })

  return (state, event, now) => {
    switch (event._tag) {
      case "Admit": {
        switch (state.name) {
          case "closed":
            return nothing(state, ADMITTED_CALL)
          case "open": {
            if (now < state.openUntil) return nothing(state, { _tag: "Rejected", retryAfter: state.openUntil - now })
            const next = halfOpen(state, now)
            return { state: { ...next, probes: 1 }, decision: ADMITTED_PROBE, transition: halfOpened(state, now) }
          }
          case "halfOpen":
            return state.probes < settings.probes
              ? nothing({ ...state, probes: state.probes + 1 }, ADMITTED_PROBE)
              : nothing(state, { _tag: "Rejected", retryAfter: 0 })
          case "isolated":
            return nothing(state, { _tag: "Rejected", retryAfter: Infinity })
        }
        break
      }
      case "Tick": {
        if (state.name === "open" && now >= state.openUntil) {
          return { state: halfOpen(state, now), decision: RECORDED, transition: halfOpened(state, now) }
        }
        return nothing(state, RECORDED)
      }
      case "Isolate":
        return state.name === "isolated" ? nothing(state, RECORDED) : {
          state: move(state, "isolated", now, { window: policy.initial, openUntil: 0 }),
          decision: RECORDED,
          transition: { from: state.name, to: "isolated", reason: "isolate", detail: "isolated by hand" }
        }
      case "Reset": {
        const fresh: State = {
          ...initialState(settings, now),
          generation: state.generation + 1
        }
        return {
          state: fresh,
          decision: RECORDED,
          transition: state.name === "closed"
            ? undefined
            : { from: state.name, to: "closed", reason: "reset", detail: "reset by hand" }
        }
      }
      case "Outcome": {
        // an outcome from before the last transition (or an interruption) counts as nothing
        if (event.generation !== state.generation) return nothing(state, RECORDED)
        if (state.name === "closed") {
          if (event.probe || event.kind === "interrupt") return nothing(state, RECORDED)
          const code = ((event.kind === "success" ? 0 : FAILURE) |
            (event.millis > policy.slowMillis ? SLOW : 0)) as Outcome
          const window = policy.record(state.window, code, now)
          const tripped = (code & (FAILURE | SLOW)) !== 0 || policy._tag !== "Consecutive"
            ? policy.trip(window, now)
            : undefined
          if (tripped !== undefined) return open(state, now, "tripped", tripped, RECORDED)
          return nothing(window === state.window ? state : { ...state, window }, RECORDED)
        }
        if (state.name !== "halfOpen" || !event.probe) return nothing(state, RECORDED)
        switch (event.kind) {
          case "interrupt":
            return nothing({ ...state, probes: Math.max(0, state.probes - 1) }, RECORDED)
          case "timeout":
            return open(state, now, "probeTimeout", "a probe timed out", RECORDED)
          case "failure":
            return open(state, now, "probeFailed", "a probe failed", RECORDED)
          case "success": {
            if (event.millis > policy.slowMillis) {
              return open(state, now, "probeFailed", "a probe was slow", RECORDED)
            }
            const successes = state.successes + 1
            if (successes >= settings.successThreshold) {
              return {
                state: move(state, "closed", now, { window: policy.initial, openings: 0, openUntil: 0 }),
                decision: RECORDED,
                transition: {
                  from: "halfOpen",
                  to: "closed",
                  reason: "probesSucceeded",
                  detail: `${successes} probe${successes === 1 ? "" : "s"} succeeded`
                }
              }
            }
            return nothing({ ...state, probes: Math.max(0, state.probes - 1), successes }, RECORDED)
          }
        }
      }
    }
    return nothing(state, RECORDED)
  }
}

// ---------------------------------------------------------------------------
// The in-memory breaker: one State in one cell, stepped synchronously
// ---------------------------------------------------------------------------

/** @internal */
export const TypeId: unique symbol = Symbol.for("@effect-backoff/core/CircuitBreaker")
/** @internal */
export type TypeId = typeof TypeId
/** @internal */
export const KeyedTypeId: unique symbol = Symbol.for("@effect-backoff/core/CircuitBreaker/Keyed")
/** @internal */
export type KeyedTypeId = typeof KeyedTypeId

/**
 * @internal A call the breaker did not let through: the effect was not run. `retryAfter`
 * is the time until the breaker half-opens (zero while half-open with every probe slot
 * taken, infinite while isolated); `key` names the breaker.
 */
export class OpenError extends Data.TaggedError("OpenError")<{
  readonly key: string
  readonly retryAfter: Duration.Duration
  readonly state: StateName
}> {
  override get message(): string {
    const after = Duration.isFinite(this.retryAfter) ? `retry after ${Duration.format(this.retryAfter)}` : "until reset"
    return `circuit breaker ${this.key} is ${this.state}: ${after}`
  }
}

// the stack of a rejection says nothing (the breaker made it, not the caller's code) and
// capturing one would cost a rejection more than everything else it does
const openError = (key: string, retryAfter: number, state: StateName): OpenError => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new OpenError({
      key,
      retryAfter: retryAfter === Infinity ? Duration.infinity : Duration.millis(retryAfter),
      state
    })
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** @internal A transition as `changes` shows it. */
export interface Change extends Transition {
  readonly key: string
  /** The Clock's time of the transition (epoch milliseconds). */
  readonly at: number
}

/** @internal The breaker's state gauge: closed 0, half-open 1, open 2, isolated 3, tagged by breaker. */
export const stateGauge = Metric.gauge("circuit_breaker_state", {
  description: "A circuit breaker's state: closed 0, half-open 1, open 2, isolated 3; tagged by breaker"
})

/** @internal Calls rejected without running, tagged by breaker. */
export const rejections = Metric.counter("circuit_breaker_rejections_total", {
  description: "Calls a circuit breaker rejected without running them, tagged by breaker",
  incremental: true
})

/** @internal Transitions, tagged by breaker, from and to. */
export const transitions = Metric.counter("circuit_breaker_transitions_total", {
  description: "Circuit breaker transitions, tagged by breaker, from and to",
  incremental: true
})

const STATE_VALUES: Record<StateName, number> = { closed: 0, halfOpen: 1, open: 2, isolated: 3 }

/** Monotonic milliseconds, as the retry loop reads them. */
const monotonic = (clock: Clock.Clock): number => Number(clock.unsafeCurrentTimeNanos()) / 1e6

const TIMED_OUT: unique symbol = Symbol("@effect-backoff/core/CircuitBreaker/timedOut")

/** @internal What the breaker said to one call. */
export type Ticket =
  | { readonly admitted: true; readonly probe: boolean; readonly generation: number; readonly start: number }
  | { readonly admitted: false; readonly error: OpenError; readonly retryAfter: number }

/** @internal A value-outcome classifier (HTTP: a 503 response is a failure to the breaker). */
export type ValueFails = (value: any) => boolean | Effect.Effect<boolean, never, unknown>

/** @internal The in-memory breaker. */
export class Breaker implements CircuitBreaker {
  readonly [TypeId]: TypeId = TypeId
  /** The machine's state (plain data), stepped synchronously. */
  cell: State
  private readonly step: Step
  private readonly needsTime: boolean
  private readonly gauge: Metric.Metric.Gauge<number>
  private readonly rejected: Metric.Metric.Counter<number>

  constructor(
    readonly settings: Settings,
    readonly key: string,
    private readonly pubsub: PubSub.PubSub<Change>,
    now: number
  ) {
    this.step = machine(settings)
    this.cell = initialState(settings, now)
    this.needsTime = settings.policy._tag !== "Consecutive" || settings.policy.slowMillis !== Infinity
    this.gauge = Metric.tagged(stateGauge, "breaker", key)
    this.rejected = Metric.tagged(rejections, "breaker", key)
    this.gauge.unsafeUpdate(0, [])
  }

  /** The transition's sync side (changes, metrics) now; its log line and span event as the returned Effect. */
  private announce(t: Transition, clock: Clock.Clock): Effect.Effect<void> {
    const at = clock.unsafeCurrentTimeMillis()
    this.pubsub.unsafeOffer({ ...t, key: this.key, at })
    this.gauge.unsafeUpdate(STATE_VALUES[t.to], [])
    Metric.tagged(Metric.tagged(Metric.tagged(transitions, "breaker", this.key), "from", t.from), "to", t.to)
      .unsafeUpdate(1, [])
    const level = t.to === "open" || t.to === "isolated" ? LogLevel.Warning : LogLevel.Info
    const log = Effect.logWithLevel(level, `Circuit breaker ${this.key}: ${t.from} -> ${t.to} (${t.detail})`).pipe(
      Effect.annotateLogs({
        "circuitBreaker.key": this.key,
        "circuitBreaker.from": t.from,
        "circuitBreaker.to": t.to,
        "circuitBreaker.reason": t.reason
      })
    )
    const event = Effect.flatMap(
      Effect.option(Effect.currentSpan),
      (span) =>
        Option.isNone(span) ?
          Effect.void :
          Effect.sync(() =>
            span.value.event("circuitBreaker.transition", BigInt(Math.round(at)) * 1_000_000n, {
              "circuitBreaker.key": this.key,
              "circuitBreaker.from": t.from,
              "circuitBreaker.to": t.to,
              "circuitBreaker.reason": t.reason
            })
          )
    )
    return Effect.zipRight(log, event)
  }

  private apply(
    event: Event,
    now: number,
    clock: Clock.Clock
  ): StepResult & { readonly announce?: Effect.Effect<void> } {
    const r = this.step(this.cell, event, now)
    this.cell = r.state
    return r.transition === undefined ? r : { ...r, announce: this.announce(r.transition, clock) }
  }

  /** The ticket of calls admitted in the closed state of the current generation (the success path allocates none). */
  private closedTicket: (Ticket & { admitted: true }) | undefined

  /**
   * @internal Asks to start a call, synchronously: no Effect step, no timer, no fiber.
   * Closed, with a policy that needs no time, it needs no clock (the answer `step` would
   * give, without calling it); otherwise without a clock it answers undefined.
   */
  unsafeAdmit(
    clock: Clock.Clock | undefined
  ): { readonly ticket: Ticket; readonly announce: Effect.Effect<void> | undefined } | undefined {
    const cell = this.cell
    if (cell.name === "closed" && !this.needsTime) {
      let ticket = this.closedTicket
      if (ticket === undefined || ticket.generation !== cell.generation) {
        ticket = this.closedTicket = { admitted: true, probe: false, generation: cell.generation, start: 0 }
      }
      return { ticket, announce: undefined }
    }
    if (clock === undefined) return undefined
    const now = monotonic(clock)
    const r = this.apply(ADMIT, now, clock)
    const d = r.decision
    if (d._tag === "Rejected") {
      this.rejected.unsafeUpdate(1, [])
      return {
        ticket: { admitted: false, error: openError(this.key, d.retryAfter, r.state.name), retryAfter: d.retryAfter },
        announce: r.announce
      }
    }
    const probe = d._tag === "Admitted" && d.probe
    return { ticket: { admitted: true, probe, generation: r.state.generation, start: now }, announce: r.announce }
  }

  /**
   * Reports an admitted call's end; returns the transition's log line, if any. A success
   * of a closed call under a policy that needs no time, with nothing counted, changes
   * nothing (`step` would return the same state): no clock, no step.
   */
  private report(
    kind: OutcomeKind,
    ticket: Ticket & { admitted: true },
    clock: Clock.Clock | undefined
  ): Effect.Effect<void> | undefined {
    if (kind === "success" && !ticket.probe && !this.needsTime) {
      const cell = this.cell
      if (cell.window === this.settings.policy.initial || cell.generation !== ticket.generation) return undefined
      return this.apply(outcome(kind, ticket.generation, false, 0), cell.since, clock!).announce
    }
    if (clock === undefined) return Effect.clockWith((c) => this.report(kind, ticket, c) ?? Effect.void)
    const now = monotonic(clock)
    // a closed call admitted without a clock has no start: its duration is not needed
    const millis = ticket.probe || this.needsTime ? now - ticket.start : 0
    return this.apply(outcome(kind, ticket.generation, ticket.probe, millis), now, clock).announce
  }

  private classify(cause: Cause.Cause<unknown>): OutcomeKind | Effect.Effect<OutcomeKind, never, unknown> {
    if (Cause.isInterruptedOnly(cause)) return "interrupt"
    const failure = Cause.failureOption(cause)
    const isFailure = this.settings.isFailure
    if (Option.isNone(failure) || isFailure === undefined) return "failure"
    const answer = callbacks.verdict(isFailure, failure.value)
    return typeof answer === "boolean"
      ? (answer ? "failure" : "success")
      : Effect.map(answer, (yes): OutcomeKind => yes ? "failure" : "success")
  }

  /** What an admitted call's failure does: report it (typed, defect or interruption), then fail the same way. */
  private failureHandler(ticket: Ticket & { admitted: true }, clock: Clock.Clock | undefined) {
    const ended = (kind: OutcomeKind, cause: Cause.Cause<unknown>) => {
      const announce = this.report(kind, ticket, clock)
      return announce === undefined ? Effect.failCause(cause) : Effect.zipRight(announce, Effect.failCause(cause))
    }
    return (cause: Cause.Cause<any>): Effect.Effect<never, any, any> => {
      const kind = this.classify(cause)
      return typeof kind === "string" ? ended(kind, cause) : Effect.flatMap(kind, (k) => ended(k, cause))
    }
  }

  private fast: { readonly generation: number; readonly admission: Admission } | undefined

  /**
   * @internal The loop's admission on the success path, made once per generation: closed
   * under `consecutive` with no failure counted, a success would change nothing, so the
   * call is admitted with no step and observed for failures only (one failure frame).
   * Undefined when that does not hold.
   */
  fastAdmission(): Admission | undefined {
    const cell = this.cell
    if (cell.name !== "closed" || this.needsTime || cell.window !== this.settings.policy.initial) return undefined
    const cached = this.fast
    if (cached !== undefined && cached.generation === cell.generation) return cached.admission
    const ticket = { admitted: true, probe: false, generation: cell.generation, start: 0 } as const
    const onFailure = this.failureHandler(ticket, undefined)
    const admission: Admission = {
      admitted: true,
      observe: (effect) => Effect.catchAllCause(effect, onFailure),
      announce: undefined
    }
    this.fast = { generation: cell.generation, admission }
    return admission
  }

  /** @internal Runs an admitted call and reports how it ended. */
  observe<A, E, R>(
    self: Effect.Effect<A, E, R>,
    ticket: Ticket & { admitted: true },
    clock: Clock.Clock | undefined,
    valueFails?: ValueFails
  ): Effect.Effect<A, E | OpenError, R> {
    const ended = (kind: OutcomeKind, then: Effect.Effect<any, any, any>) => {
      const announce = this.report(kind, ticket, clock)
      return announce === undefined ? then : Effect.zipRight(announce, then)
    }
    const onFailure = this.failureHandler(ticket, clock)
    const onSuccess = (a: A) => {
      if (valueFails === undefined) return ended("success", Effect.succeed(a))
      const answer = valueFails(a)
      return typeof answer === "boolean"
        ? ended(answer ? "failure" : "success", Effect.succeed(a))
        : Effect.flatMap(answer, (yes) => ended(yes ? "failure" : "success", Effect.succeed(a)))
    }
    if (!ticket.probe) {
      // closed under `consecutive` with no failure counted: a success would change nothing,
      // so only failures are looked at (one failure frame on the success path, no step)
      if (valueFails === undefined && !this.needsTime && this.cell.window === this.settings.policy.initial) {
        return Effect.catchAllCause(self, onFailure)
      }
      return Effect.matchCauseEffect(self, { onFailure, onSuccess }) as any
    }
    // a probe reports even when interrupted (its slot is freed), and may be timed out
    const timeout = this.settings.probeTimeout
    return Effect.uninterruptibleMask((restore) => {
      const body = timeout === Infinity
        ? restore(self)
        : restore(Effect.timeoutTo(self, {
          duration: Duration.millis(timeout),
          onSuccess: (a): A | typeof TIMED_OUT => a,
          onTimeout: (): A | typeof TIMED_OUT => TIMED_OUT
        }))
      return Effect.matchCauseEffect(body, {
        onFailure,
        onSuccess: (a) => {
          if (a !== TIMED_OUT) return onSuccess(a as A)
          const announce = this.report("timeout", ticket, clock!)
          const retryAfter = Math.max(0, this.cell.openUntil - monotonic(clock!))
          const fail = Effect.fail(openError(this.key, retryAfter, this.cell.name))
          return announce === undefined ? fail : Effect.zipRight(announce, fail)
        }
      })
    }) as any
  }

  /** @internal `breaker.execute(effect)`. */
  execute<A, E, R>(self: Effect.Effect<A, E, R>, valueFails?: ValueFails): Effect.Effect<A, E | OpenError, R> {
    return Effect.clockWith((clock) => {
      const { announce, ticket } = this.unsafeAdmit(clock)!
      const run = ticket.admitted ? this.observe(self, ticket, clock, valueFails) : Effect.fail(ticket.error)
      return announce === undefined ? run : Effect.zipRight(announce, run)
    })
  }

  private event(event: Event): Effect.Effect<StateName> {
    return Effect.clockWith((clock) => {
      const r = this.apply(event, monotonic(clock), clock)
      return r.announce === undefined ? Effect.succeed(r.state.name) : Effect.as(r.announce, r.state.name)
    })
  }

  /** @internal The state now (an open breaker whose wait is over reads, and becomes, half-open). */
  get state(): Effect.Effect<StateName> {
    return this.event(TICK)
  }

  get isolate(): Effect.Effect<void> {
    return Effect.asVoid(this.event(ISOLATE))
  }

  get reset(): Effect.Effect<void> {
    return Effect.asVoid(this.event(RESET))
  }

  get changes(): Stream.Stream<Change> {
    return Stream.filter(Stream.fromPubSub(this.pubsub), (c) => c.key === this.key)
  }
}

/** @internal A breaker as users see it. */
export interface CircuitBreaker {
  readonly [TypeId]: TypeId
  readonly key: string
  readonly settings: Settings
  readonly state: Effect.Effect<StateName>
  readonly changes: Stream.Stream<Change>
  readonly isolate: Effect.Effect<void>
  readonly reset: Effect.Effect<void>
  execute<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OpenError, R>
}

/** @internal One breaker per key, as users see it. */
export interface KeyedBreaker {
  readonly [KeyedTypeId]: KeyedTypeId
  readonly settings: Settings
  readonly capacity: number
  get(key: string): Effect.Effect<CircuitBreaker>
  execute<A, E, R>(key: string, self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OpenError, R>
  readonly keys: Effect.Effect<ReadonlyArray<string>>
  readonly changes: Stream.Stream<Change>
}

/** @internal */
export const isCircuitBreaker = (u: unknown): u is Breaker => u instanceof Breaker

/** @internal */
export const make = (options?: unknown): Effect.Effect<Breaker> => {
  const settings = resolve(options)
  return Effect.flatMap(
    PubSub.unbounded<Change>(),
    (pubsub) =>
      Effect.clockWith((clock) => Effect.sync(() => new Breaker(settings, settings.name, pubsub, monotonic(clock))))
  )
}

/** @internal One breaker per key, at most `capacity` of them (least recently used out). */
export class Keyed implements KeyedBreaker {
  readonly [KeyedTypeId]: KeyedTypeId = KeyedTypeId
  private readonly breakers = new Map<string, Breaker>()

  constructor(readonly settings: Settings, readonly capacity: number, private readonly pubsub: PubSub.PubSub<Change>) {}

  /** @internal The breaker of `key`, made on first use; the least recently used one goes past `capacity`. */
  unsafeGet(key: string, clock: Clock.Clock): Breaker {
    const found = this.breakers.get(key)
    if (found !== undefined) {
      this.breakers.delete(key)
      this.breakers.set(key, found)
      return found
    }
    const made = new Breaker(this.settings, key, this.pubsub, monotonic(clock))
    this.breakers.set(key, made)
    if (this.breakers.size > this.capacity) this.breakers.delete(this.breakers.keys().next().value!)
    return made
  }

  get(key: string): Effect.Effect<Breaker> {
    return Effect.clockWith((clock) => Effect.succeed(this.unsafeGet(key, clock)))
  }

  execute<A, E, R>(key: string, self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OpenError, R> {
    return Effect.clockWith((clock) => this.unsafeGet(key, clock).execute(self))
  }

  /** The keys held now, least recently used first. */
  get keys(): Effect.Effect<ReadonlyArray<string>> {
    return Effect.sync(() => [...this.breakers.keys()])
  }

  get changes(): Stream.Stream<Change> {
    return Stream.fromPubSub(this.pubsub)
  }
}

/** @internal */
export const isKeyed = (u: unknown): u is Keyed => u instanceof Keyed

/** @internal */
export const keyed = (options: unknown, keyedOptions: unknown): Effect.Effect<Keyed> => {
  const settings = resolve(options)
  const k = optionsObject("keyed", keyedOptions, ["capacity"])
  if (k.capacity === undefined) throw invalid("keyed.capacity", undefined, "an integer >= 1 (how many keys to hold)")
  const capacity = integer("keyed.capacity", k.capacity)
  return Effect.map(PubSub.unbounded<Change>(), (pubsub) => new Keyed(settings, capacity, pubsub))
}

/** @internal */
export const tag: Context.Tag<CircuitBreaker, CircuitBreaker> = Context.GenericTag<CircuitBreaker>(
  "@effect-backoff/core/CircuitBreaker"
)

/** @internal */
export const layer = (options?: unknown): Layer.Layer<CircuitBreaker> => Layer.effect(tag, make(options))

const checkBreaker = (breaker: unknown): Breaker => {
  if (isCircuitBreaker(breaker)) return breaker
  throw invalid("breaker", breaker, "a CircuitBreaker (from CircuitBreaker.make)")
}

/** @internal `CircuitBreaker.protect`: dual, `protect(effect, breaker)` and `effect.pipe(protect(breaker))`. */
export const protect = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, breaker: unknown): Effect.Effect<A, E | OpenError, R> =>
    checkBreaker(breaker).execute(self)
)

// ---------------------------------------------------------------------------
// The `breaker` option of the retry entry points: an attempt guard for the loop
// ---------------------------------------------------------------------------

/** @internal The loop's guard over a breaker, or a keyed breaker (the key from the run). */
export const guardOf = (
  breaker: Breaker | Keyed,
  keyOf: (run: Run) => string,
  valueFails?: ValueFails
): AttemptGuard => ({
  admit: (run, clock): Admission | undefined => {
    // a keyed breaker makes a new key's breaker on the clock's time
    if (breaker instanceof Keyed && clock === undefined) return undefined
    const b = breaker instanceof Keyed ? breaker.unsafeGet(keyOf(run), clock!) : breaker
    if (valueFails === undefined) {
      const fast = b.fastAdmission()
      if (fast !== undefined) return fast
    }
    const answer = b.unsafeAdmit(clock)
    if (answer === undefined) return undefined
    const { announce, ticket } = answer
    if (!ticket.admitted) return { admitted: false, error: ticket.error, wait: ticket.retryAfter, announce }
    return { admitted: true, observe: (effect) => b.observe(effect, ticket, clock, valueFails), announce }
  }
})

/** @internal The key of a run for a keyed breaker on the Backoff entry points: its target. */
export const targetKey = (run: Run): string => run.target

/**
 * @internal The `breaker` option: `true` (the `CircuitBreaker` in context), a breaker or a
 * keyed breaker, or nothing.
 */
export const guardOption = (
  input: unknown,
  keyOf: (run: Run) => string = targetKey,
  valueFails?: ValueFails
): AttemptGuard | Effect.Effect<AttemptGuard, never, CircuitBreaker> | undefined => {
  if (input === undefined || input === false) return undefined
  if (input === true) return Effect.map(tag, (b) => guardOf(checkBreaker(b), keyOf, valueFails))
  if (isCircuitBreaker(input) || isKeyed(input)) return guardOf(input, keyOf, valueFails)
  throw invalid(
    "breaker",
    input,
    "true (the CircuitBreaker in context), a CircuitBreaker (CircuitBreaker.make) or a keyed one (CircuitBreaker.keyed)"
  )
}
