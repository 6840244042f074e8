import { Effect, Option } from "effect"
import type { Kind, Run } from "./loop.js"
import { execute } from "./loop.js"
import type { Policy } from "./options.js"
import { COMMON_KEYS, predicateOption, resolve } from "./options.js"
import { invalid } from "./validate.js"

const isClass = (f: Function): boolean =>
  f.prototype !== undefined && (f.prototype === Error.prototype || Error.prototype.isPrototypeOf(f.prototype))

/**
 * @internal The `exception` filter: an error class (instanceof, subclasses included), a
 * `_tag` string, a predicate, or an array of these. `undefined` matches every failure.
 */
export const exceptionMatcher = (input: unknown, option = "exception"): ((e: unknown) => boolean) | undefined => {
  if (input === undefined) return undefined
  if (typeof input === "string") {
    return (e) => typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === input
  }
  if (typeof input === "function") {
    if (isClass(input)) return (e) => e instanceof (input as Function)
    return (e) => Boolean((input as (e: unknown) => unknown)(e))
  }
  if (Array.isArray(input)) {
    if (input.length === 0) throw invalid(option, input, "an error class, a _tag string, a predicate, or a non-empty array of these")
    const matchers = input.map((x, i) => exceptionMatcher(x, `${option}[${i}]`)!)
    return (e) => matchers.some((m) => m(e))
  }
  throw invalid(option, input, "an error class, a _tag string, a predicate, or an array of these")
}

const isPromiseLike = (u: unknown): u is PromiseLike<unknown> =>
  u !== null && (typeof u === "object" || typeof u === "function") && typeof (u as PromiseLike<unknown>).then === "function"

/**
 * @internal One call of a wrapped function as an Effect: an Effect it returns runs as it
 * is; a throw, or a Promise's rejection, is a retryable failure carrying the thrown value.
 */
const callTarget = (f: Function, args: ReadonlyArray<unknown>): Effect.Effect<unknown, unknown, unknown> =>
  Effect.suspend(() => {
    let result: unknown
    try {
      result = f(...args)
    } catch (e) {
      return Effect.fail(e)
    }
    if (Effect.isEffect(result)) return result
    if (isPromiseLike(result)) {
      return Effect.tryPromise({ try: () => result as PromiseLike<unknown>, catch: (e) => e })
    }
    return Effect.succeed(result)
  })

/** @internal The run in a span named after the target, when the policy asks for one. */
export const traced = <A, E, R>(policy: Policy, target: string, run: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  policy.span === undefined
    ? run
    : Effect.withSpan(run, policy.span === true ? target : policy.span, { attributes: { "backoff.target": target } })

/**
 * @internal Applies a policy to an Effect (giving an Effect) or to a function (giving a
 * function with the same parameters, target = its name, args = the call's arguments).
 */
export const applyTo = (
  self: unknown,
  policy: Policy,
  kind: Kind,
  build: (run: Run, self: Effect.Effect<any, any, any>) => Effect.Effect<any, any, any>
): any => {
  if (Effect.isEffect(self)) {
    const target = policy.target ?? "effect"
    return traced(policy, target, execute(policy, kind, target, [], (run) => build(run, self)))
  }
  if (typeof self === "function") {
    const target = policy.target ?? (self.name || "effect")
    const wrapped = (...args: Array<unknown>) => {
      const call = callTarget(self, args)
      return traced(policy, target, execute(policy, kind, target, args, (run) => build(run, call)))
    }
    // keep the name, so a policy stacked on this function still reports the original target
    return Object.defineProperty(wrapped, "name", { value: target })
  }
  throw invalid("self", self, "an Effect or a function returning an Effect, a Promise or a value")
}

const EXCEPTION_KEYS = [...COMMON_KEYS, "exception", "giveup", "raiseOnGiveup"]

const raise = (e: unknown) => Effect.fail(e)
const none = () => Effect.succeedNone
const exceptionKey = () => "exception" as const

/** @internal Resolves the options once and returns the function that applies them. */
export const onException = (options: unknown): (self: unknown) => any => {
  const o = (options ?? {}) as Record<string, unknown>
  const policy: Policy = { ...resolve(options, EXCEPTION_KEYS), giveup: predicateOption("giveup", o.giveup) }
  const matches = exceptionMatcher(o.exception)
  if (o.raiseOnGiveup !== undefined && typeof o.raiseOnGiveup !== "boolean") {
    throw invalid("raiseOnGiveup", o.raiseOnGiveup, "a boolean")
  }
  const optional = o.raiseOnGiveup === false
  const kind: Kind = { key: exceptionKey, finish: optional ? none : raise }
  const hasSuccessHandlers = policy.onSuccess !== undefined
  const build = (run: Run, effect: Effect.Effect<any, any, any>) => {
    const onFailure = matches === undefined
      ? (e: unknown) => run.retry(e)
      : (e: unknown) => matches(e) ? run.retry(e) : Effect.fail(e)
    if (!hasSuccessHandlers && !optional) return Effect.catchAll(effect, onFailure)
    return Effect.matchEffect(effect, {
      onFailure,
      onSuccess: (a) => {
        const result = optional ? Effect.succeed(Option.some(a)) : Effect.succeed(a)
        return hasSuccessHandlers ? Effect.zipRight(run.succeed(a, false), result) : result
      }
    })
  }
  return (self) => applyTo(self, policy, kind, build)
}

const PREDICATE_KEYS = [...COMMON_KEYS, "predicate"]
const valueKey = () => "value" as const
const falsy = (a: unknown) => !a

/** @internal Resolves the options once and returns the function that applies them. */
export const onPredicate = (options: unknown): (self: unknown) => any => {
  const o = (options ?? {}) as Record<string, unknown>
  const policy = resolve(options, PREDICATE_KEYS)
  const predicate = predicateOption("predicate", o.predicate) ?? falsy
  const kind: Kind = { key: valueKey, finish: Effect.succeed }
  const hasSuccessHandlers = policy.onSuccess !== undefined
  const build = (run: Run, effect: Effect.Effect<any, any, any>) => {
    const done = (a: unknown) => hasSuccessHandlers ? Effect.as(run.succeed(a, true), a) : Effect.succeed(a)
    return Effect.flatMap(effect, (a) => {
      const verdict = predicate(a)
      if (Effect.isEffect(verdict)) {
        return Effect.flatMap(Effect.orDie(verdict as Effect.Effect<boolean>), (retry) => retry ? run.retry(a) : done(a))
      }
      return verdict ? run.retry(a) : done(a)
    })
  }
  return (self) => applyTo(self, policy, kind, build)
}
