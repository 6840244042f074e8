import { Effect, Option } from "effect"
import type { Duration, Schedule } from "effect"
import * as callbacks from "./callbacks.js"
import type { LoopOptions, RetryMode, Run } from "./loop.js"
import { execute } from "./loop.js"
import * as options from "./options.js"
import * as plans from "./plan.js"
import { durationMillis, invalid, maxTriesValue } from "./validate.js"

// ---------------------------------------------------------------------------
// Schedule combinators: a policy as one Schedule
// ---------------------------------------------------------------------------

const scheduleArg = (name: string, self: unknown): Schedule.Schedule<unknown, any, any> => {
  if (!plans.isAnySchedule(self)) throw invalid(`${name} schedule`, self, "a Schedule (e.g. Wait.expo())")
  return self
}

type Limit<A> = {
  (limit: A): <Out, In, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Duration.Duration, In, R>
  <Out, In, R>(self: Schedule.Schedule<Out, In, R>, limit: A): Schedule.Schedule<Duration.Duration, In, R>
}

/**
 * A dual combinator that validates its argument at once, in the data-last form too: a
 * bad limit throws where it is written, not where the policy is first used.
 */
const limit = <A, V>(
  name: string,
  read: (input: A) => V,
  extend: (schedule: Schedule.Schedule<unknown, any, any>, value: V) => plans.Plan
): Limit<A> => {
  const apply = (self: unknown, value: V) => plans.toSchedule(extend(scheduleArg(name, self), value))
  return function(this: unknown) {
    if (arguments.length >= 2) return apply(arguments[0], read(arguments[1]))
    const value = read(arguments[0])
    return (self: unknown) => apply(self, value)
  } as Untyped
}

/** @internal `Backoff.maxTries(n)`: `n` calls in all, the first counted. */
export const maxTries: Limit<number> = limit("maxTries", maxTriesValue, plans.withMaxTries)

/** @internal `Backoff.maxTime(d)`: python's `max_time`, the schedule ends once the budget is spent, each delay clamped. */
export const maxTime: Limit<Duration.DurationInput> = limit(
  "maxTime",
  (d: Duration.DurationInput) => durationMillis("maxTime", d, true),
  plans.withMaxTime
)

/**
 * @internal A function typed by its public module (whose signature names the public
 * details types), implemented here without them.
 */
export type Untyped = (...args: Array<any>) => any

const tapOptions = (name: string, o: unknown): "exception" | "value" => {
  const r = options.record(o, ["input"])
  if (r.input === undefined) return "exception"
  if (r.input !== "exception" && r.input !== "value") {
    throw invalid(`${name}.input`, r.input, "\"exception\" or \"value\"")
  }
  return r.input
}

const tap = (event: "onBackoff" | "onGiveup", name: string): Untyped => {
  const read = (handler: unknown, o: unknown): plans.Tap => {
    if (typeof handler !== "function") {
      throw invalid(name, handler, "a function (details) => void | Promise<void> | Effect<void>")
    }
    return { handler: handler as callbacks.AnyHandler, key: tapOptions(name, o) }
  }
  const apply = (self: unknown, t: plans.Tap) => plans.toSchedule(plans.withTap(scheduleArg(name, self), event, t))
  return function(this: unknown) {
    if (plans.isAnySchedule(arguments[0])) return apply(arguments[0], read(arguments[1], arguments[2]))
    const t = read(arguments[0], arguments[1])
    return (self: unknown) => apply(self, t)
  }
}

/** @internal */
export const tapBackoff = tap("onBackoff", "tapBackoff")

/** @internal */
export const tapGiveup = tap("onGiveup", "tapGiveup")

// ---------------------------------------------------------------------------
// Applying a policy to an Effect or a function
// ---------------------------------------------------------------------------

const isClass = (f: Function): boolean =>
  f.prototype !== undefined &&
  (f.prototype === Error.prototype || Object.prototype.isPrototypeOf.call(Error.prototype, f.prototype))

/**
 * @internal The `exception` filter: an error class (instanceof, subclasses included), a
 * `_tag` string, a predicate, or an array of these. `undefined` matches every failure.
 * A predicate may answer with a boolean, an Effect or a Promise of one.
 */
export const exceptionMatcher = (
  input: unknown,
  option = "exception"
): ((e: unknown) => boolean | Effect.Effect<boolean, never, unknown>) | undefined => {
  if (input === undefined) return undefined
  if (typeof input === "string") {
    return (e) => typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === input
  }
  if (typeof input === "function") {
    if (isClass(input)) return (e) => e instanceof (input as Function)
    return (e) => callbacks.verdict(input as callbacks.AnyPredicate, e)
  }
  if (Array.isArray(input)) {
    if (input.length === 0) {
      throw invalid(option, input, "an error class, a _tag string, a predicate, or a non-empty array of these")
    }
    const matchers = input.map((x, i) => exceptionMatcher(x, `${option}[${i}]`)!)
    return (e) => anyOf(matchers, 0, e)
  }
  throw invalid(option, input, "an error class, a _tag string, a predicate, or an array of these")
}

const anyOf = (
  matchers: ReadonlyArray<(e: unknown) => boolean | Effect.Effect<boolean, never, unknown>>,
  i: number,
  e: unknown
): boolean | Effect.Effect<boolean, never, unknown> => {
  for (; i < matchers.length; i++) {
    const answer = matchers[i]!(e)
    if (answer === true) return true
    if (answer !== false) {
      const rest = i + 1
      return Effect.flatMap(answer, (yes) => {
        if (yes) return Effect.succeed(true)
        const more = anyOf(matchers, rest, e)
        return typeof more === "boolean" ? Effect.succeed(more) : more
      })
    }
  }
  return false
}

// In JavaScript these mean a bug in the caller (an unbound method, a typo), never a
// transient condition: thrown synchronously, they are defects, not retried
const isProgrammingError = (e: unknown): boolean => e instanceof TypeError || e instanceof ReferenceError

/**
 * @internal One call of a wrapped function as an Effect: an Effect it returns runs as it
 * is; a throw, or a Promise's rejection, is a retryable failure carrying the thrown value.
 * A synchronous `TypeError` or `ReferenceError` (an unbound method such as
 * `onException(client.get, ...)`, a typo) is a bug, not a failure: a defect, never
 * retried and never typed as the function's error.
 */
const callTarget = (f: Function, args: ReadonlyArray<unknown>) =>
  Effect.suspend((): Effect.Effect<unknown, unknown, unknown> => {
    let result: unknown
    try {
      result = f(...args)
    } catch (e) {
      return isProgrammingError(e) ? Effect.die(e) : Effect.fail(e)
    }
    if (Effect.isEffect(result)) return result
    if (callbacks.isPromiseLike(result)) {
      return Effect.tryPromise({ try: () => result as PromiseLike<unknown>, catch: (e) => e })
    }
    return Effect.succeed(result)
  })

/** @internal The run in a span named after the target, when the options ask for one. */
export const traced = <A, E, R>(
  loop: LoopOptions,
  target: string,
  run: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  loop.span === undefined
    ? run
    : Effect.withSpan(run, loop.span === true ? target : loop.span, { attributes: { "backoff.target": target } })

/**
 * @internal Applies a loop to an Effect (giving an Effect) or to a function (giving a
 * function with the same parameters, target = its name, args = the call's arguments).
 */
export const applyTo = (
  self: unknown,
  loop: LoopOptions,
  mode: RetryMode,
  build: (run: Run, self: Effect.Effect<any, any, any>) => Effect.Effect<any, any, any>
): any => {
  if (Effect.isEffect(self)) {
    const target = loop.target ?? "effect"
    return traced(loop, target, execute(loop, mode, target, [], (run) => build(run, run.guarded(run.observe(self)))))
  }
  if (typeof self === "function") {
    const target = loop.target ?? (self.name || "effect")
    const wrapped = (...args: Array<unknown>) => {
      const call = callTarget(self, args)
      return traced(
        loop,
        target,
        execute(loop, mode, target, args, (run) => build(run, run.guarded(run.observe(call))))
      )
    }
    // keep the name, so a policy stacked on this function still reports the original target
    return Object.defineProperty(wrapped, "name", { value: target })
  }
  throw invalid("self", self, "an Effect or a function returning an Effect, a Promise or a value")
}

const raise = (e: unknown) => Effect.fail(e)
const none = () => Effect.succeedNone
const exceptionKey = () => "exception" as const
const valueKey = () => "value" as const

const retryMode: RetryMode = { key: exceptionKey, finish: raise }
const optionalMode: RetryMode = { key: exceptionKey, finish: none }
const repeatMode: RetryMode = { key: valueKey, finish: Effect.succeed }

/** @internal The attempt of a retrying run: matching failures go to the loop; the rest pass through. */
const retrying = (
  loop: LoopOptions,
  matches: ((e: unknown) => boolean | Effect.Effect<boolean, never, unknown>) | undefined,
  optional: boolean
) => {
  const hasSuccessHandlers = loop.onSuccess !== undefined
  return (run: Run, effect: Effect.Effect<any, any, any>) => {
    const onFailure = matches === undefined
      ? (e: unknown) => run.retry(e)
      : (e: unknown) => callbacks.whenVerdict(matches(e), (yes) => yes ? run.retry(e) : Effect.fail(e))
    if (!hasSuccessHandlers && !optional) return Effect.catchAll(effect, onFailure)
    return Effect.matchEffect(effect, {
      onFailure,
      onSuccess: (a) => {
        const result = optional ? Effect.succeed(Option.some(a)) : Effect.succeed(a)
        return hasSuccessHandlers ? Effect.zipRight(run.succeed(a, false), result) : result
      }
    })
  }
}

/** @internal The attempt of a repeating run: values the predicate accepts go to the loop again. */
const repeating = (loop: LoopOptions, again: callbacks.AnyPredicate | undefined) => {
  const hasSuccessHandlers = loop.onSuccess !== undefined
  return (run: Run, effect: Effect.Effect<any, any, any>) => {
    const done = (a: unknown) => hasSuccessHandlers ? Effect.as(run.succeed(a, true), a) : Effect.succeed(a)
    if (again === undefined) return Effect.flatMap(effect, (a) => run.retry(a))
    return Effect.flatMap(
      effect,
      (a) => callbacks.whenVerdict(callbacks.verdict(again, a), (yes) => yes ? run.retry(a) : done(a))
    )
  }
}

// ---------------------------------------------------------------------------
// python-backoff's spelling: onException / onPredicate / schedule
// ---------------------------------------------------------------------------

const EXCEPTION_KEYS = [...options.COMMON_KEYS, "exception", "giveup", "raiseOnGiveup"]
const PREDICATE_KEYS = [...options.COMMON_KEYS, "predicate"]
const falsy = (a: unknown) => !a

/** @internal Resolves the options once and returns the function that applies them. */
export const onException = (input: unknown): (self: unknown) => any => {
  const o = options.record(input, EXCEPTION_KEYS)
  const loop = options.loopOptions(o, options.policyOptions(o), options.predicateOption("giveup", o.giveup))
  const matches = exceptionMatcher(o.exception)
  if (o.raiseOnGiveup !== undefined && typeof o.raiseOnGiveup !== "boolean") {
    throw invalid("raiseOnGiveup", o.raiseOnGiveup, "a boolean")
  }
  const optional = o.raiseOnGiveup === false
  const build = retrying(loop, matches, optional)
  const mode = optional ? optionalMode : retryMode
  return (self) => applyTo(self, loop, mode, build)
}

/** @internal Resolves the options once and returns the function that applies them. */
export const onPredicate = (input: unknown): (self: unknown) => any => {
  const o = options.record(input, PREDICATE_KEYS)
  const loop = options.loopOptions(o, options.policyOptions(o), undefined)
  const build = repeating(loop, options.predicateOption("predicate", o.predicate) ?? falsy)
  return (self) => applyTo(self, loop, repeatMode, build)
}

/** @internal `Backoff.schedule(options)`: the policy python-backoff's options build. */
export const schedule: Untyped = (input: unknown): Schedule.Schedule<unknown, any, any> => {
  const o = options.record(input, options.POLICY_KEYS)
  const policy = options.policyOptions(o)
  if (policy.schedule === undefined) {
    throw invalid(
      "options",
      input,
      "static values: a policy Schedule is built once, so wait, maxTries and maxTime cannot be Effects or Configs here"
    )
  }
  return policy.schedule
}

// ---------------------------------------------------------------------------
// Effect's spelling: Backoff.retry / Backoff.repeat with any Schedule
// ---------------------------------------------------------------------------

const SCHEDULE_KEYS = [...options.LOOP_KEYS, "schedule", "while", "until", "times"]

/**
 * @internal The policy of `{ schedule, times }`: the schedule as it is (no default jitter,
 * no default wait), `times` more runs at most. One of the two is required, and `times`
 * alone must be finite: otherwise the loop would run again at once and forever.
 */
const schedulePlan = (o: Record<string, unknown>): plans.Plan => {
  if (o.schedule === undefined && o.times === undefined) {
    throw invalid(
      "schedule",
      undefined,
      "a Schedule (e.g. Wait.expo().pipe(Backoff.maxTries(5))) or a `times` limit: without either, it would retry at once, forever"
    )
  }
  let policy: Schedule.Schedule<unknown, any, any> | undefined
  if (o.schedule !== undefined) {
    if (!plans.isAnySchedule(o.schedule)) throw invalid("schedule", o.schedule, "a Schedule (e.g. Wait.expo())")
    policy = o.schedule
  }
  if (o.times !== undefined) {
    if (typeof o.times !== "number" || !(Number.isInteger(o.times) || o.times === Infinity) || o.times < 0) {
      throw invalid("times", o.times, "an integer >= 0")
    }
    if (o.times === Infinity && policy === undefined) {
      throw invalid(
        "times",
        o.times,
        "a finite integer >= 0 without a schedule: `times` alone retries at once, so an unbounded one would retry forever"
      )
    }
    const times = o.times
    policy = policy === undefined
      ? plans.toSchedule({ ...plans.fromStrategy(immediately), maxTries: times + 1 })
      : plans.toSchedule(plans.withMaxTries(policy, times + 1))
  }
  return plans.fromSchedule(policy!)
}

// `times` alone: the next run at once, as Effect.retry({ times }) does
const immediately: plans.Strategy = { next: () => ZERO }
const ZERO: plans.Step = { wait: 0 }

const not = (p: callbacks.AnyPredicate): callbacks.AnyPredicate => (input) => {
  const answer = callbacks.verdict(p, input)
  return typeof answer === "boolean" ? !answer : Effect.map(answer, (yes) => !yes)
}

const either = (a: callbacks.AnyPredicate, b: callbacks.AnyPredicate): callbacks.AnyPredicate => (input) => {
  const first = callbacks.verdict(a, input)
  if (first === true) return true
  if (first === false) return callbacks.verdict(b, input)
  return Effect.flatMap(first, (yes) => {
    if (yes) return Effect.succeed(true)
    const second = callbacks.verdict(b, input)
    return typeof second === "boolean" ? Effect.succeed(second) : second
  })
}

const scheduleLoop = (input: unknown, keys: ReadonlyArray<string>, stopOn: "retry" | "repeat") => {
  const o = options.record(input, keys)
  const plan = schedulePlan(o)
  const whileP = options.predicateOption("while", o.while)
  const untilP = options.predicateOption("until", o.until)
  // retry: `while` false or `until` true gives up on that error (handlers run, reason "giveup")
  // repeat: they decide whether to run again; a value that stops the repeat is the result
  const stop = whileP === undefined ? untilP : untilP === undefined ? not(whileP) : either(not(whileP), untilP)
  const loop = options.loopOptions(o, { plan, runtime: undefined }, stopOn === "retry" ? stop : undefined)
  return { loop, again: stop === undefined ? undefined : not(stop) }
}

/** @internal `Backoff.retry(self, options)`. */
export const retry = (input: unknown): (self: unknown) => any => {
  const { loop } = scheduleLoop(input, SCHEDULE_KEYS, "retry")
  const build = retrying(loop, undefined, false)
  return (self) => applyTo(self, loop, retryMode, build)
}

/** @internal `Backoff.repeat(self, options)`. */
export const repeat = (input: unknown): (self: unknown) => any => {
  const { again, loop } = scheduleLoop(input, SCHEDULE_KEYS, "repeat")
  const build = repeating(loop, again)
  return (self) => applyTo(self, loop, repeatMode, build)
}

/** @internal `dual` by hand: the data-last form validates and resolves its options now, once. */
const byHand = (make: (options: unknown) => (self: unknown) => any): Untyped =>
  function(this: unknown) {
    return arguments.length >= 2 ? make(arguments[1])(arguments[0]) : make(arguments[0])
  }

/** @internal */
export const onExceptionDual: Untyped = byHand(onException)
/** @internal */
export const onPredicateDual: Untyped = byHand(onPredicate)
/** @internal */
export const retryDual: Untyped = byHand(retry)
/** @internal */
export const repeatDual: Untyped = byHand(repeat)
