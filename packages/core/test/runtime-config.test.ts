/**
 * The Config patterns docs/runtime-configuration.md shows never hide a mistake: a bad
 * value set through a ConfigProvider fails the run with a typed InvalidOptionError that
 * quotes the raw text, before the first call. The two patterns the docs warn against are
 * pinned here too, so the warning stays true.
 */
import { Backoff, InvalidOptionError, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Cause, Config, ConfigProvider, Effect, Exit, Fiber, Option, TestClock } from "effect"

/** The docs' helpers, verbatim. */
const durationText = (name: string) => Config.string(name) as Config.Config<Duration.DurationInput>
const waitFrom = <A>(config: Config.Config<A>, build: (value: A) => Wait.Wait) =>
  Effect.flatMap(config, (value) => Effect.try({ try: () => build(value), catch: (e) => e as InvalidOptionError }))

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

/** A target that always fails, counting its calls. */
const failing = () => {
  const counter = { calls: 0 }
  const effect = Effect.suspend(() => {
    counter.calls++
    return Effect.fail("503" as const)
  })
  return { counter, effect }
}

const docsPolicy = () =>
  Backoff.onException({
    wait: waitFrom(durationText("BACKOFF_MAX_VALUE"), (maxValue) => Wait.expo({ maxValue })),
    maxTries: Config.integer("BACKOFF_MAX_TRIES"),
    maxTime: durationText("BACKOFF_MAX_TIME"),
    logger: false
  })

const good = { BACKOFF_MAX_VALUE: "1 millis", BACKOFF_MAX_TRIES: "3", BACKOFF_MAX_TIME: "1 minute" }

/** The run's typed InvalidOptionError (failing the test on anything else). */
const typedInvalid = (exit: Exit.Exit<unknown, unknown>): InvalidOptionError => {
  expect(Exit.isFailure(exit)).toBe(true)
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  expect(failure.value).toBeInstanceOf(InvalidOptionError)
  return failure.value as InvalidOptionError
}

describe("the docs' Config patterns surface the raw bad value as InvalidOptionError", () => {
  it.effect("good values: the policy runs (3 tries)", () =>
    Effect.gen(function*() {
      const { counter, effect } = failing()
      const fiber = yield* Effect.fork(Effect.exit(effect.pipe(docsPolicy(), withEnv(good))))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toEqual(Exit.fail("503"))
      expect(counter.calls).toBe(3)
    }))

  it.effect.each(
    [
      ["BACKOFF_MAX_TIME", "-5 seconds", "maxTime"],
      ["BACKOFF_MAX_TIME", "soon", "maxTime"],
      ["BACKOFF_MAX_TIME", "NaN seconds", "maxTime"],
      ["BACKOFF_MAX_VALUE", "-5 seconds", "expo.maxValue"],
      ["BACKOFF_MAX_VALUE", "ten seconds", "expo.maxValue"],
      ["BACKOFF_MAX_TRIES", "0", "maxTries"]
    ] as const
  )(
    "%s=%s is an InvalidOptionError naming %s, the target never called",
    ([key, text, option]) =>
      Effect.gen(function*() {
        const { counter, effect } = failing()
        const exit = yield* Effect.exit(effect.pipe(docsPolicy(), withEnv({ ...good, [key]: text })))
        const error = typedInvalid(exit)
        expect(error.option).toBe(option)
        expect(error.value).toBe(option === "maxTries" ? 0 : text)
        expect(error.message).toContain(option === "maxTries" ? "got 0" : `got ${JSON.stringify(text)}`)
        expect(counter.calls).toBe(0)
      })
  )

  it.effect("a budget in milliseconds through Config.number: -5000 is an InvalidOptionError", () =>
    Effect.gen(function*() {
      const { counter, effect } = failing()
      const exit = yield* Effect.exit(
        effect.pipe(
          Backoff.onException({ maxTime: Config.number("BACKOFF_MAX_TIME_MS"), logger: false }),
          withEnv({ BACKOFF_MAX_TIME_MS: "-5000" })
        )
      )
      const error = typedInvalid(exit)
      expect(error.option).toBe("maxTime")
      expect(error.value).toBe(-5000)
      expect(counter.calls).toBe(0)
    }))

  it.effect("a service value in seconds passed as text to the strategy: -5 is an InvalidOptionError", () =>
    Effect.gen(function*() {
      const { counter, effect } = failing()
      const seconds = Effect.succeed(-5)
      const exit = yield* Effect.exit(
        effect.pipe(
          Backoff.onException({
            wait: Effect.flatMap(
              seconds,
              (s) =>
                Effect.try({
                  try: () => Wait.expo({ maxValue: `${s} seconds` }),
                  catch: (e) => e as InvalidOptionError
                })
            ),
            logger: false
          })
        )
      )
      const error = typedInvalid(exit)
      expect(error.option).toBe("expo.maxValue")
      expect(error.value).toBe("-5 seconds")
      expect(counter.calls).toBe(0)
    }))
})

describe("the patterns the docs warn against (pinned, so the warning stays true)", () => {
  it.effect("Config.duration turns \"-5 seconds\" into a zero budget: one call, no error about it", () =>
    Effect.gen(function*() {
      const { counter, effect } = failing()
      const exit = yield* Effect.exit(
        effect.pipe(
          Backoff.onException({ maxTime: Config.duration("BACKOFF_MAX_TIME"), maxTries: 5, logger: false }),
          withEnv({ BACKOFF_MAX_TIME: "-5 seconds" })
        )
      )
      expect(exit).toEqual(Exit.fail("503"))
      expect(counter.calls).toBe(1)
    }))

  it.effect("Config.map(..., Wait.expo) with a bad value fails with a typed InvalidOptionError, before any call", () =>
    Effect.gen(function*() {
      const { counter, effect } = failing()
      const exit = yield* Effect.exit(
        effect.pipe(
          Backoff.onException({
            wait: Config.map(durationText("BACKOFF_MAX_VALUE"), (maxValue) => Wait.expo({ maxValue })),
            logger: false
          }),
          withEnv({ BACKOFF_MAX_VALUE: "-5 seconds" })
        )
      )
      expect(Exit.isFailure(exit) && Cause.isFailType(exit.cause)).toBe(true)
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError).option).toBe("expo.maxValue")
      expect(counter.calls).toBe(0)
    }))
})
