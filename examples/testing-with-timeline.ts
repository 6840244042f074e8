/**
 * Testing your own retrying code without waiting: the policy below waits 1 s, 2 s, 4 s,
 * 8 s between calls, yet this program finishes in milliseconds.
 *
 * 1. `TestClock`: run the real code on a fiber and move virtual time forward; every
 *    sleep the policy makes goes through the Effect Clock. (In a test file,
 *    `it.effect` from `@effect/vitest` provides the TestClock for you.)
 * 2. `Timeline`: run a policy against scripted outcomes on its own virtual clock and
 *    get back the calls, backoffs and the result, with their times.
 *
 * Run: npx tsx examples/testing-with-timeline.ts
 */
import { Backoff, Jitter, Timeline, Wait } from "@effect-backoff/core"
import { Console, Duration, Effect, Exit, Fiber, TestClock, TestContext } from "effect"
import assert from "node:assert/strict"

// The code under test: fetch a config, retrying failures with exponential waits.
const policy = {
  wait: Wait.expo({ factor: "1 second" }),
  maxTries: 5,
  jitter: null,
  logger: false
} as const
const fetchConfigWithRetry = <E>(fetch: Effect.Effect<string, E>) => Backoff.onException(fetch, policy)

// 1. TestClock
const withTestClock = Effect.gen(function*() {
  let calls = 0
  const flaky = Effect.suspend(() => ++calls < 4 ? Effect.fail("503") : Effect.succeed("config v2"))

  const fiber = yield* Effect.fork(fetchConfigWithRetry(flaky))
  // calls at 0 s, 1 s and 3 s fail; the fourth call is due at 7 s
  yield* TestClock.adjust("6 seconds")
  assert.equal(calls, 3)
  assert.equal((yield* Fiber.poll(fiber))._tag, "None")
  yield* Console.log(`TestClock at 6s: ${calls} calls, still waiting`)

  yield* TestClock.adjust("1 second")
  const result = yield* Fiber.join(fiber)
  assert.equal(result, "config v2")
  yield* Console.log(`TestClock at 7s: "${result}" after ${calls} calls`)
}).pipe(Effect.provide(TestContext.TestContext))

// 2. Timeline
const seconds = (d: Duration.Duration) => `${(Duration.toMillis(d) / 1000).toFixed(3)}s`
const format = (event: Timeline.Event) =>
  `  ${seconds(event.at).padStart(7)}  ${event._tag.padEnd(7)} #${event.tries}` +
  (event.wait === undefined ? "" : `  wait ${seconds(event.wait)}`)

const withTimeline = Effect.gen(function*() {
  // two failures (the second call takes 200 ms), then a success
  const recovered = yield* Timeline.run(policy, [
    Timeline.fail("503"),
    Timeline.fail("503", "200 millis"),
    Timeline.succeed("config v2")
  ])
  yield* Console.log("Timeline, recovering:")
  for (const event of recovered.events) yield* Console.log(format(event))
  assert.deepEqual(recovered.result, Exit.succeed("config v2"))
  assert.equal(Duration.toMillis(recovered.total), 3200)

  // always failing: the policy gives up after 5 calls, 1 + 2 + 4 + 8 = 15 s later
  const exhausted = yield* Timeline.run(policy, [Timeline.fail("503")])
  assert.deepEqual(exhausted.result, Exit.fail("503"))
  assert.equal(exhausted.calls, 5)
  yield* Console.log(`Timeline, always failing: gives up after ${exhausted.calls} calls at ${seconds(exhausted.total)}`)

  // with jitter, a seed makes the run reproducible
  const jittered = { ...policy, jitter: Jitter.full }
  const a = yield* Timeline.run(jittered, [Timeline.fail("503")], { seed: 7 })
  const b = yield* Timeline.run(jittered, [Timeline.fail("503")], { seed: 7 })
  assert.deepEqual(a.events, b.events)
  yield* Console.log(`Timeline, full jitter with seed 7: gives up at ${seconds(a.total)} (same on every run)`)
})

Effect.runPromise(Effect.zipRight(withTestClock, withTimeline)).then(() => console.log("all checks passed"))
