import { Backoff, InvalidOptionError, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Config, ConfigError, ConfigProvider, Effect, Exit, Option } from "effect"

/** Calls `f`, expects it to throw an InvalidOptionError, returns it. */
const thrown = (f: () => unknown): InvalidOptionError => {
  let caught: unknown = undefined
  let threw = false
  try {
    f()
  } catch (e) {
    threw = true
    caught = e
  }
  expect(threw).toBe(true)
  expect(caught).toBeInstanceOf(InvalidOptionError)
  return caught as InvalidOptionError
}

const expectInvalid = (f: () => unknown, option: string, value: unknown, shown: string) => {
  const e = thrown(f)
  expect(e._tag).toBe("InvalidOptionError")
  expect(e.option).toBe(option)
  if (typeof value === "number" && Number.isNaN(value)) expect(e.value).toBeNaN()
  else expect(e.value).toEqual(value)
  expect(e.message.startsWith(`${option} must be `)).toBe(true)
  expect(e.message).toContain(`got ${shown}`)
}

/** The typed failure of an Exit, or fails the test. */
const failureOf = <E>(exit: Exit.Exit<unknown, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return failure.value
}

const any = (o: unknown) => o as any

describe("InvalidOptionError", () => {
  it("is exported from the index and from Backoff", () => {
    expect(Backoff.InvalidOptionError).toBe(InvalidOptionError)
    const e = thrown(() => Backoff.onException({ maxTries: 0 }))
    expect(e.message).toBe("maxTries must be an integer >= 1, got 0")
    expect(e).toBeInstanceOf(Error)
  })
})

describe("static options throw at construction", () => {
  for (
    const [value, shown] of [[0, "0"], [-1, "-1"], [1.5, "1.5"], [Number.NaN, "NaN"], ["3", "\"3\""], [
      -Infinity,
      "-Infinity"
    ]] as const
  ) {
    it(`maxTries ${shown}`, () => {
      expectInvalid(() => Backoff.onException({ maxTries: any(value) }), "maxTries", value, shown)
      expectInvalid(() => Backoff.onPredicate({ maxTries: any(value) }), "maxTries", value, shown)
    })
  }

  for (
    const [value, shown] of [[-1, "-1"], [Number.NaN, "NaN"], ["-1 seconds", "\"-1 seconds\""], [
      "soon",
      "\"soon\""
    ]] as const
  ) {
    it(`maxTime ${shown}`, () => {
      expectInvalid(() => Backoff.onException({ maxTime: any(value) }), "maxTime", value, shown)
      expectInvalid(() => Backoff.onPredicate({ maxTime: any(value) }), "maxTime", value, shown)
    })
  }

  it("valid limits are accepted", () => {
    expect(() => Backoff.onException({ maxTries: 1, maxTime: 0 })).not.toThrow()
    expect(() => Backoff.onException({ maxTries: Infinity, maxTime: "2 seconds" })).not.toThrow()
  })

  it("a handler that is not a function, alone or in an array", () => {
    expectInvalid(() => Backoff.onException({ onBackoff: any(42) }), "onBackoff", 42, "42")
    expectInvalid(() => Backoff.onException({ onBackoff: any([() => {}, "log"]) }), "onBackoff[1]", "log", "\"log\"")
    expectInvalid(() => Backoff.onPredicate({ onGiveup: any({}) }), "onGiveup", {}, "{}")
    expectInvalid(() => Backoff.onException({ onSuccess: any([null]) }), "onSuccess[0]", null, "null")
  })

  it("an unknown jitter", () => {
    expectInvalid(() => Backoff.onException({ jitter: any("full") }), "jitter", "full", "\"full\"")
    expectInvalid(() => Backoff.onPredicate({ jitter: any(0.5) }), "jitter", 0.5, "0.5")
  })

  it("an unknown option key (a typo) is not silently ignored", () => {
    expectInvalid(() => Backoff.onException(any({ maxTry: 3 })), "maxTry", 3, "3")
    expectInvalid(() => Backoff.onPredicate(any({ exception: "X" })), "exception", "X", "\"X\"")
    const giveup = () => true
    expectInvalid(() => Backoff.onPredicate(any({ giveup })), "giveup", giveup, "function giveup")
  })

  it("wait that is not a schedule", () => {
    expectInvalid(() => Backoff.onException({ wait: any(5) }), "wait", 5, "5")
    // a strategy constructor passed without calling it
    expectInvalid(() => Backoff.onException({ wait: any(Wait.expo) }), "wait", Wait.expo, "function")
  })

  it("an exception filter of a wrong type", () => {
    expectInvalid(() => Backoff.onException({ exception: any(42) }), "exception", 42, "42")
    expectInvalid(() => Backoff.onException({ exception: any([Error, 42]) }), "exception[1]", 42, "42")
    expectInvalid(() => Backoff.onException({ exception: any([]) }), "exception", [], "[]")
  })

  it("giveup, predicate, raiseOnGiveup, logger, log levels and target of a wrong type", () => {
    expectInvalid(() => Backoff.onException({ giveup: any(true) }), "giveup", true, "true")
    expectInvalid(() => Backoff.onPredicate({ predicate: any("x") }), "predicate", "x", "\"x\"")
    expectInvalid(() => Backoff.onException({ raiseOnGiveup: any("no") }), "raiseOnGiveup", "no", "\"no\"")
    expectInvalid(() => Backoff.onException({ logger: any(0) }), "logger", 0, "0")
    expectInvalid(() => Backoff.onException({ backoffLogLevel: any("Info") }), "backoffLogLevel", "Info", "\"Info\"")
    expectInvalid(() => Backoff.onException({ giveupLogLevel: any(3) }), "giveupLogLevel", 3, "3")
    expectInvalid(() => Backoff.onException({ target: any(7) }), "target", 7, "7")
  })

  it("the data-first forms throw at construction and the target is never called", () => {
    let calls = 0
    const target = () => {
      calls++
      return Effect.succeed(1)
    }
    expectInvalid(() => Backoff.onException(target, { maxTries: 0 }), "maxTries", 0, "0")
    expectInvalid(() => Backoff.onPredicate(target, { maxTime: -1 }), "maxTime", -1, "-1")
    expectInvalid(() => Backoff.onException(Effect.sync(target), { maxTries: 0 }), "maxTries", 0, "0")
    expect(calls).toBe(0)
  })

  it("applying a policy to something that is neither an Effect nor a function", () => {
    const e = thrown(() => Backoff.onException({})(any(42)))
    expect(e.value).toBe(42)
  })
})

describe("runtime options fail the run before the first attempt", () => {
  it.effect("maxTries from an Effect resolving to 0: a typed InvalidOptionError, target never called", () =>
    Effect.gen(function*() {
      let calls = 0
      const target = Effect.sync(() => {
        calls++
        return 1
      })
      const retried = target.pipe(Backoff.onException({ maxTries: Effect.succeed(0) }))
      const error = failureOf(yield* Effect.exit(retried))
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError)._tag).toBe("InvalidOptionError")
      expect((error as InvalidOptionError).option).toBe("maxTries")
      expect((error as InvalidOptionError).value).toBe(0)
      expect((error as InvalidOptionError).message).toBe("maxTries must be an integer >= 1, got 0")
      expect(calls).toBe(0)
    }))

  it.effect("maxTries from a Config resolving to 0 (function form): typed failure, target never called", () =>
    Effect.gen(function*() {
      let calls = 0
      const f = Backoff.onException((x: number) => {
        calls++
        return Effect.succeed(x)
      }, { maxTries: Config.integer("MAX_TRIES") })
      const exit = yield* Effect.exit(f(1)).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MAX_TRIES", "0"]])))
      )
      const error = failureOf(exit)
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError).option).toBe("maxTries")
      expect(calls).toBe(0)
    }))

  it.effect("maxTime from an Effect with a negative duration, onPredicate", () =>
    Effect.gen(function*() {
      let calls = 0
      const poll = Effect.sync(() => ++calls).pipe(
        Backoff.onPredicate({ maxTime: Effect.succeed("-1 seconds" as const) })
      )
      const error = failureOf(yield* Effect.exit(poll))
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError).option).toBe("maxTime")
      expect((error as InvalidOptionError).value).toBe("-1 seconds")
      expect(calls).toBe(0)
    }))

  it.effect("wait from an Effect producing something that is not a schedule", () =>
    Effect.gen(function*() {
      let calls = 0
      const retried = Effect.sync(() => ++calls).pipe(
        Backoff.onException({ wait: Effect.succeed(5 as unknown as Wait.Wait) })
      )
      const error = failureOf(yield* Effect.exit(retried))
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError).option).toBe("wait")
      expect(calls).toBe(0)
    }))

  it.effect("a Config that cannot be read fails with its ConfigError, target never called", () =>
    Effect.gen(function*() {
      let calls = 0
      const retried = Effect.sync(() => ++calls).pipe(
        Backoff.onException({ maxTries: Config.integer("MISSING_MAX_TRIES") })
      )
      const exit = yield* Effect.exit(retried).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      const error = failureOf(exit)
      expect(ConfigError.isConfigError(error)).toBe(true)
      expect(calls).toBe(0)

      const notANumber = Effect.sync(() => ++calls).pipe(
        Backoff.onException({ maxTime: Config.duration("MAX_TIME") })
      )
      const exit2 = yield* Effect.exit(notANumber).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MAX_TIME", "whenever"]])))
      )
      expect(ConfigError.isConfigError(failureOf(exit2))).toBe(true)
      expect(calls).toBe(0)
    }))

  it.effect("a runtime option that fails fails the run with its own error, target never called", () =>
    Effect.gen(function*() {
      let calls = 0
      const retried = Effect.sync(() => ++calls).pipe(
        Backoff.onException({ maxTries: Effect.fail("no settings" as const) })
      )
      expect(yield* Effect.exit(retried)).toEqual(Exit.fail("no settings"))
      expect(calls).toBe(0)
    }))

  it.effect("a valid runtime value is fine and a bad one only fails its own run", () =>
    Effect.gen(function*() {
      let value = 0
      let calls = 0
      const retried = Effect.sync(() => ++calls).pipe(
        Backoff.onException({ maxTries: Effect.sync(() => value) })
      )
      expect(failureOf(yield* Effect.exit(retried))).toBeInstanceOf(InvalidOptionError)
      value = 2
      expect(yield* Effect.exit(retried)).toEqual(Exit.succeed(1))
      expect(calls).toBe(1)
    }))
})
