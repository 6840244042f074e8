import { Effect, LogLevel, Schedule } from "effect"
import type { Jitter } from "../Jitter.js"
import * as jitter from "./jitter.js"
import type { RetryBudget } from "./retryBudget.js"
import { budgetOption } from "./retryBudget.js"
import * as strategy from "./strategy.js"
import { durationMillis, invalid, maxTriesValue } from "./validate.js"

/** @internal A handler as the loop calls it. */
export type AnyHandler = (details: any) => unknown

/**
 * @internal Options resolved and validated once, at construction. The loop reads these
 * fields and nothing else: no option is parsed per run or per attempt.
 */
export interface Policy {
  readonly wait: Schedule.Schedule<unknown, any, any> | undefined
  readonly strategy: strategy.Strategy<any> | undefined
  readonly waitEffect: Effect.Effect<unknown, unknown, unknown> | undefined
  readonly jitter: Jitter | undefined
  readonly maxTries: number
  readonly maxTriesEffect: Effect.Effect<unknown, unknown, unknown> | undefined
  readonly maxTime: number
  readonly maxTimeEffect: Effect.Effect<unknown, unknown, unknown> | undefined
  readonly giveup: ((input: any) => unknown) | undefined
  readonly onSuccess: ReadonlyArray<AnyHandler> | undefined
  readonly onBackoff: ReadonlyArray<AnyHandler> | undefined
  readonly onGiveup: ReadonlyArray<AnyHandler> | undefined
  readonly logger: boolean
  readonly backoffLogLevel: LogLevel.LogLevel
  readonly giveupLogLevel: LogLevel.LogLevel
  readonly target: string | undefined
  /** Wrap each run in a span: its name (true: the target's name), or undefined for none. */
  readonly span: string | true | undefined
  /** Some option is read at run time. */
  readonly runtime: boolean
  /** The run needs the start time: a time budget, handlers or log lines. */
  readonly timed: boolean
  /** Retry budget: a value, `true` for the one in context, or undefined for none. */
  readonly budget: RetryBudget | true | undefined
}

/** @internal The option names every policy takes. */
export const COMMON_KEYS: ReadonlyArray<string> = [
  "wait",
  "maxTries",
  "maxTime",
  "jitter",
  "onSuccess",
  "onBackoff",
  "onGiveup",
  "logger",
  "backoffLogLevel",
  "giveupLogLevel",
  "target",
  "span",
  "budget"
]

const handlers = (option: string, input: unknown): ReadonlyArray<AnyHandler> | undefined => {
  if (input === undefined) return undefined
  const list = Array.isArray(input) ? input : [input]
  list.forEach((h, i) => {
    if (typeof h !== "function") {
      throw invalid(Array.isArray(input) ? `${option}[${i}]` : option, h, "a function (details) => void | Promise<void> | Effect<void>")
    }
  })
  return list.length === 0 ? undefined : list
}

const logLevel = (option: string, input: unknown, fallback: LogLevel.LogLevel): LogLevel.LogLevel => {
  if (input === undefined) return fallback
  if (typeof input === "object" && input !== null && LogLevel.allLevels.includes(input as LogLevel.LogLevel)) {
    return input as LogLevel.LogLevel
  }
  throw invalid(option, input, "an Effect LogLevel (LogLevel.Info, LogLevel.Error, ...)")
}

// Schedule.isSchedule narrows to Schedule<unknown, never, unknown>, which accepts no input
const isAnySchedule = (u: unknown): u is Schedule.Schedule<unknown, unknown, unknown> => Schedule.isSchedule(u)

/** @internal A static `wait` option: a Schedule (our strategies carry a pure fast path). */
export const waitSchedule = (input: unknown) => {
  if (!isAnySchedule(input)) {
    throw invalid("wait", input, "a wait strategy (a Schedule, e.g. Wait.expo()) or an Effect producing one")
  }
  return input
}

/**
 * @internal Validates and resolves the options every policy shares; `keys` lists the
 * names the caller accepts (an unknown name is a typo, and a typo must not pass silently).
 */
export const resolve = (options: unknown, keys: ReadonlyArray<string>): Policy => {
  if (options === undefined || options === null) options = {}
  if (typeof options !== "object") throw invalid("options", options, "an object")
  const o = options as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!keys.includes(key) && o[key] !== undefined) {
      throw invalid(key, o[key], `a known option (one of ${keys.join(", ")})`)
    }
  }
  let wait: Schedule.Schedule<unknown, any, any> | undefined
  let waitEffect: Effect.Effect<unknown, unknown, unknown> | undefined
  if (Effect.isEffect(o.wait)) waitEffect = o.wait
  else wait = o.wait === undefined ? strategy.toSchedule(strategy.expo()) : waitSchedule(o.wait)

  let maxTries = Infinity
  let maxTriesEffect: Effect.Effect<unknown, unknown, unknown> | undefined
  if (Effect.isEffect(o.maxTries)) maxTriesEffect = o.maxTries
  else if (o.maxTries !== undefined) maxTries = maxTriesValue(o.maxTries)

  let maxTime = Infinity
  let maxTimeEffect: Effect.Effect<unknown, unknown, unknown> | undefined
  if (Effect.isEffect(o.maxTime)) maxTimeEffect = o.maxTime
  else if (o.maxTime !== undefined) maxTime = durationMillis("maxTime", o.maxTime, true)

  if (o.logger !== undefined && typeof o.logger !== "boolean") {
    throw invalid("logger", o.logger, "a boolean (false turns the default log lines off)")
  }
  if (o.target !== undefined && typeof o.target !== "string") throw invalid("target", o.target, "a string")
  if (o.span !== undefined && typeof o.span !== "boolean" && (typeof o.span !== "string" || o.span === "")) {
    throw invalid("span", o.span, "a boolean or a non-empty span name")
  }

  const onSuccess = handlers("onSuccess", o.onSuccess)
  const onBackoff = handlers("onBackoff", o.onBackoff)
  const onGiveup = handlers("onGiveup", o.onGiveup)
  const logger = o.logger !== false
  const runtime = waitEffect !== undefined || maxTriesEffect !== undefined || maxTimeEffect !== undefined
  return {
    wait,
    strategy: wait === undefined ? undefined : strategy.strategyOf(wait),
    waitEffect,
    jitter: jitter.resolve(o.jitter === undefined ? jitter.full : o.jitter),
    maxTries,
    maxTriesEffect,
    maxTime,
    maxTimeEffect,
    giveup: undefined,
    onSuccess,
    onBackoff,
    onGiveup,
    logger,
    backoffLogLevel: logLevel("backoffLogLevel", o.backoffLogLevel, LogLevel.Info),
    giveupLogLevel: logLevel("giveupLogLevel", o.giveupLogLevel, LogLevel.Error),
    target: o.target as string | undefined,
    span: o.span === true || typeof o.span === "string" ? o.span : undefined,
    runtime,
    budget: budgetOption(o.budget),
    timed: logger || maxTime !== Infinity || runtime || onSuccess !== undefined || onBackoff !== undefined ||
      onGiveup !== undefined
  }
}

/** @internal A `(input) => boolean | Effect<boolean>` option, or undefined. */
export const predicateOption = (option: string, input: unknown): ((input: any) => unknown) | undefined => {
  if (input === undefined) return undefined
  if (typeof input !== "function") throw invalid(option, input, "a function (input) => boolean | Effect<boolean>")
  return input as (input: any) => unknown
}

/** @internal The values of a run's runtime options, read once per run. */
export interface RunOptions {
  readonly wait: Schedule.Schedule<unknown, any, any>
  readonly strategy: strategy.Strategy<any> | undefined
  readonly maxTries: number
  readonly maxTime: number
}

const check = <A>(f: () => A): Effect.Effect<A, unknown> => {
  try {
    return Effect.succeed(f())
  } catch (e) {
    return Effect.fail(e)
  }
}

/** @internal Reads the runtime options of one run; a bad value fails the run before its first attempt. */
export const readRuntime = (policy: Policy): Effect.Effect<RunOptions, unknown, unknown> =>
  Effect.gen(function*() {
    const wait = policy.waitEffect === undefined
      ? policy.wait!
      : yield* Effect.flatMap(policy.waitEffect, (w) => check(() => waitSchedule(w)))
    const maxTries = policy.maxTriesEffect === undefined
      ? policy.maxTries
      : yield* Effect.flatMap(policy.maxTriesEffect, (n) => check(() => maxTriesValue(n)))
    const maxTime = policy.maxTimeEffect === undefined
      ? policy.maxTime
      : yield* Effect.flatMap(policy.maxTimeEffect, (d) => check(() => durationMillis("maxTime", d, true)))
    return { wait, strategy: strategy.strategyOf(wait), maxTries, maxTime }
  })
