// The program of consumer.test.ts's README install: plain JavaScript, run with node in a
// project whose packages came from the README's own `npm install` lines.
import { Backoff, Wait } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import { NodeHttpBackoff, RedisRetryBudget } from "@effect-backoff/platform-node"
import { Effect } from "effect"

let calls = 0
const task = Effect.suspend(() => ++calls < 3 ? Effect.fail("boom") : Effect.succeed("done"))
const retried = task.pipe(
  Backoff.onException({ wait: Wait.constant({ interval: "1 millis" }), jitter: null, logger: false })
)
console.log(`onException: ${await Effect.runPromise(retried)} after ${calls} calls`)
console.log(`HttpBackoff: ${typeof HttpBackoff.retryTransient}`)
console.log(`platform-node: ${typeof NodeHttpBackoff.layer} ${typeof RedisRetryBudget.layer}`)
