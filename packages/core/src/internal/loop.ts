import { Clock, Duration, Effect, ScheduleDecision, ScheduleIntervals } from "effect"
import type { Schedule } from "effect"
import * as events from "./events.js"
import type { Policy, RunOptions } from "./options.js"
import { readRuntime } from "./options.js"
import type { RetryBudget } from "./retryBudget.js"
import { tag as budgetTag, unsafeDepositOf, unsafeTryWithdrawOf } from "./retryBudget.js"
import type { Step, Strategy } from "./strategy.js"
import { MAX_WAIT_MILLIS } from "./validate.js"

/**
 * @internal How a caller (onException, onPredicate, HttpBackoff) plugs into the one loop:
 * it classifies outcomes itself and calls `run.retry(input)` for a retryable one; `finish`
 * says what giving up on that input returns; `extra` adds keys to every details object.
 */
export interface Kind {
  /** The details key of a retryable input: "exception" or "value". */
  readonly key: (input: unknown) => "exception" | "value"
  readonly finish: (input: unknown) => Effect.Effect<any, any, any>
  readonly extra?: ((input: unknown, details: Record<string, unknown>) => void) | undefined
  /**
   * A lower bound for the sleep after this input, applied after jitter and before the
   * maxTime clamp (HTTP's Retry-After: a server's wish is never shortened by jitter).
   * `nowMillis` is the Effect Clock's time.
   */
  readonly floor?: ((input: unknown, nowMillis: number) => number | undefined) | undefined
  /** What the default log lines show for this input (default: the input itself, e.g. an HTTP response as `HTTP 503 ...`). */
  readonly describe?: ((input: unknown) => unknown) | undefined
}

/** @internal Why a run gave up (`GiveupDetails["reason"]`). */
export type GiveupReason = "giveup" | "maxTries" | "maxTime" | "exhausted" | "budget"

/**
 * @internal The state of one run of a retried effect. One is made per run (so stacked and
 * concurrent runs never share counters); the success path touches only `tries`.
 */
export class Run {
  tries = 1
  start = 0
  /** The last sleep was cut to the maxTime budget: the next failure gives up whatever the clock says. */
  budgetSpent = false
  state: unknown
  attempt: Effect.Effect<any, any, any> = Effect.void
  readonly wait: Schedule.Schedule<unknown, any, any>
  readonly strategy: Strategy<any> | undefined
  readonly maxTries: number
  readonly maxTime: number
  /** The run's retry budget: one withdrawal per retry, after the limits and before onBackoff. */
  budget: RetryBudget | undefined = undefined

  constructor(
    readonly policy: Policy,
    readonly kind: Kind,
    readonly target: string,
    readonly args: ReadonlyArray<unknown>,
    /** Taken at the start when the run is timed, else on the first retry (the success path skips it). */
    private clock: Clock.Clock | undefined,
    options: RunOptions | Policy
  ) {
    this.wait = options.wait!
    this.strategy = options.strategy
    this.maxTries = options.maxTries
    this.maxTime = options.maxTime
    this.state = this.strategy === undefined ? this.wait.initial : undefined
    if (clock !== undefined) this.start = clock.unsafeCurrentTimeMillis()
  }

  details(elapsed: number, input?: unknown, hasInput?: boolean, wait?: Duration.Duration): Record<string, unknown> {
    const details: Record<string, unknown> = {
      target: this.target,
      args: this.args,
      tries: this.tries,
      elapsed: Duration.millis(elapsed)
    }
    if (wait !== undefined) details.wait = wait
    if (hasInput) {
      details[this.kind.key(input)] = input
      if (this.kind.extra !== undefined) this.kind.extra(input, details)
    }
    return details
  }

  /** The attempt succeeded: run onSuccess (with the value for onPredicate / HTTP). */
  succeed(value: unknown, withValue: boolean): Effect.Effect<void, never, unknown> {
    const handlers = this.policy.onSuccess
    if (handlers === undefined) return Effect.void
    const elapsed = this.clock!.unsafeCurrentTimeMillis() - this.start
    const details = this.details(elapsed)
    if (withValue) {
      details.value = value
      if (this.kind.extra !== undefined) this.kind.extra(value, details)
    }
    return events.callHandlers(handlers, details)
  }

  /**
   * The attempt ended in a retryable input (a matching failure, a value the predicate
   * rejects). In order: giveup(input) → tries == maxTries → elapsed >= maxTime → the
   * strategy ends → onBackoff → sleep → next attempt.
   */
  retry(input: unknown): Effect.Effect<any, any, any> {
    if (this.clock === undefined) {
      return Effect.clockWith((clock) => {
        this.clock = clock
        return this.retry(input)
      })
    }
    const clock = this.clock
    return Effect.suspend(() => {
      const now = clock.unsafeCurrentTimeMillis()
      const elapsed = now - this.start
      const giveup = this.policy.giveup
      if (giveup !== undefined) {
        const verdict = giveup(input)
        if (Effect.isEffect(verdict)) {
          return Effect.flatMap(
            Effect.orDie(verdict as Effect.Effect<boolean>),
            (stop) => stop ? this.giveUp(input, elapsed, "giveup") : this.limits(input, now, elapsed)
          )
        }
        if (verdict) return this.giveUp(input, elapsed, "giveup")
      }
      return this.limits(input, now, elapsed)
    })
  }

  private limits(input: unknown, now: number, elapsed: number): Effect.Effect<any, any, any> {
    if (this.tries >= this.maxTries) return this.giveUp(input, elapsed, "maxTries")
    if (elapsed >= this.maxTime || this.budgetSpent) return this.giveUp(input, elapsed, "maxTime")
    if (this.strategy !== undefined) {
      const step: Step | undefined = this.strategy.next(this.state, input)
      if (step === undefined) return this.giveUp(input, elapsed, "exhausted")
      this.state = step
      return this.withdraw(input, elapsed, step.wait)
    }
    return Effect.flatMap(this.wait.step(now, input, this.state), ([state, _out, decision]) => {
      if (ScheduleDecision.isDone(decision)) return this.giveUp(input, elapsed, "exhausted")
      this.state = state
      return this.withdraw(input, elapsed, Math.max(0, ScheduleIntervals.start(decision.intervals) - now))
    })
  }

  /** Retry budget: after "the strategy ends", before onBackoff; no token left gives up at once. */
  private withdraw(input: unknown, elapsed: number, wait: number): Effect.Effect<any, any, any> {
    const budget = this.budget
    if (budget === undefined) return this.jitter(input, elapsed, wait)
    // an in-memory budget answers synchronously, on the run's clock: no extra Effect step
    const unsafeTryWithdraw = unsafeTryWithdrawOf(budget)
    if (unsafeTryWithdraw !== undefined) {
      return unsafeTryWithdraw(this.clock!) ? this.jitter(input, elapsed, wait) : this.giveUp(input, elapsed, "budget")
    }
    return Effect.flatMap(
      budget.tryWithdraw,
      (ok) => ok ? this.jitter(input, elapsed, wait) : this.giveUp(input, elapsed, "budget")
    )
  }

  private jitter(input: unknown, elapsed: number, wait: number): Effect.Effect<any, any, any> {
    const jitter = this.policy.jitter
    if (jitter === undefined || wait === 0) return this.backoff(input, elapsed, wait)
    return Effect.flatMap(
      jitter(Duration.millis(wait)),
      (jittered) => this.backoff(input, elapsed, Duration.toMillis(jittered))
    )
  }

  private backoff(input: unknown, elapsed: number, wait: number): Effect.Effect<any, any, any> {
    let sleep = wait >= 0 ? wait : 0
    const floor = this.kind.floor
    if (floor !== undefined) {
      const least = floor(input, this.start + elapsed)
      if (least !== undefined && least > sleep) sleep = least
    }
    if (sleep > MAX_WAIT_MILLIS) sleep = MAX_WAIT_MILLIS
    const remaining = this.maxTime - elapsed
    if (sleep >= remaining) {
      // Land exactly on the budget; the next failure then gives up even if the clock's
      // rounding says a hair is left, so rounding never yields a run of empty sleeps.
      sleep = remaining
      this.budgetSpent = true
    }
    const policy = this.policy
    const duration = Duration.millis(sleep)
    // below a nanosecond the Duration is zero: skip the sleep (Node would arm a 1 ms timer)
    const next = sleep >= 1e-6
      ? Effect.zipRight(this.clock!.sleep(duration), this.again)
      : this.again
    if (!policy.logger && policy.onBackoff === undefined) return next
    const details = policy.onBackoff === undefined ? undefined : this.details(elapsed, input, true, duration)
    const log = policy.logger
      ? events.logBackoff(policy.backoffLogLevel, this.target, this.tries, elapsed, sleep, this.shown(input))
      : undefined
    const handlers = details === undefined ? undefined : events.callHandlers(policy.onBackoff!, details)
    const notify = log === undefined ? handlers! : handlers === undefined ? log : Effect.zipRight(log, handlers)
    return Effect.zipRight(notify, next)
  }

  private shown(input: unknown): unknown {
    return this.kind.describe === undefined ? input : this.kind.describe(input)
  }

  private nextAttempt: Effect.Effect<any, any, any> | undefined

  /** The next attempt; made on the first retry, so a run that succeeds at once never builds it. */
  private get again(): Effect.Effect<any, any, any> {
    return this.nextAttempt ??= Effect.suspend(() => {
      this.tries++
      return this.attempt
    })
  }

  private giveUp(input: unknown, elapsed: number, reason: GiveupReason): Effect.Effect<any, any, any> {
    const policy = this.policy
    const finish = this.kind.finish(input)
    if (!policy.logger && policy.onGiveup === undefined) return finish
    const log = policy.logger
      ? events.logGiveup(policy.giveupLogLevel, this.target, this.tries, elapsed, this.shown(input), reason)
      : undefined
    let handlers: Effect.Effect<void, never, unknown> | undefined
    if (policy.onGiveup !== undefined) {
      const details = this.details(elapsed, input, true)
      details.reason = reason
      handlers = events.callHandlers(policy.onGiveup, details)
    }
    const notify = log === undefined ? handlers! : handlers === undefined ? log : Effect.zipRight(log, handlers)
    return Effect.zipRight(notify, finish)
  }
}

/**
 * @internal Runs `build(run)` (the classified attempt) with a fresh Run: the retry budget
 * (if any) gets the run's one deposit first, runtime options are read next, then the
 * clock's start is taken just before the first call.
 */
export const execute = (
  policy: Policy,
  kind: Kind,
  target: string,
  args: ReadonlyArray<unknown>,
  build: (run: Run) => Effect.Effect<any, any, any>
): Effect.Effect<any, any, any> => {
  const budget = policy.budget
  if (budget === undefined) return executeWith(policy, kind, target, args, build, undefined, undefined)
  if (budget === true) {
    return Effect.flatMap(budgetTag, (service) => withBudget(policy, kind, target, args, build, service))
  }
  return withBudget(policy, kind, target, args, build, budget)
}

/** The run's one deposit: in the loop's own step when the budget can take it synchronously. */
const withBudget = (
  policy: Policy,
  kind: Kind,
  target: string,
  args: ReadonlyArray<unknown>,
  build: (run: Run) => Effect.Effect<any, any, any>,
  budget: RetryBudget
): Effect.Effect<any, any, any> => {
  const unsafeDeposit = unsafeDepositOf(budget)
  return unsafeDeposit === undefined
    ? Effect.zipRight(budget.deposit, executeWith(policy, kind, target, args, build, budget, undefined))
    : executeWith(policy, kind, target, args, build, budget, unsafeDeposit)
}

const executeWith = (
  policy: Policy,
  kind: Kind,
  target: string,
  args: ReadonlyArray<unknown>,
  build: (run: Run) => Effect.Effect<any, any, any>,
  budget: RetryBudget | undefined,
  unsafeDeposit: ((clock: Clock.Clock) => void) | undefined
): Effect.Effect<any, any, any> => {
  const start = (options: RunOptions | Policy) =>
    Effect.clockWith((clock) => {
      if (unsafeDeposit !== undefined) unsafeDeposit(clock)
      const run = new Run(policy, kind, target, args, clock, options)
      run.budget = budget
      run.attempt = build(run)
      return run.attempt
    })
  if (policy.runtime) return Effect.flatMap(readRuntime(policy), start)
  if (policy.timed) return start(policy)
  if (unsafeDeposit !== undefined) {
    // the deposit needs the time anyway: the clock is read in the step that makes the Run
    return Effect.clockWith((clock) => {
      unsafeDeposit(clock)
      const run = new Run(policy, kind, target, args, undefined, policy)
      run.budget = budget
      run.attempt = build(run)
      return run.attempt
    })
  }
  // nothing needs the start time: the clock is looked up on the first retry, if any
  return Effect.suspend(() => {
    const run = new Run(policy, kind, target, args, undefined, policy)
    run.budget = budget
    run.attempt = build(run)
    return run.attempt
  })
}
