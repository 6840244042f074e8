/**
 * Runtime configuration from environment variables through `Config`: `maxTries` and
 * `maxTime` take a `Config` (or any Effect), `wait` an Effect producing a strategy. They
 * are read once per run of the retried effect, never when the policy is built, so the
 * same policy follows whatever ConfigProvider the run sees.
 *
 * Run: BACKOFF_MAX_TRIES=3 BACKOFF_FACTOR="2 millis" npx tsx examples/runtime-config.ts
 */
import { Backoff, Wait } from "@effect-backoff/core"
import { Config, ConfigProvider, Console, Data, Duration, Effect } from "effect"

class Unavailable extends Data.TaggedError("Unavailable")<{ readonly message: string }> {}

const maxTries = Config.integer("BACKOFF_MAX_TRIES").pipe(Config.withDefault(4))
const maxTime = Config.duration("BACKOFF_MAX_TIME").pipe(Config.withDefault(Duration.seconds(2)))
const factor = Config.duration("BACKOFF_FACTOR").pipe(Config.withDefault(Duration.millis(5)))

const policy = Backoff.onException({
  maxTries,
  maxTime,
  // a Config is an Effect: map it to the strategy
  wait: Effect.map(factor, (factor) => Wait.expo({ factor, maxValue: "50 millis" })),
  jitter: null,
  logger: false,
  onBackoff: (d) => Console.log(`  try ${d.tries} failed, waiting ${Duration.format(d.wait)}`)
})

let calls = 0
const callService = Effect.suspend(() => {
  calls++
  return Effect.fail(new Unavailable({ message: "503" }))
})

// The error type says what can go wrong: the call's own error, a Config that cannot be
// read, or a value that is read but invalid (InvalidOptionError).
const attempt = (label: string) =>
  Effect.gen(function*() {
    calls = 0
    yield* Console.log(`${label}:`)
    const [tries, time, base] = yield* Effect.all([maxTries, maxTime, factor])
    yield* Console.log(`  maxTries=${tries} maxTime=${Duration.format(time)} factor=${Duration.format(base)}`)
    return yield* policy(callService)
  }).pipe(
    Effect.catchAll((e) =>
      e._tag === "Unavailable"
        ? Console.log(`  gave up after ${calls} calls (${e._tag}: ${e.message})`)
        : e._tag === "InvalidOptionError"
        ? Console.log(`  rejected before the first call (${calls} calls): ${e.message}`)
        : Console.log(`  configuration error (${calls} calls): ${e}`)
    )
  )

const provider = (entries: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(entries)))

const program = Effect.gen(function*() {
  // 1. the process environment (the default ConfigProvider)
  yield* attempt("from the environment")
  // 2. the same policy under another provider: each run reads its options afresh
  yield* attempt("from a map").pipe(
    Effect.withConfigProvider(provider({ BACKOFF_MAX_TRIES: "2", BACKOFF_FACTOR: "1 millis" }))
  )
  // 3. a value that is read but invalid fails that run, as a typed error, before any call
  yield* attempt("maxTries=0").pipe(Effect.withConfigProvider(provider({ BACKOFF_MAX_TRIES: "0" })))
  // 4. a value that cannot be read fails with its ConfigError
  yield* attempt("maxTries=three").pipe(Effect.withConfigProvider(provider({ BACKOFF_MAX_TRIES: "three" })))
})

Effect.runPromise(program)
