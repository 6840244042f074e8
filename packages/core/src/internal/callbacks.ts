import { Effect } from "effect"
import { invalid } from "./validate.js"

/** @internal A handler as the loop calls it. */
export type AnyHandler = (details: any) => unknown

/** @internal A predicate as the loop calls it: a boolean, an Effect of one, or a Promise of one. */
export type AnyPredicate = (input: any) => unknown

/** @internal */
export const isPromiseLike = (u: unknown): u is PromiseLike<unknown> =>
  u !== null && (typeof u === "object" || typeof u === "function") &&
  typeof (u as PromiseLike<unknown>).then === "function"

/**
 * @internal Runs one handler. A throw, a rejection or a failing/dying Effect becomes a
 * defect of the run: nothing is swallowed, and nothing is retried after it.
 */
export const callHandler = (handler: AnyHandler, details: unknown): Effect.Effect<void, never, unknown> =>
  Effect.suspend(() => {
    const result = handler(details)
    if (Effect.isEffect(result)) return Effect.orDie(result) as Effect.Effect<void, never, unknown>
    if (isPromiseLike(result)) return Effect.promise(() => result)
    return Effect.void
  })

/** @internal Runs the handlers in array order, each awaited before the next. */
export const callHandlers = (
  handlers: ReadonlyArray<AnyHandler>,
  details: unknown
): Effect.Effect<void, never, unknown> =>
  handlers.length === 1
    ? callHandler(handlers[0]!, details)
    : Effect.forEach(handlers, (h) => callHandler(h, details), { discard: true })

/** @internal A handler option: one function or an array of them (validated), undefined when empty. */
export const handlersOption = (option: string, input: unknown): ReadonlyArray<AnyHandler> | undefined => {
  if (input === undefined) return undefined
  const list = Array.isArray(input) ? input : [input]
  list.forEach((h, i) => {
    if (typeof h !== "function") {
      throw invalid(
        Array.isArray(input) ? `${option}[${i}]` : option,
        h,
        "a function (details) => void | Promise<void> | Effect<void>"
      )
    }
  })
  return list.length === 0 ? undefined : list
}

/**
 * @internal A predicate's verdict: a boolean at once, or an Effect of the awaited answer
 * (an Effect's failure or a Promise's rejection is a defect, like a handler's). Anything
 * else is read for its truth, as a plain value.
 */
export const verdict = (predicate: AnyPredicate, input: unknown): boolean | Effect.Effect<boolean, never, unknown> => {
  const result = predicate(input)
  if (typeof result === "boolean") return result
  if (Effect.isEffect(result)) {
    return Effect.map(Effect.orDie(result), Boolean) as Effect.Effect<boolean, never, unknown>
  }
  if (isPromiseLike(result)) return Effect.map(Effect.promise(() => result), Boolean)
  return Boolean(result)
}

/** @internal Continues with `f(answer)`, synchronously when the verdict is a plain boolean. */
export const whenVerdict = <A, E, R>(
  answer: boolean | Effect.Effect<boolean, never, unknown>,
  f: (answer: boolean) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  typeof answer === "boolean" ? f(answer) : (Effect.flatMap(answer, f) as Effect.Effect<A, E, R>)

/** @internal A handler option with `handler` added first (`"first"`) or last, whatever shape the option had. */
export const addHandler = (existing: unknown, handler: AnyHandler, where: "first" | "last"): ReadonlyArray<unknown> => {
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]
  return where === "first" ? [handler, ...list] : [...list, handler]
}
