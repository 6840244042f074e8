import { Duration, Effect, Schedule } from "effect"
// modules Effect 4 removed go through the namespace: a named import would fail at link time,
// before effectVersion.ts could name the versions needed
import * as effect from "effect"
import type { Clock, FiberRef, ScheduleDecision } from "effect"
import * as callbacks from "./callbacks.js"
import { durationMillis, invalid, MAX_WAIT_MILLIS } from "./validate.js"

/**
 * @internal One step of a wait strategy. Steps are immutable: a strategy returns the
 * previous step itself where nothing changes (a capped value, a constant), so most
 * steps allocate nothing.
 */
export interface Step {
  /** The wait before jitter, in milliseconds: finite and >= 0. */
  readonly wait: number
}

/**
 * @internal A pure wait strategy: the next step from the previous one (`undefined`
 * before the first) and the schedule's input; `undefined` when the strategy has ended.
 * Kept apart from Effect so the retry loop can step it without building an Effect per
 * attempt (tenacity's separation: the loop only asks the strategy for the next wait).
 */
export interface Strategy<In = unknown> {
  readonly next: (previous: any, input: In) => Step | undefined
}

/**
 * @internal A jitter as users may write one: from the strategy's wait to the wait slept,
 * as a `Duration`, any `DurationInput`, or an Effect of one. (The public `Jitter` type is
 * this one; it lives in internal code so no internal file imports a public module.)
 */
export type JitterFunction = (
  wait: Duration.Duration
) => Duration.DurationInput | Effect.Effect<Duration.DurationInput, never, never>

const ZeroPreservingId: unique symbol = Symbol.for("@effect-backoff/core/Jitter/zeroPreserving")

/** @internal Marks a jitter that maps a zero wait to zero: only for these may the call be skipped. */
export const zeroPreserving = <F extends JitterFunction>(jitter: F): F =>
  Object.defineProperty(jitter, ZeroPreservingId, { value: true })

const badJitter = (value: unknown) =>
  invalid("jitter", value, "a finite, non-negative duration (a Duration, a DurationInput or an Effect of one)")

const jitteredMillis = (value: unknown): number => {
  try {
    return durationMillis("jitter", value)
  } catch {
    throw badJitter(value)
  }
}

// jitter never pushes a delay past the timer limit, but never shortens a longer wait either
const jitterLimit = (wait: number) => Math.max(wait, MAX_WAIT_MILLIS)

/**
 * @internal The jittered wait in milliseconds. Jitter runs on every wait, zero included
 * (python-backoff's rule: `Jitter.random` of 0 is a random 0–1 s), except for jitters
 * marked `zeroPreserving`. A result that is not a finite, non-negative duration is a
 * defect carrying an `InvalidOptionError` naming `jitter`: never a zero-delay storm.
 */
export const jitterWait = (jitter: JitterFunction | undefined, wait: number): Effect.Effect<number> => {
  if (jitter === undefined || (wait === 0 && ZeroPreservingId in jitter)) return Effect.succeed(wait)
  return Effect.suspend(() => {
    const drawn = jitter(Duration.millis(wait))
    if (Effect.isEffect(drawn)) {
      return Effect.flatMap(drawn, (value) => Effect.sync(() => Math.min(jitteredMillis(value), jitterLimit(wait))))
    }
    return Effect.sync(() => Math.min(jitteredMillis(drawn), jitterLimit(wait)))
  })
}

/**
 * @internal Why a run gave up: its `giveup`/`while` said so, `maxTries` or `maxTime` was
 * reached, the strategy ran out (a finite interval list, a schedule that ended), or the
 * retry budget had no token left, or a circuit breaker rejected the attempt and its
 * `retryAfter` did not fit in what is left of `maxTime`.
 */
export type GiveupReason = "giveup" | "maxTries" | "maxTime" | "exhausted" | "budget" | "circuitOpen"

/** @internal A tap (`Backoff.tapBackoff` / `tapGiveup`) and the details key its input goes under. */
export interface Tap {
  readonly handler: callbacks.AnyHandler
  /** Under Effect's own driver: where the schedule's input goes in the details. */
  readonly key: "exception" | "value"
}

/**
 * @internal What a policy Schedule built by this library carries, so the retry loop can
 * step it as plain numbers instead of through `Schedule.step` (the fast path). The
 * schedule's own `step` (used by `Effect.retry`, `Stream.retry`, Effect's combinators)
 * follows exactly the same rules, written once below.
 *
 * The rules, in order, after a retryable outcome: `tries >= maxTries` → `elapsed >=
 * maxTime` → the wait strategy ends → the retry budget → jitter → the sleep clamped to what is left of
 * `maxTime` → the backoff taps → sleep.
 */
export interface Plan {
  /** The pure wait strategy (fast), or undefined when `base` is a schedule stepped through its Effect `step`. */
  readonly strategy: Strategy<any> | undefined
  readonly base: Schedule.Schedule<unknown, any, any> | undefined
  /** The jitter to apply, or undefined for none. */
  readonly jitter: JitterFunction | undefined
  /** A jitter of ours was applied (even `Jitter.none`): the `jitter` option must not add another. */
  readonly jittered: boolean
  readonly maxTries: number
  readonly maxTime: number
  readonly onBackoff: ReadonlyArray<Tap> | undefined
  readonly onGiveup: ReadonlyArray<Tap> | undefined
  /** `RetryBudget.limit`: a token per retry, withdrawn after the strategy and before jitter. */
  readonly budget: PlanBudget | undefined
}

/** @internal The retry budget of a plan (`RetryBudget.limit`), as the loop and the step withdraw from it. */
export interface PlanBudget {
  /** The budget given, or undefined for the `RetryBudget` in context (the loop withdraws once per budget). */
  readonly source: unknown
  readonly tryWithdraw: Effect.Effect<boolean, never, any>
  /** The synchronous withdrawal of an in-memory budget given by value. */
  readonly unsafeTryWithdraw: ((clock: Clock.Clock) => boolean) | undefined
}

/** @internal */
export const PlanTypeId: unique symbol = Symbol.for("@effect-backoff/core/Plan")

/** @internal A Schedule that carries its plan. */
export interface PlanSchedule<In = unknown> extends Schedule.Schedule<Duration.Duration, In> {
  readonly [PlanTypeId]: Plan
}

/** @internal The plan a schedule of ours carries, if any. */
export const planOf = (schedule: unknown): Plan | undefined =>
  typeof schedule === "object" && schedule !== null ? (schedule as Partial<PlanSchedule>)[PlanTypeId] : undefined

// Schedule.isSchedule narrows to Schedule<unknown, never, unknown>, which accepts no input
/** @internal */
export const isAnySchedule = (u: unknown): u is Schedule.Schedule<unknown, any, any> => Schedule.isSchedule(u)

// ---------------------------------------------------------------------------
// The rules (one place each; the loop and the schedule's step both call these)
// ---------------------------------------------------------------------------

/** @internal `maxTries` and `maxTime`, checked after call number `tries` ended at `elapsed`. */
export const limitReached = (
  plan: Plan,
  tries: number,
  elapsed: number,
  spent: boolean
): "maxTries" | "maxTime" | undefined =>
  tries >= plan.maxTries ? "maxTries" : elapsed >= plan.maxTime || spent ? "maxTime" : undefined

/**
 * @internal Python's `max_time` clamp: the sleep is cut to what is left of the budget, and
 * a clamped sleep ends exactly on it. The caller marks the budget spent when the returned
 * sleep is `maxTime - elapsed` (`isClamped`), so the next failure gives up whatever the
 * clock's rounding says: rounding can never yield a run of empty sleeps.
 */
export const clampToBudget = (maxTime: number, elapsed: number, sleep: number): number => {
  const s = sleep > MAX_WAIT_MILLIS ? MAX_WAIT_MILLIS : sleep >= 0 ? sleep : 0
  const remaining = maxTime - elapsed
  return s >= remaining ? remaining : s
}

/** @internal The sleep `clampToBudget` returned used up the budget. */
export const isClamped = (maxTime: number, elapsed: number, sleep: number): boolean =>
  maxTime !== Infinity && sleep >= maxTime - elapsed

/** @internal The delay a schedule's decision asks for, from `now` (never negative). */
export const delayOf = (decision: ScheduleDecision.Continue, now: number): number =>
  Math.max(0, effect.ScheduleIntervals.start(decision.intervals) - now)

/** @internal The next wait of the plan's strategy (before jitter), or undefined when it has ended. */
export const nextWait = (
  plan: Plan,
  now: number,
  input: unknown,
  state: unknown
):
  | Effect.Effect<readonly [state: unknown, wait: number] | undefined, never, any>
  | (readonly [unknown, number])
  | undefined =>
{
  if (plan.strategy !== undefined) {
    const step: Step | undefined = plan.strategy.next(state, input)
    return step === undefined ? undefined : [step, step.wait] as const
  }
  return Effect.map(
    plan.base!.step(now, input, state),
    ([next, _out, decision]) =>
      effect.ScheduleDecision.isDone(decision)
        ? undefined
        : [next, delayOf(decision, now)] as const
  )
}

/** @internal The state a run of the plan starts from. */
export const initialState = (plan: Plan): unknown => plan.strategy === undefined ? plan.base!.initial : undefined

// ---------------------------------------------------------------------------
// Where the decision is known: taps inside a composed schedule
// ---------------------------------------------------------------------------

/**
 * @internal What one plan stepped inside a composed schedule decided: a backoff (`wait`) or
 * a give-up (`reason`). Its taps wait for the final decision, since a combinator around it
 * (`Schedule.intersect(policy, Schedule.recurs(1))`) may still end the schedule, and a tap
 * must never report a backoff that does not happen.
 */
export interface Held {
  readonly plan: Plan
  readonly tries: number
  readonly elapsed: number
  readonly input: unknown
  readonly wait: Duration.Duration | undefined
  readonly reason: GiveupReason | undefined
}

/**
 * @internal The decision point: the retry loop, or the outermost schedule of ours under
 * Effect's driver. While it steps a composed schedule, the plans inside hold their events
 * here instead of running their taps, and count `maxTime` from its `start` (the loop's is
 * the start of the first call).
 */
export interface Decision {
  /** The run's start, in the time base of the `now` handed to `step`. */
  readonly start: number
  readonly held: Array<Held>
}

/** @internal The decision point of the step running now, if any. */
export const decisionRef: FiberRef.FiberRef<Decision | undefined> = effect.GlobalValue.globalValue(
  Symbol.for("@effect-backoff/core/Plan/decision"),
  () => effect.FiberRef.unsafeMake<Decision | undefined>(undefined)
)

/** @internal The reason a composed schedule ended: the first plan inside that gave up says why. */
export const heldReason = (held: ReadonlyArray<Held>): GiveupReason => {
  for (const h of held) if (h.reason !== undefined) return h.reason
  return "exhausted"
}

/**
 * @internal The taps of held events once the decision is known: on a retry the backoff taps
 * of the plans that wanted one; on a give-up every plan's give-up taps, with its own reason
 * or the run's. `details` builds a tap's details (the loop's, or Effect's driver's).
 */
export const settleHeld = (
  held: ReadonlyArray<Held>,
  giveup: GiveupReason | undefined,
  details: (h: Held, tap: Tap, reason: GiveupReason | undefined) => Record<string, unknown>
): Effect.Effect<void, never, unknown> | undefined => {
  let effect: Effect.Effect<void, never, unknown> | undefined
  for (const h of held) {
    const taps = giveup === undefined ? (h.reason === undefined ? h.plan.onBackoff : undefined) : h.plan.onGiveup
    if (taps === undefined) continue
    const reason = giveup === undefined ? undefined : h.reason ?? giveup
    for (const tap of taps) {
      const call = Effect.suspend(() => callbacks.callHandler(tap.handler, details(h, tap, reason)))
      effect = effect === undefined ? call : Effect.zipRight(effect, call)
    }
  }
  return effect
}

/** @internal The plans seen in the last step, as give-ups at `tries`: a give-up decided before stepping them. */
export const seenAsGiveups = (
  seen: ReadonlyArray<Plan> | undefined,
  tries: number,
  elapsed: number,
  input: unknown
): Array<Held> =>
  seen === undefined ? [] : seen.map((plan) => ({ plan, tries, elapsed, input, wait: undefined, reason: undefined }))

/**
 * @internal Steps the plan's base schedule (not its pure strategy) as the `decision` point:
 * the plans inside hold their events in `decision.held`.
 */
export const stepBase = (
  plan: Plan,
  now: number,
  input: unknown,
  state: unknown,
  decision: Decision
): Effect.Effect<readonly [state: unknown, wait: number] | undefined, never, any> =>
  Effect.locally(
    nextWait(plan, now, input, state) as Effect.Effect<readonly [unknown, number] | undefined>,
    decisionRef,
    decision
  )

// ---------------------------------------------------------------------------
// The schedule (Effect's driver: Effect.retry, Effect.repeat, Stream.retry, combinators)
// ---------------------------------------------------------------------------

interface StepState {
  /** The number of the call that just ended (1 at the first step). */
  readonly tries: number
  /** The `now` of the first step: under Effect's driver maxTime counts from the end of the first call. */
  readonly start: number
  readonly spent: boolean
  readonly inner: unknown
  /** The plans inside the base that held events at the last step (they see a give-up decided before it). */
  readonly seen: ReadonlyArray<Plan> | undefined
}

const tapDetails = (
  tap: Tap,
  tries: number,
  elapsed: number,
  input: unknown,
  wait?: Duration.Duration,
  reason?: GiveupReason
) => {
  const details: Record<string, unknown> = { target: "effect", args: [], tries, elapsed: Duration.millis(elapsed) }
  if (wait !== undefined) details.wait = wait
  details[tap.key] = input
  if (reason !== undefined) details.reason = reason
  return details
}

const heldDetails = (h: Held, tap: Tap, reason: GiveupReason | undefined) =>
  tapDetails(tap, h.tries, h.elapsed, h.input, reason === undefined ? h.wait : undefined, reason)

const done = (state: StepState, wait: number) => [state, Duration.millis(wait), effect.ScheduleDecision.done] as const

/**
 * @internal The Schedule that follows a plan's rules when Effect drives it. Inside a
 * decision point (the loop, or an outer schedule of ours) it holds its events there;
 * outermost, it is the decision point for the plans inside its base, and runs every tap
 * once the decision is known.
 */
export const toSchedule = <In>(plan: Plan): PlanSchedule<In> => {
  const initial: StepState | undefined = undefined
  const schedule = Schedule.makeWithState<StepState | undefined, In, Duration.Duration, any>(
    initial,
    (now, input, s) =>
      effect.FiberRef.getWith(decisionRef, (outer) => {
        const state: StepState = s ??
          {
            tries: 1,
            start: outer === undefined ? now : outer.start,
            spent: false,
            inner: initialState(plan),
            seen: undefined
          }
        // inside a decision point maxTime counts from its start (the loop's: the start of the first call)
        const elapsed = now - (outer === undefined ? state.start : outer.start)
        const decision: Decision = outer ?? { start: state.start, held: [] }
        const from = decision.held.length
        const own = (wait: Duration.Duration | undefined, reason: GiveupReason | undefined): Held => ({
          plan,
          tries: state.tries,
          elapsed,
          input,
          wait,
          reason
        })
        // outermost: the decision is known here, so the held taps run, then this plan's own
        const settle = <A>(held: Held, giveup: GiveupReason | undefined, result: A): Effect.Effect<A, never, any> => {
          decision.held.push(held)
          if (outer !== undefined) return Effect.succeed(result)
          const taps = settleHeld(decision.held, giveup, heldDetails)
          return taps === undefined ? Effect.succeed(result) : Effect.as(taps, result)
        }
        const giveUp = (reason: GiveupReason, stepped: boolean) => {
          if (!stepped) {
            for (const h of seenAsGiveups(state.seen, state.tries, elapsed, input)) decision.held.push(h)
          }
          return settle(own(undefined, reason), reason, done(state, 0))
        }
        const limit = limitReached(plan, state.tries, elapsed, state.spent)
        if (limit !== undefined) return giveUp(limit, false)
        const proceed = (next: readonly [unknown, number] | undefined) => {
          if (next === undefined) return giveUp(heldReason(decision.held.slice(from)), true)
          const [inner, wait] = next
          const admitted = (ok: boolean) => {
            if (!ok) return giveUp("budget", true)
            return Effect.flatMap(jitterWait(plan.jitter, wait), (jittered) => {
              const sleep = clampToBudget(plan.maxTime, elapsed, jittered)
              const seen = decision.held.length > from ? decision.held.slice(from).map((h) => h.plan) : undefined
              const nextState: StepState = {
                tries: state.tries + 1,
                start: state.start,
                spent: isClamped(plan.maxTime, elapsed, sleep),
                inner,
                seen
              }
              const duration = Duration.millis(sleep)
              const result = [
                nextState,
                duration,
                effect.ScheduleDecision.continueWith(effect.ScheduleInterval.after(now + sleep))
              ] as const
              return settle(own(duration, undefined), undefined, result)
            })
          }
          return plan.budget === undefined ? admitted(true) : Effect.flatMap(plan.budget.tryWithdraw, admitted)
        }
        if (plan.strategy !== undefined) {
          const step: Step | undefined = plan.strategy.next(state.inner, input)
          return proceed(step === undefined ? undefined : [step, step.wait])
        }
        const next = outer === undefined
          ? stepBase(plan, now, input, state.inner, decision)
          : nextWait(plan, now, input, state.inner) as Effect.Effect<readonly [unknown, number] | undefined>
        return Effect.flatMap(next, proceed)
      })
  ) as unknown as Schedule.Schedule<Duration.Duration, In>
  return Object.assign(schedule, { [PlanTypeId]: plan }) as PlanSchedule<In>
}

// ---------------------------------------------------------------------------
// Building plans
// ---------------------------------------------------------------------------

const empty = {
  jitter: undefined,
  jittered: false,
  maxTries: Infinity,
  maxTime: Infinity,
  onBackoff: undefined,
  onGiveup: undefined,
  budget: undefined
} as const

/** @internal A plan that only waits: a pure strategy. */
export const fromStrategy = (strategy: Strategy<any>): Plan => ({ ...empty, strategy, base: undefined })

/**
 * @internal The plan of any schedule: its own if it carries one, else a plan that steps it
 * through `Schedule.step` (correct for every schedule, slower than a pure strategy).
 */
export const fromSchedule = (schedule: Schedule.Schedule<unknown, any, any>): Plan =>
  planOf(schedule) ?? { ...empty, strategy: undefined, base: schedule }

/** @internal Wraps a plan's schedule as the base of a new plan, so later rules apply after it. */
const wrap = (schedule: Schedule.Schedule<unknown, any, any>): Plan => ({
  ...empty,
  strategy: undefined,
  base: schedule
})

/** @internal `maxTries` on top: the lower limit wins, whatever the order. */
export const withMaxTries = (schedule: Schedule.Schedule<unknown, any, any>, maxTries: number): Plan => {
  const plan = fromSchedule(schedule)
  return { ...plan, maxTries: Math.min(plan.maxTries, maxTries) }
}

/**
 * @internal `maxTime` on top. Taps already in the plan saw the unclamped wait in the order
 * the user wrote, so then the plan becomes the base of a new one instead of being merged.
 */
export const withMaxTime = (schedule: Schedule.Schedule<unknown, any, any>, maxTime: number): Plan => {
  const plan = fromSchedule(schedule)
  if (plan.onBackoff !== undefined) return { ...wrap(schedule), maxTime }
  return { ...plan, maxTime: Math.min(plan.maxTime, maxTime) }
}

/**
 * @internal Jitter on top: composes with an earlier jitter; after a `maxTime` clamp or taps
 * (which then saw the unjittered wait) the plan becomes the base of a new one.
 */
export const withJitter = (
  schedule: Schedule.Schedule<unknown, any, any>,
  jitter: JitterFunction | undefined
): Plan => {
  const plan = fromSchedule(schedule)
  // no jitter composes with anything, in any order
  if (jitter === undefined) return { ...plan, jittered: true }
  if (plan.maxTime !== Infinity || plan.onBackoff !== undefined) return { ...wrap(schedule), jitter, jittered: true }
  const inner = plan.jitter
  const composed: JitterFunction | undefined = inner === undefined
    ? jitter
    : jitter === undefined
    ? inner
    : (wait) =>
      Effect.flatMap(
        jitterWait(inner, Duration.toMillis(wait)),
        (w) => Effect.map(jitterWait(jitter, w), Duration.millis)
      )
  return { ...plan, jitter: composed, jittered: true }
}

/** @internal A tap appended to the plan. */
export const withTap = (
  schedule: Schedule.Schedule<unknown, any, any>,
  event: "onBackoff" | "onGiveup",
  tap: Tap
): Plan => {
  const plan = fromSchedule(schedule)
  const taps = plan[event]
  return { ...plan, [event]: taps === undefined ? [tap] : [...taps, tap] }
}

/**
 * @internal `RetryBudget.limit` on top: one budget per plan, checked after the strategy and
 * before jitter and the taps (so no tap reports a backoff the budget refuses), whatever
 * the order it was written in. A second budget keeps the plan whole as its base.
 */
export const withBudget = (schedule: Schedule.Schedule<unknown, any, any>, budget: PlanBudget): Plan => {
  const plan = fromSchedule(schedule)
  if (plan.budget !== undefined) return { ...wrap(schedule), budget }
  return { ...plan, budget }
}
