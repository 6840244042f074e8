import { Effect, LogLevel } from "effect"
import type { Schedule } from "effect"
import { throttleOption } from "./adaptiveThrottle.js"
import * as callbacks from "./callbacks.js"
import { guardOption } from "./circuitBreaker.js"
import * as jitter from "./jitter.js"
import type { LoopOptions } from "./loop.js"
import { needsStart } from "./loop.js"
import * as plans from "./plan.js"
import { budgetOption } from "./retryBudget.js"
import * as validate from "./validate.js"
import { durationMillis, invalid, maxTriesValue } from "./validate.js"
import * as strategy from "./wait.js"

/** @internal The option names every entry point's loop takes (handlers, logging, naming). */
export const LOOP_KEYS: ReadonlyArray<string> = [
  "onSuccess",
  "onBackoff",
  "onGiveup",
  "logger",
  "backoffLogLevel",
  "giveupLogLevel",
  "target",
  "span",
  "budget",
  "breaker",
  "throttle"
]

/** @internal The option names that build a policy (python-backoff's spelling). */
export const POLICY_KEYS: ReadonlyArray<string> = ["wait", "maxTries", "maxTime", "jitter"]

/** @internal The option names onException, onPredicate and HttpBackoff share. */
export const COMMON_KEYS: ReadonlyArray<string> = [...POLICY_KEYS, ...LOOP_KEYS]

const logLevel = (option: string, input: unknown, fallback: LogLevel.LogLevel): LogLevel.LogLevel => {
  if (input === undefined) return fallback
  if (typeof input === "object" && input !== null && LogLevel.allLevels.includes(input as LogLevel.LogLevel)) {
    return input as LogLevel.LogLevel
  }
  throw invalid(option, input, "an Effect LogLevel (LogLevel.Info, LogLevel.Error, ...)")
}

/** @internal The options object of an entry point (`validate.record`). */
export const record = validate.record

/** @internal A static `wait` option: a Schedule (our strategies and policies carry a plan for the fast path). */
export const waitSchedule = (input: unknown): Schedule.Schedule<unknown, any, any> => {
  if (!plans.isAnySchedule(input)) {
    throw invalid("wait", input, "a wait strategy (a Schedule, e.g. Wait.expo()) or an Effect producing one")
  }
  return input
}

/** @internal A `(input) => boolean | Effect<boolean> | Promise<boolean>` option, or undefined. */
export const predicateOption = (option: string, input: unknown): callbacks.AnyPredicate | undefined => {
  if (input === undefined) return undefined
  if (typeof input !== "function") {
    throw invalid(option, input, "a function (input) => boolean | Effect<boolean> | Promise<boolean>")
  }
  return input as callbacks.AnyPredicate
}

/**
 * @internal The policy python-backoff's options build: the wait strategy, jittered unless
 * it already carries a jitter of ours (default `Jitter.full`), then `maxTries` and
 * `maxTime`. One Schedule, the same one `Backoff.schedule(options)` returns.
 */
export const buildPolicy = (
  wait: Schedule.Schedule<unknown, any, any>,
  jitterOption: unknown,
  maxTries: number,
  maxTime: number
): Schedule.Schedule<unknown, any, any> => {
  let policy = wait
  const plan = plans.planOf(wait)
  if (plan !== undefined && plan.jittered) {
    if (jitterOption !== undefined) {
      throw invalid(
        "jitter",
        jitterOption,
        "absent: the wait is already jittered with Jitter.apply, and jittering it twice would lose one of the two"
      )
    }
  } else {
    policy = plans.toSchedule(
      plans.withJitter(policy, jitter.resolve(jitterOption === undefined ? jitter.full : jitterOption))
    )
  }
  if (maxTries !== Infinity) policy = plans.toSchedule(plans.withMaxTries(policy, maxTries))
  if (maxTime !== Infinity) policy = plans.toSchedule(plans.withMaxTime(policy, maxTime))
  return policy
}

const DEFAULT_WAIT = strategy.toSchedule(strategy.expo())

/** @internal A `maxTime` value in milliseconds (Infinity allowed), static or read at run time. */
export const maxTimeValue = (input: unknown): number => durationMillis("maxTime", input, true)

const check = <A>(f: () => A): Effect.Effect<A, unknown> => {
  try {
    return Effect.succeed(f())
  } catch (e) {
    return Effect.fail(e)
  }
}

const isInvalidOption = (u: unknown): boolean =>
  typeof u === "object" && u !== null && (u as { readonly _tag?: unknown })._tag === "InvalidOptionError"

/**
 * An option read at run time. A bad value it yields fails the run with a typed
 * `InvalidOptionError`; so does one its Effect dies with (e.g. `Config.map(c, Wait.expo)`
 * where the constructor throws on the value read): a mistake in configuration is a
 * failure the caller can handle, not a defect.
 */
const runtimeValue = <A>(
  input: unknown,
  read: (value: unknown) => A
): { readonly value: A | undefined; readonly effect: Effect.Effect<A, unknown, unknown> | undefined } =>
  Effect.isEffect(input)
    ? {
      value: undefined,
      effect: Effect.flatMap(
        Effect.catchAllDefect(input, (d) => isInvalidOption(d) ? Effect.fail(d) : Effect.die(d)),
        (v) => check(() => read(v))
      )
    }
    : { value: input === undefined ? undefined : read(input), effect: undefined }

/**
 * @internal The policy of python-backoff's options (`wait`, `jitter`, `maxTries`,
 * `maxTime`): a static plan, or an Effect building the plan of one run when an option is
 * an Effect or a Config (read once per run; a bad value fails that run before its first
 * attempt).
 */
export const policyOptions = (o: Record<string, unknown>): Pick<LoopOptions, "plan" | "runtime"> & {
  readonly schedule: Schedule.Schedule<unknown, any, any> | undefined
} => {
  const wait = runtimeValue(o.wait, waitSchedule)
  const maxTries = runtimeValue(o.maxTries, maxTriesValue)
  const maxTime = runtimeValue(o.maxTime, maxTimeValue)
  // the jitter option is checked now, even when the wait is read at run time
  if (o.jitter !== undefined) jitter.resolve(o.jitter)
  const build = (w: Schedule.Schedule<unknown, any, any> | undefined, n: number | undefined, t: number | undefined) =>
    buildPolicy(w ?? DEFAULT_WAIT, o.jitter, n ?? Infinity, t ?? Infinity)
  if (wait.effect === undefined && maxTries.effect === undefined && maxTime.effect === undefined) {
    const schedule = build(wait.value, maxTries.value, maxTime.value)
    return { plan: plans.fromSchedule(schedule), runtime: undefined, schedule }
  }
  const runtime = Effect.gen(function*() {
    const w = wait.effect === undefined ? wait.value : yield* wait.effect
    const n = maxTries.effect === undefined ? maxTries.value : yield* maxTries.effect
    const t = maxTime.effect === undefined ? maxTime.value : yield* maxTime.effect
    return yield* check(() => plans.fromSchedule(build(w, n, t)))
  })
  return { plan: undefined, runtime, schedule: undefined }
}

/**
 * @internal Validates and resolves the loop's own options (handlers, logging, naming)
 * around a policy; `keys` lists the names the caller accepts.
 */
export const loopOptions = (
  o: Record<string, unknown>,
  policy: Pick<LoopOptions, "plan" | "runtime">,
  giveup: callbacks.AnyPredicate | undefined
): LoopOptions => {
  if (o.logger !== undefined && typeof o.logger !== "boolean") {
    throw invalid("logger", o.logger, "a boolean (false turns the default log lines off)")
  }
  if (o.target !== undefined && typeof o.target !== "string") throw invalid("target", o.target, "a string")
  if (o.span !== undefined && typeof o.span !== "boolean" && (typeof o.span !== "string" || o.span === "")) {
    throw invalid("span", o.span, "a boolean or a non-empty span name")
  }
  const onSuccess = callbacks.handlersOption("onSuccess", o.onSuccess)
  const onBackoff = callbacks.handlersOption("onBackoff", o.onBackoff)
  const onGiveup = callbacks.handlersOption("onGiveup", o.onGiveup)
  const logger = o.logger !== false
  return {
    ...policy,
    giveup,
    onSuccess,
    onBackoff,
    onGiveup,
    logger,
    backoffLogLevel: logLevel("backoffLogLevel", o.backoffLogLevel, LogLevel.Info),
    giveupLogLevel: logLevel("giveupLogLevel", o.giveupLogLevel, LogLevel.Error),
    target: o.target as string | undefined,
    span: o.span === true || typeof o.span === "string" ? o.span : undefined,
    budget: budgetOption(o.budget),
    guard: guardOption(o.breaker),
    throttle: throttleOption(o.throttle),
    timed: logger || policy.runtime !== undefined || (policy.plan !== undefined && needsStart(policy.plan)) ||
      onSuccess !== undefined || onBackoff !== undefined || onGiveup !== undefined
  }
}
