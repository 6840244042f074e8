/**
 * Type tests of the holes a new user hit (issue 22): a reusable policy whose `exception`
 * filter matches nothing, `Backoff.retry` / `repeat` with neither `schedule` nor `times`,
 * handlers that return a value, and details whose `exception` / `value` is always there.
 * Checked by `tsc` (the workspace typecheck); at run time they only build Effects.
 */
import { Backoff, Timeline, Wait } from "@effect-backoff/core"
import { describe, expectTypeOf, it } from "@effect/vitest"
import { Context, Effect } from "effect"
import type { Duration, Schedule } from "effect"
import type { HttpError } from "../helpers.js"
import { OtherError } from "../helpers.js"

class Metrics extends Context.Tag("Metrics")<Metrics, { readonly inc: (name: string) => void }>() {}

const effect: Effect.Effect<number, HttpError | OtherError> = Effect.succeed(1)
const readQueue: Effect.Effect<ReadonlyArray<string>, OtherError> = Effect.succeed([])

/** Holds code that only has to compile (or fail to): it is never run. */
const compileOnly = (_code: () => unknown): void => {}

describe("a policy built apart from an effect checks its exception filter where it is applied", () => {
  it("a misspelt tag or an unrelated class is a compile error when the policy is applied", () => {
    const misspelt = Backoff.onException({ exception: "Timout", maxTries: 3 })
    class Unrelated extends Error {
      readonly unrelated = true
    }
    const unrelated = Backoff.onException({ exception: Unrelated, maxTries: 3 })
    const mixed = Backoff.onException({ exception: ["HttpEror", Unrelated] })
    compileOnly(() => {
      // @ts-expect-error "Timout" is no tag of HttpError | OtherError: the policy would never retry
      effect.pipe(misspelt)
      // @ts-expect-error the same, called directly
      misspelt(effect)
      // @ts-expect-error a class outside the error type matches nothing
      effect.pipe(unrelated)
      // @ts-expect-error no entry of the array matches
      effect.pipe(mixed)
    })
  })

  it("a filter that matches keeps the effect's types", () => {
    const policy = Backoff.onException({ exception: "HttpError", maxTries: 3 })
    expectTypeOf(effect.pipe(policy)).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError>>()
    const byClass = Backoff.onException({ exception: [OtherError, "HttpError"] })
    expectTypeOf(byClass(effect)).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError>>()
    // an effect whose error type says nothing cannot be checked: it compiles
    const opaque: Effect.Effect<number, unknown> = Effect.succeed(1)
    expectTypeOf(Backoff.onException({ exception: "Timout" })(opaque)).toEqualTypeOf<Effect.Effect<number, unknown>>()
  })
})

describe("Backoff.retry / repeat need schedule or times at compile time", () => {
  it("neither is a compile error, in both forms", () => {
    compileOnly(() => {
      // @ts-expect-error Property 'schedule' is missing: neither schedule nor times
      Backoff.retry({ logger: false })
      // @ts-expect-error the data-first form
      Backoff.retry(effect, { logger: false })
      // @ts-expect-error in the pipe form
      effect.pipe(Backoff.retry({ while: (e) => e._tag === "HttpError" }))
      // @ts-expect-error repeat as well
      readQueue.pipe(Backoff.repeat({ while: (xs) => xs.length === 0 }))
    })
  })

  it("either one is enough", () => {
    expectTypeOf(effect.pipe(Backoff.retry({ times: 3, logger: false }))).toEqualTypeOf<
      Effect.Effect<number, HttpError | OtherError>
    >()
    expectTypeOf(Backoff.retry(effect, { schedule: Wait.expo(), logger: false })).toEqualTypeOf<
      Effect.Effect<number, HttpError | OtherError>
    >()
    expectTypeOf(readQueue.pipe(Backoff.repeat({ times: 2, until: (xs) => xs.length > 0 }))).toEqualTypeOf<
      Effect.Effect<ReadonlyArray<string>, OtherError>
    >()
  })
})

describe("handlers may return anything, as Effect.tap's callback may", () => {
  it("a handler returning a number, a Promise of one, or an Effect of one compiles", () => {
    const waits: Array<Duration.Duration> = []
    const pushed = effect.pipe(Backoff.onException({ onBackoff: (d) => waits.push(d.wait) }))
    expectTypeOf(pushed).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError>>()
    Backoff.onException(effect, {
      onBackoff: async (d) => d.tries,
      onGiveup: [(d) => waits.push(d.elapsed), () => Effect.succeed(42)]
    })
    readQueue.pipe(Backoff.onPredicate({ onSuccess: (d) => d.value.length, predicate: (xs) => xs.length === 0 }))
    effect.pipe(Backoff.retry({ times: 2, onBackoff: (d) => waits.push(d.wait) }))
    Wait.expo().pipe(Backoff.tapBackoff((d) => waits.push(d.wait)))
    Timeline.run({ onBackoff: (d) => waits.push(d.wait) }, [Timeline.fail("boom")])
  })

  it("a returned Effect's requirement still joins R; a failing Effect is still refused", () => {
    const metered = effect.pipe(Backoff.onException({
      onBackoff: (d) => Effect.flatMap(Metrics, (m) => Effect.sync(() => m.inc(d.target)))
    }))
    expectTypeOf(metered).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError, Metrics>>()
    const tapped = Wait.expo().pipe(Backoff.tapBackoff(() => Effect.as(Metrics, 1)))
    expectTypeOf(tapped).toEqualTypeOf<Schedule.Schedule<Duration.Duration, unknown, Metrics>>()
    compileOnly(() => {
      // @ts-expect-error a handler's Effect may not fail (its failure would be a defect)
      effect.pipe(Backoff.onException({ onBackoff: () => Effect.fail("boom") }))
    })
  })
})

describe("details carry the input they always have", () => {
  it("onException and Backoff.retry: exception is E, not E | undefined", () => {
    effect.pipe(Backoff.onException({
      onBackoff: (d) => expectTypeOf(d.exception).toEqualTypeOf<HttpError | OtherError>(),
      onGiveup: (d) => expectTypeOf(d.exception).toEqualTypeOf<HttpError | OtherError>()
    }))
    effect.pipe(Backoff.onException({
      exception: "HttpError",
      onBackoff: (d) => expectTypeOf(d.exception).toEqualTypeOf<HttpError>()
    }))
    effect.pipe(Backoff.retry({
      times: 3,
      onBackoff: (d) => expectTypeOf(d.exception).toEqualTypeOf<HttpError | OtherError>(),
      onGiveup: (d) => expectTypeOf(d.exception).toEqualTypeOf<HttpError | OtherError>()
    }))
    expectTypeOf<Backoff.ExceptionBackoffDetails<HttpError>["exception"]>().toEqualTypeOf<HttpError>()
  })

  it("onPredicate and Backoff.repeat: value is A on every event", () => {
    readQueue.pipe(Backoff.onPredicate({
      onSuccess: (d) => expectTypeOf(d.value).toEqualTypeOf<ReadonlyArray<string>>(),
      onBackoff: (d) => expectTypeOf(d.value).toEqualTypeOf<ReadonlyArray<string>>(),
      onGiveup: (d) => expectTypeOf(d.value).toEqualTypeOf<ReadonlyArray<string>>()
    }))
    readQueue.pipe(Backoff.repeat({
      times: 3,
      onSuccess: (d) => expectTypeOf(d.value).toEqualTypeOf<ReadonlyArray<string>>(),
      onBackoff: (d) => expectTypeOf(d.value).toEqualTypeOf<ReadonlyArray<string>>()
    }))
  })
})

describe("a misspelt option is a compile error at every entry point", () => {
  it("onException, onPredicate, retry, repeat, Timeline", () => {
    const built = { maxTrys: 3, jitter: null }
    compileOnly(() => {
      // @ts-expect-error 'maxTrys' does not exist
      effect.pipe(Backoff.onException({ maxTrys: 3 }))
      // @ts-expect-error 'maxTrys' does not exist
      Backoff.onException(effect, { maxTrys: 3 })
      // @ts-expect-error 'maxTrys' does not exist
      Backoff.onException((id: string) => Effect.succeed(id), { maxTrys: 3 })
      // @ts-expect-error an options value built beforehand: "unknown option": "maxTrys"
      Backoff.onException(built)
      // @ts-expect-error 'max_tries' does not exist. Did you mean to write 'maxTries'?
      readQueue.pipe(Backoff.onPredicate({ max_tries: 3 }))
      // @ts-expect-error 'maxTries' is no option of Backoff.retry (it belongs in the schedule)
      effect.pipe(Backoff.retry({ schedule: Wait.expo(), maxTries: 3 }))
      // @ts-expect-error 'whilst' does not exist
      readQueue.pipe(Backoff.repeat({ times: 3, whilst: () => true }))
      // @ts-expect-error 'maxTrys' does not exist
      Timeline.run({ maxTrys: 3 }, [Timeline.fail("boom")])
    })
  })
})
