/**
 * Bad input never means "retry forever": each row below is an invalid option (negative,
 * NaN, Infinity where it means nothing, a wrong type from an untyped JavaScript caller, an
 * empty list, a non-function handler, a Config or Effect that resolves to a bad value) and
 * must give an InvalidOptionError naming the option and the value, with the target never
 * called. A static value fails at construction; a value read at run time fails that run
 * before its first attempt.
 */
import { Backoff, InvalidOptionError, Jitter, Wait } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Config, ConfigProvider, Effect, Exit, Option } from "effect"

interface Row {
  readonly name: string
  readonly option: string
  readonly value: unknown
  /**
   * Builds the retried thing around `target` (a counting call). "static" rows throw here;
   * "runtime" rows return an Effect whose run must fail before calling the target.
   */
  readonly build: (target: Effect.Effect<string, string>) => unknown
  readonly when: "static" | "runtime"
}

const staticRow = (name: string, option: string, value: unknown, build: Row["build"]): Row => ({
  name,
  option,
  value,
  build,
  when: "static"
})
const runtimeRow = (name: string, option: string, value: unknown, build: Row["build"]): Row => ({
  name,
  option,
  value,
  build,
  when: "runtime"
})

const retry = (options: unknown) => (target: Effect.Effect<string, string>) =>
  Backoff.onException(target, options as Backoff.ExceptionOptions)
const repeat = (options: unknown) => (target: Effect.Effect<string, string>) =>
  Backoff.onPredicate(target, options as Backoff.PredicateOptions)
/** the same options, through the function form (Python's decorator) */
const decorate = (options: unknown) => (target: Effect.Effect<string, string>) =>
  Backoff.onException((n: number) => Effect.as(target, n), options as Backoff.ExceptionOptions)(1)
const withWait = (wait: () => unknown) => (target: Effect.Effect<string, string>) =>
  Backoff.onException(target, { wait: wait() as Wait.Wait })
const untyped = (v: unknown): any => v

/** an HttpClient whose requests count as calls of the target */
const httpClient = (target: Effect.Effect<string, string>) =>
  HttpClient.make((request) =>
    Effect.as(
      Effect.orDie(target),
      HttpClientResponse.fromWeb(request, new Response("ok", { status: 200 }))
    )
  )
const viaHttp = (options: unknown) => (target: Effect.Effect<string, string>) =>
  HttpBackoff.retryTransient(httpClient(target), options as HttpBackoff.Options).get("http://127.0.0.1/x")

/** Config rows read from this provider */
const env = ConfigProvider.fromMap(
  new Map([
    ["TRIES_ZERO", "0"],
    ["TRIES_FRACTION", "2.5"],
    ["TIME_NEGATIVE", "-5 seconds"]
  ])
)

const rows: ReadonlyArray<Row> = [
  // Wait
  staticRow("expo base 0", "expo.base", 0, withWait(() => Wait.expo({ base: 0 }))),
  staticRow("expo base negative", "expo.base", -2, withWait(() => Wait.expo({ base: -2 }))),
  staticRow("expo base NaN", "expo.base", NaN, withWait(() => Wait.expo({ base: NaN }))),
  staticRow("expo base Infinity", "expo.base", Infinity, withWait(() => Wait.expo({ base: Infinity }))),
  staticRow("expo base as a string", "expo.base", "2", withWait(() => Wait.expo({ base: untyped("2") }))),
  staticRow("expo factor negative", "expo.factor", -5, withWait(() => Wait.expo({ factor: -5 }))),
  staticRow(
    "expo factor \"-1 seconds\"",
    "expo.factor",
    "-1 seconds",
    withWait(() => Wait.expo({ factor: "-1 seconds" }))
  ),
  staticRow("expo maxValue NaN", "expo.maxValue", NaN, withWait(() => Wait.expo({ maxValue: NaN }))),
  staticRow("fibo unit Infinity", "fibo.unit", Infinity, withWait(() => Wait.fibo({ unit: Infinity }))),
  staticRow("fibo unit as garbage text", "fibo.unit", "soon", withWait(() => Wait.fibo({ unit: untyped("soon") }))),
  staticRow("constant interval []", "constant.interval", [], withWait(() => Wait.constant({ interval: [] }))),
  staticRow(
    "constant interval list with a negative",
    "constant.interval[1]",
    -1,
    withWait(() => Wait.constant({ interval: ["1 second", -1] }))
  ),
  staticRow("constant interval NaN", "constant.interval", NaN, withWait(() => Wait.constant({ interval: NaN }))),
  staticRow("decay decayFactor negative", "decay.decayFactor", -1, withWait(() => Wait.decay({ decayFactor: -1 }))),
  staticRow(
    "decay initialValue an object",
    "decay.initialValue",
    { ms: 5 },
    withWait(() => Wait.decay({ initialValue: untyped({ ms: 5 }) }))
  ),
  staticRow("linear step NaN", "linear.step", NaN, withWait(() => Wait.linear({ step: NaN }))),
  staticRow("decorrelated base negative", "decorrelated.base", -1, withWait(() => Wait.decorrelated({ base: -1 }))),
  staticRow("runtime with a number", "runtime", 5, withWait(() => Wait.runtime(untyped(5)))),
  // Jitter
  staticRow(
    "Jitter.apply with a string",
    "Jitter.apply jitter",
    "full",
    withWait(() => Jitter.apply(Wait.expo(), untyped("full")))
  ),
  staticRow(
    "Jitter.apply with a number",
    "Jitter.apply jitter",
    42,
    withWait(() => Jitter.apply(Wait.expo(), untyped(42)))
  ),
  staticRow(
    "Jitter.apply with an object",
    "Jitter.apply jitter",
    { full: true },
    withWait(() => Jitter.apply(Wait.expo(), untyped({ full: true })))
  ),
  // Backoff: static
  staticRow("maxTries 0", "maxTries", 0, retry({ maxTries: 0 })),
  staticRow("maxTries negative", "maxTries", -3, retry({ maxTries: -3 })),
  staticRow("maxTries fraction", "maxTries", 2.5, retry({ maxTries: 2.5 })),
  staticRow("maxTries NaN", "maxTries", NaN, retry({ maxTries: NaN })),
  staticRow("maxTries -Infinity", "maxTries", -Infinity, retry({ maxTries: -Infinity })),
  staticRow("maxTries as a string", "maxTries", "3", retry({ maxTries: "3" })),
  staticRow("maxTries null", "maxTries", null, retry({ maxTries: null })),
  staticRow("maxTries 0 (function form)", "maxTries", 0, decorate({ maxTries: 0 })),
  staticRow("maxTime negative", "maxTime", -1, retry({ maxTime: -1 })),
  staticRow("maxTime NaN", "maxTime", NaN, retry({ maxTime: NaN })),
  staticRow("maxTime \"-1 seconds\"", "maxTime", "-1 seconds", retry({ maxTime: "-1 seconds" })),
  staticRow("maxTime a boolean", "maxTime", true, retry({ maxTime: true })),
  staticRow("wait a string", "wait", "expo", retry({ wait: "expo" })),
  staticRow("wait a strategy factory, not called", "wait", Wait.expo, retry({ wait: Wait.expo })),
  staticRow("jitter a string", "jitter", "full", retry({ jitter: "full" })),
  staticRow("onBackoff a string", "onBackoff", "log", retry({ onBackoff: "log" })),
  staticRow("onSuccess an object", "onSuccess", {}, retry({ onSuccess: {} })),
  staticRow("onGiveup list with a number", "onGiveup[1]", 42, retry({ onGiveup: [() => {}, 42] })),
  staticRow("exception []", "exception", [], retry({ exception: [] })),
  staticRow("exception a number", "exception", 404, retry({ exception: 404 })),
  staticRow("giveup true", "giveup", true, retry({ giveup: true })),
  staticRow("raiseOnGiveup \"no\"", "raiseOnGiveup", "no", retry({ raiseOnGiveup: "no" })),
  staticRow("logger \"off\"", "logger", "off", retry({ logger: "off" })),
  staticRow("target a number", "target", 42, retry({ target: 42 })),
  staticRow("backoffLogLevel a string", "backoffLogLevel", "Debug", retry({ backoffLogLevel: "Debug" })),
  staticRow("a misspelt option", "maxTry", 3, retry({ maxTry: 3 })),
  staticRow("predicate a string", "predicate", "empty", repeat({ predicate: "empty" })),
  // Backoff: read at run time
  runtimeRow("maxTries Config resolving to 0", "maxTries", 0, retry({ maxTries: Config.integer("TRIES_ZERO") })),
  runtimeRow("maxTries Config resolving to 2.5", "maxTries", 2.5, retry({ maxTries: Config.number("TRIES_FRACTION") })),
  runtimeRow(
    "maxTime Config resolving to \"-5 seconds\"",
    "maxTime",
    "-5 seconds",
    retry({ maxTime: Config.string("TIME_NEGATIVE") })
  ),
  runtimeRow("maxTries Effect of NaN", "maxTries", NaN, retry({ maxTries: Effect.succeed(NaN) })),
  runtimeRow("maxTime Effect of -1", "maxTime", -1, repeat({ maxTime: Effect.succeed(-1) })),
  runtimeRow("wait Effect of a string", "wait", "nope", retry({ wait: Effect.succeed("nope") })),
  runtimeRow("maxTries Config 0 (function form)", "maxTries", 0, decorate({ maxTries: Config.integer("TRIES_ZERO") })),
  // HttpBackoff
  staticRow("http maxRetryAfter negative", "maxRetryAfter", -1, viaHttp({ maxRetryAfter: -1 })),
  staticRow("http maxRetryAfter NaN", "maxRetryAfter", NaN, viaHttp({ maxRetryAfter: NaN })),
  staticRow("http maxTries 0", "maxTries", 0, viaHttp({ maxTries: 0 })),
  staticRow("http retryNonIdempotent \"yes\"", "retryNonIdempotent", "yes", viaHttp({ retryNonIdempotent: "yes" })),
  staticRow("http retryOn a list of statuses", "retryOn", [503], viaHttp({ retryOn: [503] })),
  staticRow("http onGiveup a number", "onGiveup", 1, viaHttp({ onGiveup: 1 })),
  staticRow("http exception (not an HTTP option)", "exception", "RequestError", viaHttp({ exception: "RequestError" })),
  staticRow(
    "waitRetryAfter maxRetryAfter -1",
    "maxRetryAfter",
    -1,
    withWait(() => HttpBackoff.waitRetryAfter(Wait.expo(), { maxRetryAfter: -1 }))
  ),
  runtimeRow("http maxTries Config resolving to 0", "maxTries", 0, viaHttp({ maxTries: Config.integer("TRIES_ZERO") }))
]

const describeValue = (v: unknown): string =>
  typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(describeValue).join(", ")}]` : String(v)

describe("bad input table", () => {
  it("has at least 20 rows across Wait, Jitter, Backoff and HttpBackoff", () => {
    expect(rows.length).toBeGreaterThanOrEqual(20)
    const areas = new Set(
      rows.map((r) =>
        r.name.startsWith("http") || r.name.startsWith("waitRetryAfter") ?
          "http"
          : r.option.startsWith("Jitter") ?
          "jitter"
          : r.option.includes(".") || r.option.startsWith("constant") || r.option === "runtime" ?
          "wait"
          : "backoff"
      )
    )
    expect([...areas].sort()).toEqual(["backoff", "http", "jitter", "wait"])
    console.log(`bad input: ${rows.length} rows (${rows.filter((r) => r.when === "runtime").length} read at run time)`)
  })

  it.each(rows)("$name → InvalidOptionError($option)", (row) => {
    let calls = 0
    const target = Effect.suspend(() => {
      calls++
      return Effect.fail("boom")
    })
    let error: unknown
    if (row.when === "static") {
      try {
        row.build(target)
      } catch (e) {
        error = e
      }
      expect(error, "construction must throw").toBeDefined()
    } else {
      const effect = row.build(target) as Effect.Effect<unknown, unknown>
      expect(Effect.isEffect(effect), "construction of a runtime option must not throw").toBe(true)
      const exit = Effect.runSyncExit(Effect.withConfigProvider(effect, env))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        // a typed failure, not a defect
        error = Option.getOrUndefined(Cause.failureOption(exit.cause))
        expect(error, Cause.pretty(exit.cause)).toBeDefined()
      }
    }
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect(Backoff.InvalidOptionError).toBe(InvalidOptionError)
    const e = error as InvalidOptionError
    expect(e._tag).toBe("InvalidOptionError")
    expect(e.option).toBe(row.option)
    if (typeof row.value === "object" && row.value !== null) expect(e.value).toEqual(row.value)
    else if (typeof row.value === "function") expect(e.value).toBe(row.value)
    else expect(Object.is(e.value, row.value) || e.value === row.value).toBe(true)
    expect(e.message).toContain(row.option)
    if (typeof row.value !== "function" && typeof row.value !== "object") {
      expect(e.message).toContain(describeValue(row.value))
    }
    expect(calls, "the target must never be called").toBe(0)
  })

  it("a bad runtime option fails every run, not just the first, and a good one afterwards works", () => {
    let calls = 0
    let tries = 0
    const target = Effect.suspend(() => {
      calls++
      return Effect.fail("boom")
    })
    const retried = Backoff.onException(target, {
      maxTries: Effect.sync(() => ++tries > 2 ? 2 : 0),
      wait: Wait.constant({ interval: 0 }),
      logger: false
    })
    for (let i = 0; i < 2; i++) {
      const exit = Effect.runSyncExit(retried)
      expect(Exit.isFailure(exit) && Option.getOrUndefined(Cause.failureOption(exit.cause))).toBeInstanceOf(
        InvalidOptionError
      )
    }
    expect(calls).toBe(0)
    expect(Effect.runSyncExit(retried)).toEqual(Exit.fail("boom"))
    expect(calls).toBe(2)
  })

  it("a Config that cannot be read fails with its ConfigError, the target never called", () => {
    let calls = 0
    const retried = Backoff.onException(Effect.suspend(() => (calls++, Effect.fail("boom"))), {
      maxTries: Config.integer("MISSING_TRIES"),
      logger: false
    })
    const exit = Effect.runSyncExit(Effect.withConfigProvider(retried, env))
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
    expect((error as { _op?: string })?._op).toBe("MissingData")
    expect(calls).toBe(0)
  })
})
