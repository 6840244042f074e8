/**
 * Shared test helpers: running on the TestClock, capturing log lines, error classes.
 */
import { Data, Duration, Effect, Fiber, HashMap, Logger, TestClock, TestContext } from "effect"
import type { Exit, LogLevel } from "effect"

/** A tagged error whose log description is `HttpError: <message>`. */
export class HttpError extends Data.TaggedError("HttpError")<{ readonly message: string }> {}

/** Another tagged error that filters for HttpError must not match. */
export class OtherError extends Data.TaggedError("OtherError")<{ readonly code: number }> {}

/** A plain Error subclass with a subclass of its own. */
export class NetError extends Error {
  constructor(message: string) {
    super(message)
    this.name = "NetError"
  }
}
export class TimeoutError extends NetError {
  constructor(message: string) {
    super(message)
    this.name = "TimeoutError"
  }
}
export class ParseError extends Error {
  constructor(message: string) {
    super(message)
    this.name = "ParseError"
  }
}

/** Forks `self`, advances the TestClock by `advance`, and returns the fiber's Exit. */
export const runFor = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  advance: Duration.DurationInput = "1 hour"
): Effect.Effect<Exit.Exit<A, E>, never, R> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.exit(self))
    yield* TestClock.adjust(advance)
    return yield* Fiber.join(fiber)
  })

export interface LogLine {
  readonly level: LogLevel.LogLevel
  readonly message: string
  readonly annotations: Record<string, unknown>
}

/** Runs `self` with a logger that records every line (and no other logger output). */
export const captureLogs = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  lines: Array<LogLine>
): Effect.Effect<A, E, R> => {
  const recorder = Logger.make(({ annotations, logLevel, message }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    lines.push({ level: logLevel, message: text, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
  })
  return Effect.provide(self, Logger.replace(Logger.defaultLogger, recorder))
}

/** Seconds of a Duration. */
export const secs = (d: Duration.Duration): number => Duration.toSeconds(d)

/** Runs an Effect on a fresh TestContext (its own TestClock), for fast-check async properties. */
export const runTest = <A, E>(self: Effect.Effect<A, E, never>): Promise<A> =>
  Effect.runPromise(
    self.pipe(Effect.provide(TestContext.TestContext), Effect.provide(Logger.remove(Logger.defaultLogger)))
  )
