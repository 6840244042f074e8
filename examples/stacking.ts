/**
 * Stacking two policies, as python-backoff stacks decorators: the inner one retries
 * timeouts quickly and briefly, the outer one handles rate limiting with longer waits.
 * Each layer keeps its own state (the inner one starts afresh on every outer attempt),
 * an error the inner layer does not retry passes straight through to the outer one, and
 * a timeout that outlives the inner policy is seen by the outer one.
 *
 * Run: npx tsx examples/stacking.ts
 */
import { Backoff, Wait } from "@effect-backoff/core"
import { Console, Data, Duration, Effect } from "effect"

class Timeout extends Data.TaggedError("Timeout")<{}> {}
class RateLimited extends Data.TaggedError("RateLimited")<{}> {}

// What the API does on each call, in order.
const script = ["timeout", "timeout", "timeout", "rate-limited", "timeout", "ok"] as const
let calls = 0
const callApi = Effect.suspend((): Effect.Effect<string, Timeout | RateLimited> => {
  const outcome = script[calls++] ?? "ok"
  return outcome === "timeout"
    ? Effect.fail(new Timeout())
    : outcome === "rate-limited"
    ? Effect.fail(new RateLimited())
    : Effect.succeed(`response after ${calls} calls`)
})

const log = {
  onBackoff: (d: Backoff.BackoffDetails<unknown, { readonly _tag: string }>) =>
    Console.log(`[${d.target}] try ${d.tries}: ${d.exception?._tag}, retrying in ${Duration.format(d.wait)}`),
  onGiveup: (d: Backoff.GiveupDetails<unknown, { readonly _tag: string }>) =>
    Console.log(`[${d.target}] giving up after ${d.tries} tries: ${d.exception?._tag}`)
}

// Inner: timeouts only, 2 tries, short waits.
const retryTimeouts = Backoff.onException({
  target: "timeouts",
  exception: Timeout,
  wait: Wait.expo({ factor: "1 millis" }),
  maxTries: 2,
  jitter: null,
  logger: false,
  ...log
})

// Outer: rate limiting and whatever timeouts the inner layer gave up on, longer waits.
const retryRateLimits = Backoff.onException({
  target: "rate-limits",
  exception: [RateLimited, Timeout],
  wait: Wait.constant({ interval: "10 millis" }),
  maxTries: 5,
  jitter: null,
  logger: false,
  ...log
})

const program = callApi.pipe(retryTimeouts, retryRateLimits)

Effect.runPromise(program).then(console.log)
