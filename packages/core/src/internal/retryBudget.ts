import { Context, Duration, Effect, Layer, Schedule } from "effect"
// modules Effect 4 removed go through the namespace: a named import would fail at link time,
// before effectVersion.ts could name the versions needed
import * as effect from "effect"
import type { Clock } from "effect"
import { dual } from "effect/Function"
import { durationMillis, invalid, record } from "./validate.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("@effect-backoff/core/RetryBudget")

/** @internal */
export type TypeId = typeof TypeId

/** @internal A retry budget (the public module `RetryBudget` documents it). */
export interface RetryBudget {
  readonly [TypeId]: TypeId
  /** One logical call (a run) starts: deposits `percentCanRetry` of a token. Never waits on I/O. */
  readonly deposit: Effect.Effect<void>
  /** A retry is about to happen: withdraws one token, or returns false when none is left. */
  readonly tryWithdraw: Effect.Effect<boolean>
}

/** @internal A budget's options, validated, in integer units (`RetryBudget.Resolved`). */
export interface Resolved {
  readonly percentCanRetry: number
  readonly ttl: Duration.Duration
  readonly minRetriesPerSecond: number
  readonly ttlMillis: number
  readonly depositUnits: number
  readonly withdrawUnits: number
  readonly reserveUnits: number
  readonly buckets: number
  readonly bucketMillis: number
}

/** @internal */
export const tag: Context.Tag<RetryBudget, RetryBudget> = Context.GenericTag<RetryBudget>(
  "@effect-backoff/core/RetryBudget"
)

/**
 * @internal The key of a budget's synchronous deposit, `(clock) => void`: the same as
 * `deposit`, done in the loop's own step (the success path gains no Effect step).
 */
export const UnsafeDeposit: unique symbol = Symbol.for("@effect-backoff/core/RetryBudget/unsafeDeposit")

/** @internal The key of a budget's synchronous withdrawal, `(clock) => boolean` (in-memory budgets). */
export const UnsafeTryWithdraw: unique symbol = Symbol.for("@effect-backoff/core/RetryBudget/unsafeTryWithdraw")

/** @internal The synchronous withdrawal of a budget, when it has one. */
export const unsafeTryWithdrawOf = (budget: RetryBudget): ((clock: Clock.Clock) => boolean) | undefined =>
  (budget as unknown as { readonly [UnsafeTryWithdraw]?: (clock: Clock.Clock) => boolean })[UnsafeTryWithdraw]

/** @internal The synchronous deposit of a budget, when it has one. */
export const unsafeDepositOf = (budget: RetryBudget): ((clock: Clock.Clock) => void) | undefined =>
  (budget as unknown as { readonly [UnsafeDeposit]?: (clock: Clock.Clock) => void })[UnsafeDeposit]

/** @internal */
export const isRetryBudget = (u: unknown): u is RetryBudget => typeof u === "object" && u !== null && TypeId in u

/**
 * @internal Token arithmetic is done in integer units: one token is `UNIT` units, so
 * `percentCanRetry` is exact to six decimal places (10 runs at 0.1 fund exactly one retry).
 */
export const UNIT = 1_000_000

/**
 * @internal The ttl window is cut into this many time buckets. Deposits are counted over
 * the last `BUCKETS` buckets (they live between ttl − ttl/50 and ttl) and withdrawals over
 * the last `BUCKETS + 1` (they live between ttl and ttl + ttl/50): both sides err on the
 * side of fewer retries, so no window of ttl ever sees more than the budget allows.
 */
export const BUCKETS = 50

type Settings = Resolved

const KEYS = ["percentCanRetry", "ttl", "minRetriesPerSecond"]

/** @internal Validates budget options; `extra` names further keys a caller (Redis) accepts. */
export const resolve = (options: unknown, extra: ReadonlyArray<string> = []): Resolved => {
  const o = record(options, [...KEYS, ...extra])
  const percentCanRetry = o.percentCanRetry === undefined ? 0.2 : o.percentCanRetry
  if (
    typeof percentCanRetry !== "number" || !Number.isFinite(percentCanRetry) || percentCanRetry < 0 ||
    percentCanRetry > 1000
  ) {
    throw invalid("percentCanRetry", percentCanRetry, "a number from 0 to 1000 (0.2: retries add at most 20%)")
  }
  const minRetriesPerSecond = o.minRetriesPerSecond === undefined ? 10 : o.minRetriesPerSecond
  if (typeof minRetriesPerSecond !== "number" || !Number.isFinite(minRetriesPerSecond) || minRetriesPerSecond < 0) {
    throw invalid("minRetriesPerSecond", minRetriesPerSecond, "a finite number >= 0")
  }
  const ttlMillis = o.ttl === undefined ? 10_000 : durationMillis("ttl", o.ttl)
  if (ttlMillis <= 0) throw invalid("ttl", o.ttl, "a positive, finite duration (\"10 seconds\")")
  return {
    percentCanRetry,
    ttl: Duration.millis(ttlMillis),
    minRetriesPerSecond,
    ttlMillis,
    depositUnits: Math.round(percentCanRetry * UNIT),
    withdrawUnits: UNIT,
    reserveUnits: Math.round(minRetriesPerSecond * (ttlMillis / 1000) * UNIT),
    buckets: BUCKETS,
    bucketMillis: ttlMillis / BUCKETS
  }
}

/**
 * @internal The in-memory ledger: two rings of time buckets with running sums, so a
 * deposit is one bucket check and two additions (O(1) amortised, no allocation).
 */
export class Ledger {
  private readonly deposits: Float64Array
  private readonly withdrawals: Float64Array
  private depositSum = 0
  private withdrawalSum = 0
  private bucket = Number.NEGATIVE_INFINITY

  constructor(readonly settings: Settings) {
    this.deposits = new Float64Array(settings.buckets)
    this.withdrawals = new Float64Array(settings.buckets + 1)
  }

  /** Moves the rings to bucket `k`, dropping what left each window. Time never goes back. */
  private advance(nowMillis: number): number {
    const k = Math.floor(nowMillis / this.settings.bucketMillis)
    if (k <= this.bucket) return this.bucket
    const n = this.settings.buckets
    if (k - this.bucket > n) {
      this.deposits.fill(0)
      this.withdrawals.fill(0)
      this.depositSum = 0
      this.withdrawalSum = 0
    } else {
      for (let b = this.bucket + 1; b <= k; b++) {
        const i = b % n
        this.depositSum -= this.deposits[i]!
        this.deposits[i] = 0
        const j = b % (n + 1)
        this.withdrawalSum -= this.withdrawals[j]!
        this.withdrawals[j] = 0
      }
    }
    this.bucket = k
    return k
  }

  /** Adds `runs` deposits at `nowMillis`. */
  deposit(nowMillis: number, runs = 1): void {
    const k = this.advance(nowMillis)
    const units = this.settings.depositUnits * runs
    this.deposits[k % this.settings.buckets] += units
    this.depositSum += units
  }

  /** The units available now: deposits in the window, plus the reserve, minus withdrawals. */
  balanceUnits(nowMillis: number): number {
    this.advance(nowMillis)
    return this.depositSum + this.settings.reserveUnits - this.withdrawalSum
  }

  /** Withdraws one token if the balance has one. */
  tryWithdraw(nowMillis: number): boolean {
    const k = this.advance(nowMillis)
    const units = this.settings.withdrawUnits
    if (this.depositSum + this.settings.reserveUnits - this.withdrawalSum < units) return false
    this.withdrawals[k % (this.settings.buckets + 1)] += units
    this.withdrawalSum += units
    return true
  }
}

/**
 * @internal The budget's time: the Clock's wall-clock milliseconds, the one time a fleet shares (a
 * BigInt of nanoseconds would cost the success path more than the rest of a deposit). The
 * ledger never moves back in time, so a wall-clock step back only holds its buckets.
 */
export const budgetMillis = (clock: Clock.Clock): number => clock.unsafeCurrentTimeMillis()

const yes = Effect.succeed(true)
const no = Effect.succeed(false)

/** @internal A budget over a ledger, stepping on Effect's Clock (so TestClock drives it). */
export const fromLedger = (ledger: Ledger): RetryBudget => {
  const unsafeDeposit = (clock: Clock.Clock) => ledger.deposit(budgetMillis(clock))
  const unsafeTryWithdraw = (clock: Clock.Clock) => ledger.tryWithdraw(budgetMillis(clock))
  return {
    [TypeId]: TypeId,
    [UnsafeDeposit]: unsafeDeposit,
    [UnsafeTryWithdraw]: unsafeTryWithdraw,
    deposit: Effect.clockWith((clock) => {
      unsafeDeposit(clock)
      return Effect.void
    }),
    tryWithdraw: Effect.clockWith((clock) => unsafeTryWithdraw(clock) ? yes : no)
  } as RetryBudget
}

/** @internal */
export const make = (options?: unknown): Effect.Effect<RetryBudget> => {
  const resolved = resolve(options)
  return Effect.sync(() => fromLedger(new Ledger(resolved)))
}

/** @internal */
export const layer = (options?: unknown): Layer.Layer<RetryBudget> => Layer.effect(tag, make(options))

const withdrawFrom = (budget: RetryBudget | undefined): Effect.Effect<boolean, never, any> =>
  budget === undefined ? Effect.flatMap(tag, (b) => b.tryWithdraw) : budget.tryWithdraw

const checkBudget = (budget: unknown): RetryBudget | undefined => {
  if (budget === undefined || isRetryBudget(budget)) return budget
  throw invalid("budget", budget, "a RetryBudget (from RetryBudget.make), or nothing to use the one in context")
}

/** @internal `RetryBudget.limit`: each step that would recur withdraws a token; none left ends the schedule. */
export const limit = dual(
  (args) => Schedule.isSchedule(args[0]),
  <Out, In, R>(self: Schedule.Schedule<Out, In, R>, budget?: RetryBudget): Schedule.Schedule<Out, In, any> => {
    const withdraw = withdrawFrom(checkBudget(budget))
    return Schedule.makeWithState(
      self.initial,
      (now, input: In, state) =>
        Effect.flatMap(self.step(now, input, state), (result) => {
          if (effect.ScheduleDecision.isDone(result[2])) return Effect.succeed(result)
          return Effect.map(
            withdraw,
            (ok) => ok ? result : [result[0], result[1], effect.ScheduleDecision.done] as const
          )
        })
    )
  }
)

/** @internal `RetryBudget.track`: one deposit, then the effect. */
export const track = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(self: Effect.Effect<A, E, R>, budget?: RetryBudget): Effect.Effect<A, E, any> => {
    const b = checkBudget(budget)
    return b === undefined
      ? Effect.flatMap(tag, (service) => Effect.zipRight(service.deposit, self))
      : Effect.zipRight(b.deposit, self)
  }
)

/** @internal The `budget` option of a policy: `true` (the one in context), a budget, or none. */
export const budgetOption = (input: unknown): RetryBudget | true | undefined => {
  if (input === undefined || input === false) return undefined
  if (input === true || isRetryBudget(input)) return input
  throw invalid("budget", input, "true (the RetryBudget in context) or a RetryBudget value")
}
