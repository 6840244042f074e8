/**
 * The second consumer program of consumer.test.ts: a project that installs
 * `@effect-backoff/core` (from its tarball) and `effect`, nothing else. The main entry
 * and the subpath modules other than `HttpBackoff` must load and work without
 * `@effect/platform`. Typechecked there with tsc and run with node; the test asserts the
 * lines it prints. (The workspace typecheck compiles it too, against the sources.)
 */
import { Backoff, InvalidOptionError, Jitter, Timeline, Wait } from "@effect-backoff/core"
import * as JitterModule from "@effect-backoff/core/Jitter"
import { Data, Duration, Effect, Exit } from "effect"

class Flaky extends Data.TaggedError("Flaky")<{ readonly attempt: number }> {}

let calls = 0
const fetchThing = (id: string) =>
  Effect.suspend(() => ++calls < 3 ? Effect.fail(new Flaky({ attempt: calls })) : Effect.succeed(`thing ${id}`))

const fetchWithRetry: (id: string) => Effect.Effect<string, Flaky> = Backoff.onException(fetchThing, {
  wait: Wait.constant({ interval: "2 millis" }),
  jitter: Jitter.none,
  maxTries: 5,
  exception: Flaky,
  logger: false
})

const main = Effect.gen(function*() {
  const thing = yield* fetchWithRetry("7")
  console.log(`onException: ${thing} after ${calls} calls`)

  const timeline = yield* Timeline.run({ wait: Wait.fibo(), jitter: JitterModule.none, maxTries: 4, logger: false }, [
    Timeline.fail("down")
  ])
  console.log(`timeline: ${timeline.events.map((e) => e._tag).join(" ")} in ${Duration.toSeconds(timeline.total)} s`)

  const invalid = yield* Effect.exit(Effect.try(() => Wait.expo({ base: 0 })))
  console.log(`InvalidOptionError: ${Exit.isFailure(invalid) && typeof InvalidOptionError === "function"}`)

  // the optional peer really is absent here
  const platform = yield* Effect.promise(() =>
    import("@effect/platform" as string).then(() => "installed", (e: { code?: string }) => e.code)
  )
  console.log(`@effect/platform: ${platform}`)
})

Effect.runPromise(main).then(
  () => console.log("core only: ok"),
  (error) => {
    console.error(error)
    process.exitCode = 1
  }
)
