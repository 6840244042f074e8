import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type { Duration } from "effect"
import { Console, Effect } from "effect"
import type { ResolvedPolicy } from "./flags.js"
import { formatSeconds } from "./flags.js"
import { say } from "./run.js"

const describe = (d: { readonly status?: number; readonly exception?: unknown }): string => {
  if (d.status !== undefined) return `HTTP ${d.status}`
  const e = d.exception as { readonly _tag?: string; readonly message?: string } | undefined
  return e?._tag === "TimeoutException" ? "timed out" : e?.message ?? String(e)
}

const tries = (n: number) => `${n} ${n === 1 ? "try" : "tries"}`

/**
 * @internal `effect-backoff poll URL`: GETs the URL until the status is one of `done`,
 * retrying every other status and transport errors with the policy, honouring
 * Retry-After. Each try, the final body included, has `limits.timeout`: a stalled body is
 * a timed-out try, retried like any other. Prints the final body on stdout (with a final
 * newline; nothing for an empty body); succeeds with the exit code (0 when the status matched, 1 on giving up).
 */
export const poll = (
  policy: ResolvedPolicy,
  url: string,
  done: (status: number) => boolean,
  limits: { readonly timeout: Duration.Duration; readonly maxRetryAfter: Duration.Duration }
): Effect.Effect<number> =>
  Effect.suspend(() => {
    let gaveUp = false
    const program = Effect.gen(function*() {
      const client = (yield* HttpClient.HttpClient).pipe(
        // the body of the response that ends polling is read inside the try, under its
        // timeout (the Node client keeps the text it has read, so `response.text` below
        // gives it back); a try that hangs counts as a transport failure and is retried
        HttpClient.transformResponse((response) =>
          response.pipe(
            Effect.tap((r) => done(r.status) ? r.text : Effect.void),
            Effect.timeout(limits.timeout)
          )
        ),
        HttpBackoff.retryTransient({
          wait: policy.wait,
          jitter: policy.jitter,
          maxTries: policy.maxTries,
          maxTime: policy.maxTime ?? Infinity,
          retryOn: (response) => !done(response.status),
          maxRetryAfter: limits.maxRetryAfter,
          logger: false,
          onBackoff: (d) => say(`effect-backoff: try ${d.tries}: ${describe(d)}; backing off ${formatSeconds(d.wait)}`),
          onGiveup: (d) => {
            gaveUp = true
            return say(
              `effect-backoff: giving up after ${tries(d.tries)} (${formatSeconds(d.elapsed)}): ${describe(d)}`
            )
          },
          onSuccess: (d) => say(`effect-backoff: try ${d.tries}: HTTP ${d.status} after ${formatSeconds(d.elapsed)}`)
        })
      )
      const response = yield* client.get(url)
      if (!done(response.status)) return 1
      const body = yield* response.text
      // Console.log ends the line; a body that ends with one keeps just that one
      if (body !== "") yield* Console.log(body.endsWith("\n") ? body.slice(0, -1) : body)
      return 0
    })
    return program.pipe(
      // after a give-up line the error has been told already
      Effect.catchAll((error) => gaveUp ? Effect.succeed(1) : Effect.as(say(`effect-backoff: ${error.message}`), 1)),
      Effect.provide(NodeHttpClient.layer)
    )
  })
