import { Duration, Effect } from "effect"
import type { Clock, Exit, LogLevel } from "effect"
import type { AdaptiveThrottle, ThrottledError } from "./adaptiveThrottle.js"
import { halvesOf, tag as throttleTag } from "./adaptiveThrottle.js"
import * as callbacks from "./callbacks.js"
import * as logging from "./logging.js"
import * as plans from "./plan.js"
import type { GiveupReason, Plan, Tap } from "./plan.js"
import type { RetryBudget } from "./retryBudget.js"
import { tag as budgetTag, unsafeDepositOf, unsafeTryWithdrawOf } from "./retryBudget.js"

/**
 * @internal How an entry point (onException, onPredicate, Backoff.retry / repeat,
 * HttpBackoff) plugs into the one loop. It classifies outcomes itself and calls
 * `run.retry(input)` for a retryable one; the mode says what giving up on that input
 * returns and how the input shows in details and log lines.
 */
export interface RetryMode {
  /** The details key of a retryable input: "exception" or "value". */
  readonly key: (input: unknown) => "exception" | "value"
  /** What the run gives when it gives up on this input. */
  readonly finish: (input: unknown) => Effect.Effect<any, any, any>
  /** Adds keys to every details object (HTTP's `request` and `status`). */
  readonly extra?: ((input: unknown, details: Record<string, unknown>) => void) | undefined
  /**
   * A lower bound for the sleep after this input, applied after jitter and before the
   * maxTime clamp (HTTP's Retry-After: a server's wish is never shortened by jitter).
   * `nowMillis` is the Effect Clock's wall-clock time.
   */
  readonly floor?: ((input: unknown, nowMillis: number) => number | undefined) | undefined
  /** What the default log lines show for this input (default: the input itself). */
  readonly describe?: ((input: unknown) => unknown) | undefined
  /**
   * Called once the loop has decided to retry after this input (never on giving up, when
   * the input is returned): the effect it returns, if any, runs first, before onBackoff
   * and the sleep. HTTP discards a retried response's body here.
   */
  readonly release?: ((input: unknown) => Effect.Effect<void> | undefined) | undefined
}

/**
 * @internal The loop's options, resolved and validated once at construction: the loop
 * reads these fields and nothing else, so no option is parsed per run or per attempt.
 */
export interface LoopOptions {
  /** The policy, or undefined when it is read per run (`runtime`). */
  readonly plan: Plan | undefined
  /** Builds the policy of one run from options read at run time; a bad value fails that run. */
  readonly runtime: Effect.Effect<Plan, unknown, unknown> | undefined
  /** `true` gives up on this input at once (onException's `giveup`, Backoff.retry's `while` / `until`). */
  readonly giveup: callbacks.AnyPredicate | undefined
  readonly onSuccess: ReadonlyArray<callbacks.AnyHandler> | undefined
  readonly onBackoff: ReadonlyArray<callbacks.AnyHandler> | undefined
  readonly onGiveup: ReadonlyArray<callbacks.AnyHandler> | undefined
  readonly logger: boolean
  readonly backoffLogLevel: LogLevel.LogLevel
  readonly giveupLogLevel: LogLevel.LogLevel
  readonly target: string | undefined
  /** Wrap each run in a span: its name (true: the target's name), or undefined for none. */
  readonly span: string | true | undefined
  /** The retry budget: a value, `true` for the one in context, or undefined for none. */
  readonly budget: RetryBudget | true | undefined
  /** The adaptive throttle: a value, `true` for the one in context, or undefined for none. */
  readonly throttle: AdaptiveThrottle | true | undefined
  /** The run needs its start time: a time budget, handlers, taps or log lines. */
  readonly timed: boolean
  /** Asked before every attempt (a circuit breaker), or an Effect giving it per run (one in context). */
  readonly guard?: AttemptGuard | Effect.Effect<AttemptGuard, never, any> | undefined
}

/**
 * @internal An attempt guard, asked before every attempt of a run, synchronously on the
 * run's clock (a circuit breaker; an adaptive throttle is another). It admits the attempt
 * (`observe` wraps the raw effect, to learn how it ended) or rejects it with an error and
 * the least wait before the next attempt. A rejection is a failed try that never reached
 * the service: it skips `giveup` and the retry budget (no deposit, no withdrawal); if its
 * wait does not fit in what is left of `maxTime` the run gives up with `"circuitOpen"`.
 * `announce` (a transition's log line) runs first.
 */
export interface AttemptGuard {
  /** `clock` is the run's, when it has one yet; `undefined` asks again with one. */
  readonly admit: (run: Run, clock: Clock.Clock | undefined) => Admission | undefined
}

/** @internal An attempt guard's answer. */
export type Admission =
  | {
    readonly admitted: true
    readonly observe: (attempt: Effect.Effect<any, any, any>) => Effect.Effect<any, any, any>
    readonly announce: Effect.Effect<void> | undefined
  }
  | {
    readonly admitted: false
    readonly error: unknown
    readonly wait: number
    readonly announce: Effect.Effect<void> | undefined
  }

/** @internal Does a run of this plan need its start time? */
export const needsStart = (plan: Plan): boolean =>
  // a composed schedule may hold a maxTime inside, counted from the run's start
  plan.strategy === undefined || plan.maxTime !== Infinity || plan.onBackoff !== undefined ||
  plan.onGiveup !== undefined

/** Monotonic milliseconds: a wall-clock step (NTP, a resumed VM) never stretches or cuts a budget. */
const monotonicMillis = (clock: Clock.Clock): number => Number(clock.unsafeCurrentTimeNanos()) / 1e6

const runTaps = (taps: ReadonlyArray<Tap> | undefined, details: Record<string, unknown>) =>
  taps === undefined ? undefined : callbacks.callHandlers(taps.map((t) => t.handler), details)

const andThen = (
  first: Effect.Effect<void, never, unknown> | undefined,
  second: Effect.Effect<void, never, unknown> | undefined
): Effect.Effect<void, never, unknown> | undefined =>
  first === undefined ? second : second === undefined ? first : Effect.zipRight(first, second)

/**
 * @internal The state of one run of a retried effect. One is made per run (so stacked and
 * concurrent runs never share counters); the success path touches only `tries`.
 */
export class Run {
  tries = 1
  /** Monotonic milliseconds at the start of the first call. */
  start = 0
  /** The last sleep was cut to the maxTime budget: the next failure gives up whatever the clock says. */
  spent = false
  state: unknown
  attempt: Effect.Effect<any, any, any> = Effect.void
  /** The run's retry budget: one withdrawal per retry, after the limits and before onBackoff. */
  budget: RetryBudget | undefined = undefined
  /** The run's attempt guard (a circuit breaker). */
  guard: AttemptGuard | undefined = undefined
  /** With a guard, the budget's deposit waits for the first admitted attempt. */
  deposit: ((clock: Clock.Clock) => void) | Effect.Effect<void> | undefined = undefined
  /** The guard's wrapper of the attempt now running. */
  private observer: ((attempt: Effect.Effect<any, any, any>) => Effect.Effect<any, any, any>) | undefined
  /** The attempt just ended was rejected by the guard: the input is its error, not the effect's. */
  private rejected = false
  /** The least sleep before the next attempt (a rejection's wait), in ms. */
  private least = 0
  /** The run's adaptive throttle: each attempt is admitted or rejected locally first, before the guard. */
  throttle: AdaptiveThrottle | undefined = undefined

  constructor(
    readonly options: LoopOptions,
    readonly plan: Plan,
    readonly mode: RetryMode,
    readonly target: string,
    readonly args: ReadonlyArray<unknown>,
    /** Taken at the start when the run is timed, else on the first retry (the success path skips it). */
    private clock: Clock.Clock | undefined
  ) {
    this.state = plans.initialState(plan)
    // the start is read only when something needs it (a budget deposit may bring the clock along)
    if (clock !== undefined && options.timed) this.start = monotonicMillis(clock)
  }

  /** @internal The raw effect of the attempt being built, as the guard (if any) observes it. */
  guarded(effect: Effect.Effect<any, any, any>): Effect.Effect<any, any, any> {
    return this.observer === undefined ? effect : this.observer(effect)
  }

  /** @internal With a guard, the classified attempt is built per attempt, once admitted. */
  build: ((run: Run) => Effect.Effect<any, any, any>) | undefined = undefined

  /**
   * @internal The next attempt through the guard, decided now, synchronously (a guard that
   * needs the time and has no clock yet answers undefined: the clock is looked up once).
   */
  admit(): Effect.Effect<any, any, any> {
    const a = this.guard!.admit(this, this.clock)
    if (a === undefined) {
      return Effect.clockWith((clock) => {
        this.clock = clock
        return this.admit()
      })
    }
    let next: Effect.Effect<any, any, any>
    if (a.admitted) {
      this.rejected = false
      this.observer = a.observe
      next = this.build!(this)
      const deposit = this.deposit
      if (deposit !== undefined) {
        this.deposit = undefined
        if (Effect.isEffect(deposit)) next = Effect.zipRight(deposit, next)
        else deposit(this.clock!)
      }
    } else {
      this.observer = undefined
      next = this.reject(a.error, a.wait)
    }
    return a.announce === undefined ? next : Effect.zipRight(a.announce, next)
  }

  /** A rejected attempt: the limits, then circuitOpen if its wait does not fit in maxTime, then the strategy. */
  private reject(error: unknown, wait: number): Effect.Effect<any, any, any> {
    this.rejected = true
    const elapsed = this.options.timed ? monotonicMillis(this.clock!) - this.start : 0
    const limit = plans.limitReached(this.plan, this.tries, elapsed, this.spent)
    if (limit !== undefined) return this.giveUp(error, elapsed, limit)
    if (wait === Infinity || !(wait <= this.plan.maxTime - elapsed)) return this.giveUp(error, elapsed, "circuitOpen")
    this.least = wait
    return this.limits(error, elapsed)
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
      details[this.rejected ? "exception" : this.mode.key(input)] = input
      if (this.mode.extra !== undefined) this.mode.extra(input, details)
    }
    return details
  }

  /** The attempt succeeded: run onSuccess (with the value for onPredicate / repeat / HTTP). */
  succeed(value: unknown, withValue: boolean): Effect.Effect<void, never, unknown> {
    const handlers = this.options.onSuccess
    if (handlers === undefined) return Effect.void
    const details = this.details(monotonicMillis(this.clock!) - this.start)
    if (withValue) {
      details.value = value
      if (this.mode.extra !== undefined) this.mode.extra(value, details)
    }
    return callbacks.callHandlers(handlers, details)
  }

  /**
   * The attempt ended in a retryable input (a matching failure, a value to poll again).
   * In order: giveup(input) → tries == maxTries → elapsed >= maxTime → the strategy ends
   * → onBackoff → sleep → next attempt.
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
      this.rejected = false
      // a run that is not timed has no start and no use for elapsed (no budget, no details)
      const elapsed = this.options.timed ? monotonicMillis(clock) - this.start : 0
      const giveup = this.options.giveup
      if (giveup === undefined) return this.limits(input, elapsed)
      return callbacks.whenVerdict(
        callbacks.verdict(giveup, input),
        (stop) => stop ? this.giveUp(input, elapsed, "giveup") : this.limits(input, elapsed)
      )
    })
  }

  /**
   * What the plans inside a composed base held at this step (their taps run once the loop
   * has decided), and the plans seen at the last step (they see a give-up decided before
   * the base is stepped).
   */
  private held: ReadonlyArray<plans.Held> | undefined = undefined
  private seen: ReadonlyArray<Plan> | undefined = undefined

  /**
   * @internal The next attempt: through the throttle (outermost, so a local rejection
   * never takes a breaker's probe slot), then the guard.
   */
  attemptNow(): Effect.Effect<any, any, any> {
    const throttle = this.throttle
    if (throttle === undefined) return this.guard === undefined ? this.attempt : this.admit()
    return halvesOf(throttle).admit(
      (error) => this.throttled(error),
      this.guard === undefined ? this.attempt : Effect.suspend(() => this.admit())
    )
  }

  /**
   * @internal The throttle rejected this attempt: a failed try that never reached the
   * service, straight to the limits (no giveup, no budget), as a breaker's rejection.
   */
  private throttled(error: ThrottledError): Effect.Effect<any, any, any> {
    return Effect.clockWith((clock) => {
      this.clock ??= clock
      this.rejected = true
      this.observer = undefined
      return this.limits(error, this.options.timed ? monotonicMillis(clock) - this.start : 0)
    })
  }

  /** @internal The raw call, its outcome counted by the run's throttle (if any). */
  observe<A, E, R>(
    self: Effect.Effect<A, E, R>,
    accepted?: (exit: Exit.Exit<A, E>) => boolean | undefined
  ): Effect.Effect<A, E, R> {
    return this.throttle === undefined ? self : halvesOf(this.throttle).observe(self, accepted)
  }

  private limits(input: unknown, elapsed: number): Effect.Effect<any, any, any> {
    const plan = this.plan
    const limit = plans.limitReached(plan, this.tries, elapsed, this.spent)
    if (limit !== undefined) return this.giveUp(input, elapsed, limit)
    const strategy = plan.strategy
    if (strategy !== undefined) {
      // the fast path: the strategy's next step as plain numbers, nothing allocated
      const step = strategy.next(this.state, input)
      if (step === undefined) return this.giveUp(input, elapsed, "exhausted")
      this.state = step
      return this.rejected || (this.budget === undefined && plan.budget === undefined)
        ? this.jitter(input, elapsed, step.wait)
        : this.withdraw(input, elapsed, step.wait)
    }
    // a composed schedule: the loop is its decision point, and its start is the run's
    const now = this.clock!.unsafeCurrentTimeMillis()
    const decision: plans.Decision = { start: now - elapsed, held: [] }
    return Effect.flatMap(plans.stepBase(plan, now, input, this.state, decision), (n) => {
      this.held = decision.held
      if (n === undefined) return this.giveUp(input, elapsed, plans.heldReason(decision.held))
      this.state = n[0]
      return this.rejected || (this.budget === undefined && plan.budget === undefined)
        ? this.jitter(input, elapsed, n[1])
        : this.withdraw(input, elapsed, n[1])
    })
  }

  /**
   * The retry budgets (the `budget` option, then the policy's `RetryBudget.limit`, once
   * each), after "the strategy ends" and before onBackoff: one token per retry; with none
   * left the run gives up at once. In-memory budgets answer synchronously, in this step;
   * others (Redis) with an Effect.
   */
  private withdraw(input: unknown, elapsed: number, wait: number): Effect.Effect<any, any, any> {
    const budget = this.budget
    const planBudget = this.plan.budget
    const both = planBudget !== undefined &&
      (planBudget.source === undefined ? this.options.budget !== true : planBudget.source !== budget)
    const second = (): Effect.Effect<any, any, any> => {
      if (!both) return this.jitter(input, elapsed, wait)
      const unsafe = planBudget.unsafeTryWithdraw
      if (unsafe !== undefined) {
        return unsafe(this.clock!) ? this.jitter(input, elapsed, wait) : this.giveUp(input, elapsed, "budget")
      }
      return Effect.flatMap(
        planBudget.tryWithdraw,
        (ok) => ok ? this.jitter(input, elapsed, wait) : this.giveUp(input, elapsed, "budget")
      )
    }
    if (budget === undefined) {
      if (planBudget === undefined) return this.jitter(input, elapsed, wait)
      return second()
    }
    const unsafe = unsafeTryWithdrawOf(budget)
    if (unsafe !== undefined) return unsafe(this.clock!) ? second() : this.giveUp(input, elapsed, "budget")
    return Effect.flatMap(budget.tryWithdraw, (ok) => ok ? second() : this.giveUp(input, elapsed, "budget"))
  }

  private jitter(input: unknown, elapsed: number, wait: number): Effect.Effect<any, any, any> {
    const jitter = this.plan.jitter
    if (jitter === undefined) return this.backoff(input, elapsed, wait)
    return Effect.flatMap(plans.jitterWait(jitter, wait), (jittered) => this.backoff(input, elapsed, jittered))
  }

  private backoff(input: unknown, elapsed: number, wait: number): Effect.Effect<any, any, any> {
    let sleep = wait
    if (this.least > sleep) sleep = this.least
    this.least = 0
    const floor = this.mode.floor
    if (floor !== undefined) {
      const least = floor(input, this.clock!.unsafeCurrentTimeMillis())
      if (least !== undefined && least > sleep) sleep = least
    }
    const maxTime = this.plan.maxTime
    sleep = plans.clampToBudget(maxTime, elapsed, sleep)
    if (plans.isClamped(maxTime, elapsed, sleep)) this.spent = true
    const options = this.options
    const duration = Duration.millis(sleep)
    // below a nanosecond the Duration is zero: skip the sleep (Node would arm a 1 ms timer)
    const next = sleep >= 1e-6 ? Effect.zipRight(this.clock!.sleep(duration), this.again) : this.again
    const release = this.mode.release === undefined ? undefined : this.mode.release(input)
    const taps = this.plan.onBackoff
    const held = this.settleHeld(input, elapsed, undefined)
    if (!options.logger && options.onBackoff === undefined && taps === undefined && held === undefined) {
      return release === undefined ? next : Effect.zipRight(release, next)
    }
    const log = options.logger
      ? logging.logBackoff(options.backoffLogLevel, this.target, this.tries, elapsed, sleep, this.shown(input))
      : undefined
    const details = options.onBackoff === undefined && taps === undefined
      ? undefined
      : this.details(elapsed, input, true, duration)
    const handlers = andThen(
      held,
      details === undefined
        ? undefined
        : andThen(
          runTaps(taps, details),
          options.onBackoff === undefined ? undefined : callbacks.callHandlers(options.onBackoff, details)
        )
    )
    return Effect.zipRight(andThen(release, andThen(log, handlers)) ?? Effect.void, next)
  }

  /**
   * The taps the plans inside a composed base held, now that the loop has decided (a retry
   * when `reason` is undefined), with the loop's details and each plan's own wait. A
   * give-up decided before the base was stepped reaches the plans seen at the last step.
   */
  private settleHeld(
    input: unknown,
    elapsed: number,
    reason: GiveupReason | undefined
  ): Effect.Effect<void, never, unknown> | undefined {
    let held = this.held
    this.held = undefined
    if (held === undefined) {
      if (reason === undefined || this.seen === undefined) return undefined
      held = plans.seenAsGiveups(this.seen, this.tries, elapsed, input)
    }
    if (reason === undefined) this.seen = held.length === 0 ? undefined : held.map((h) => h.plan)
    if (held.length === 0) return undefined
    return plans.settleHeld(held, reason, (h, _tap, r) => {
      const details = this.details(elapsed, input, true, r === undefined ? h.wait : undefined)
      if (r !== undefined) details.reason = r
      return details
    })
  }

  private shown(input: unknown): unknown {
    return this.mode.describe === undefined ? input : this.mode.describe(input)
  }

  private nextAttempt: Effect.Effect<any, any, any> | undefined

  /** The next attempt; made on the first retry, so a run that succeeds at once never builds it. */
  private get again(): Effect.Effect<any, any, any> {
    return this.nextAttempt ??= Effect.suspend(() => {
      this.tries++
      return this.attemptNow()
    })
  }

  /** @internal Gives up on `input` for `reason`: log line, onGiveup handlers and taps, then the mode's result. */
  giveUp(input: unknown, elapsed: number, reason: GiveupReason): Effect.Effect<any, any, any> {
    const options = this.options
    // a rejection has no value to return: onPredicate and repeat fail with its error
    const finish = this.rejected && this.mode.key(input) === "value" ? Effect.fail(input) : this.mode.finish(input)
    const taps = this.plan.onGiveup
    let handlers = this.settleHeld(input, elapsed, reason)
    if (!options.logger && options.onGiveup === undefined && taps === undefined && handlers === undefined) {
      return finish
    }
    const log = options.logger
      ? logging.logGiveup(options.giveupLogLevel, this.target, this.tries, elapsed, this.shown(input), reason)
      : undefined
    if (options.onGiveup !== undefined || taps !== undefined) {
      const details = this.details(elapsed, input, true)
      details.reason = reason
      handlers = andThen(
        handlers,
        andThen(
          runTaps(taps, details),
          options.onGiveup === undefined ? undefined : callbacks.callHandlers(options.onGiveup, details)
        )
      )
    }
    return Effect.zipRight(andThen(log, handlers)!, finish)
  }
}

/**
 * @internal Runs `build(run)` (the classified attempt) with a fresh Run: runtime options
 * are read first, then the retry budget (if any) gets the run's one deposit and the
 * clock's start is taken, just before the first call.
 */
export const execute = (
  options: LoopOptions,
  mode: RetryMode,
  target: string,
  args: ReadonlyArray<unknown>,
  build: (run: Run) => Effect.Effect<any, any, any>
): Effect.Effect<any, any, any> => {
  const guard = options.guard
  const throttle = options.throttle
  const go = (g: AttemptGuard | undefined, t: AdaptiveThrottle | undefined) =>
    withBudget(options, mode, target, args, build, g, t)
  const throttled = (g: AttemptGuard | undefined) =>
    throttle === true ? Effect.flatMap(throttleTag, (t) => go(g, t)) : go(g, throttle)
  if (guard === undefined || !Effect.isEffect(guard)) return throttled(guard)
  return Effect.flatMap(guard, throttled)
}

const withBudget = (
  options: LoopOptions,
  mode: RetryMode,
  target: string,
  args: ReadonlyArray<unknown>,
  build: (run: Run) => Effect.Effect<any, any, any>,
  guard: AttemptGuard | undefined,
  throttle: AdaptiveThrottle | undefined
): Effect.Effect<any, any, any> => {
  const budget = options.budget
  if (budget === undefined) return executeWith(options, mode, target, args, build, undefined, guard, throttle)
  if (budget === true) {
    return Effect.flatMap(
      budgetTag,
      (service) => executeWith(options, mode, target, args, build, service, guard, throttle)
    )
  }
  return executeWith(options, mode, target, args, build, budget, guard, throttle)
}

const executeWith = (
  options: LoopOptions,
  mode: RetryMode,
  target: string,
  args: ReadonlyArray<unknown>,
  build: (run: Run) => Effect.Effect<any, any, any>,
  budget: RetryBudget | undefined,
  guard: AttemptGuard | undefined,
  throttle: AdaptiveThrottle | undefined
): Effect.Effect<any, any, any> => {
  // an in-memory budget deposits synchronously, in the step that makes the Run: the
  // success path gains no Effect step; another (Redis) deposits through its Effect
  const unsafeDeposit = budget === undefined ? undefined : unsafeDepositOf(budget)
  const make = (plan: Plan, clock: Clock.Clock | undefined) => {
    const run = new Run(options, plan, mode, target, args, clock)
    run.budget = budget
    run.throttle = throttle
    if (guard === undefined) {
      run.attempt = build(run)
      return throttle === undefined ? run.attempt : run.attemptNow()
    }
    // behind a guard the deposit waits for the first admitted attempt
    run.guard = guard
    run.deposit = unsafeDeposit ?? budget?.deposit
    run.build = build
    return run.attemptNow()
  }
  const timed = (plan: Plan) =>
    Effect.clockWith((clock) => {
      if (unsafeDeposit !== undefined && guard === undefined) unsafeDeposit(clock)
      return make(plan, clock)
    })
  const deposited = (run: (plan: Plan) => Effect.Effect<any, any, any>) =>
    budget === undefined || unsafeDeposit !== undefined || guard !== undefined
      ? run
      : (plan: Plan) => Effect.zipRight(budget.deposit, run(plan))
  if (options.runtime !== undefined) return Effect.flatMap(options.runtime, deposited(timed))
  const plan = options.plan!
  if (options.timed || unsafeDeposit !== undefined) return deposited(timed)(plan)
  // nothing needs the start time: the clock is looked up on the first retry, if any
  return deposited((p) => Effect.suspend(() => make(p, undefined)))(plan)
}
