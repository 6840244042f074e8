/**
 * One retry budget shared by a fleet: every process that names the same key on one Redis
 * server draws on the same budget, with core's `RetryBudget` semantics.
 *
 * @since 0.2.0
 */
import type { RetryBudget } from "@effect-backoff/core"
import type { Duration, Effect, Layer, Metric, Scope } from "effect"
import type { Redis, RedisOptions } from "ioredis"
import * as internal from "./internal/redisRetryBudget.js"

/**
 * Options of the Redis budget: core's budget options, plus where the budget lives.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options extends RetryBudget.Options {
  /**
   * The server: an ioredis client (yours: it is used as it is and never closed by the
   * layer; whatever its options, the budget sends nothing while it is not connected, so
   * its offline queue never fills with budget commands), or ioredis options / a `redis://`
   * URL (the layer creates the client, with no offline queue so a call never waits for a
   * reconnect, and closes it with its scope, at once when Redis is down).
   */
  readonly redis: Redis | RedisOptions | string
  /** The Redis key of the budget: processes naming the same key share one budget. */
  readonly key: string
  /** How long a withdrawal (a retry) waits for Redis before deciding locally (default 100 millis). */
  readonly timeout?: Duration.DurationInput | undefined
  /** How often counted deposits are sent (default and most 100 millis). */
  readonly flushInterval?: Duration.DurationInput | undefined
}

/**
 * A scoped Redis budget. See `layer`.
 *
 * @example
 * ```ts
 * import { RedisRetryBudget } from "@effect-backoff/platform-node"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const budget = yield* RedisRetryBudget.make({ redis: "redis://127.0.0.1:6379", key: "budget:payments" })
 *   yield* budget.deposit
 *   return yield* budget.tryWithdraw
 * }))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<RetryBudget.RetryBudget, never, Scope.Scope> = internal.make

/**
 * A `RetryBudget` layer whose budget lives in Redis, shared by every process using the
 * same `key` on the same server.
 *
 * **Details**
 *
 * - Atomic on the server: one Lua script (EVALSHA, EVAL when the server lost it) over
 *   time buckets, the arithmetic of core's in-memory budget. Time is the server's
 *   (`TIME` inside the script): one clock for the fleet, so no process's clock skew
 *   stretches or cuts the window.
 * - A deposit counts once: each call carries a batch id the script remembers for twice
 *   the ttl, so a call replayed (by a client after a reconnect, or resent by the budget
 *   after a failure) is applied at most once; a call that timed out is never sent again
 *   while it may still be applied, and at most one flush is in flight per process.
 * - The success path never waits on Redis: deposits are counted in the process and sent
 *   in batches at least every 100 ms, and with every withdrawal. A withdrawal (a retry)
 *   is one round trip, bounded by `timeout`.
 * - When Redis does not answer, decisions fall back to a local budget, with one warning
 *   log line ("Redis is unreachable") and the `fallbacks` metric. The fallback counts from
 *   the outage: the runs since (and those not yet known to Redis), and a reserve that
 *   builds up at `minRetriesPerSecond` (the full reserve after one ttl), so a short stall
 *   adds little; what it grants is sent to Redis once it answers, and counted there. The
 *   flush fiber keeps asking, and the shared budget is used again once Redis answers.
 *   The store never fails a call and never allows unbounded retries.
 * - Scoped: closing the scope sends what was counted, stops the flush fiber and closes
 *   the client the layer created.
 *
 * @example
 * ```ts
 * import { NodeHttpBackoff, RedisRetryBudget } from "@effect-backoff/platform-node"
 * import { HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   return yield* client.get("http://127.0.0.1:8080/orders")
 * })
 * // every process naming the key "budget:orders" shares one budget
 * const budget = RedisRetryBudget.layer({ redis: "redis://127.0.0.1:6379", key: "budget:orders", percentCanRetry: 0.2 })
 * const main = program.pipe(
 *   Effect.provide(NodeHttpBackoff.layer({ maxTries: 5, budget: true })),
 *   Effect.provide(budget)
 * )
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: (options: Options) => Layer.Layer<RetryBudget.RetryBudget> = internal.layer

/**
 * The store's metrics: `fallbacks` counts the times a process fell back to its local
 * budget (once per outage it saw), `fallbackWithdrawals` the withdrawals decided locally.
 *
 * @example
 * ```ts
 * import { RedisRetryBudget } from "@effect-backoff/platform-node"
 * import { Effect, Metric } from "effect"
 *
 * Effect.runPromise(Metric.value(RedisRetryBudget.metrics.fallbacks)).then((s) => console.log(s.count))
 * ```
 *
 * @since 0.2.0
 * @category observability
 */
export const metrics: {
  readonly fallbacks: Metric.Metric.Counter<number>
  readonly fallbackWithdrawals: Metric.Metric.Counter<number>
} = { fallbacks: internal.fallbacks, fallbackWithdrawals: internal.fallbackWithdrawals }
