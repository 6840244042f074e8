/**
 * The Testing consumer program of consumer.test.ts: a project that installs
 * `@effect-backoff/core` (from its tarball) and `effect`, nothing else, imports the
 * `@effect-backoff/core/Testing` entry point and checks policies with fast-check from
 * `effect/FastCheck`. Typechecked there under moduleResolution NodeNext and Bundler, run
 * with node; the test asserts the lines it prints. (The workspace typecheck compiles it
 * too, against the sources.)
 */
import { Backoff, Jitter, Wait } from "@effect-backoff/core"
import * as Testing from "@effect-backoff/core/Testing"
import { Effect, Either, FastCheck as fc } from "effect"

const policy = Wait.expo({ maxValue: "30 seconds" }).pipe(
  Jitter.apply(Jitter.full),
  Backoff.maxTries(5),
  Backoff.maxTime("2 minutes")
)

const main = Effect.gen(function*() {
  fc.assert(Testing.check(policy, [...Testing.laws, Testing.capped("30 seconds")]), { numRuns: 50 })
  console.log("fc.assert: every law holds")

  const generated = yield* Effect.either(
    Testing.check(Testing.policy({ bounded: true }), Testing.laws, { numRuns: 50, seed: 1 })
  )
  console.log(`Effect: ${Either.isRight(generated) ? "every law holds" : generated.left.message}`)

  const broken = yield* Effect.either(Testing.check(Wait.expo(), Testing.withinMaxTries, { maxTries: 3, seed: 1 }))
  console.log(`LawError: ${Either.isLeft(broken) ? broken.left.broken : "none"}`)

  // fast-check is not a dependency of the project: it comes with effect
  const fastCheck = yield* Effect.promise(() =>
    import("fast-check" as string).then(() => "importable", (e: { code?: string }) => e.code)
  )
  console.log(`fast-check: ${fastCheck}`)
})

Effect.runPromise(main).then(
  () => console.log("testing: ok"),
  (error) => {
    console.error(error)
    process.exitCode = 1
  }
)
