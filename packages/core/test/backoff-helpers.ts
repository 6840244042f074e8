/**
 * Helpers shared by the Backoff test files (split by topic from one file).
 */
import { Cause, Effect, Exit, FiberRef, Option } from "effect"

/** The defect of a dying Exit, or fails the test. */
export const defectOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  if (Exit.isSuccess(exit)) throw new Error("expected a defect, got a success")
  const defect = Cause.dieOption(exit.cause)
  if (Option.isNone(defect)) throw new Error(`expected a defect, got ${Cause.pretty(exit.cause)}`)
  return defect.value
}

/** An effect that fails with the next error of `errors` (the last repeating), counting calls. */
export const failing = <E>(errors: ReadonlyArray<E>, counter: { calls: number }) =>
  Effect.suspend(() => {
    const e = errors[Math.min(counter.calls, errors.length - 1)]!
    counter.calls++
    return Effect.fail(e)
  })

/** Fails `n` times with `error`, then succeeds with `value`. */
export const flaky = <A, E>(n: number, error: E, value: A, counter: { calls: number }) =>
  Effect.suspend(() => ++counter.calls <= n ? Effect.fail(error) : Effect.succeed(value))

export const keysOf = (o: object) => Object.keys(o).sort()

/** Which concurrent run a fiber belongs to. */
export const Id = FiberRef.unsafeMake(0)
