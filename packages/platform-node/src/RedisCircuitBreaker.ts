/**
 * One circuit breaker shared by a fleet: every process that names the same key on one
 * Redis server sees the same breaker, run by core's `CircuitBreaker` state machine, with
 * fleet-wide probes and a quorum of failing clients.
 *
 * @since 0.3.0
 */
import type { Context, Duration, Effect, Layer, Metric, Scope } from "effect"
import type { Redis, RedisOptions } from "ioredis"
import * as internal from "./internal/redisCircuitBreaker.js"

/**
 * Options of the Redis breaker: core's `CircuitBreaker` options (`policy`,
 * `halfOpenAfter`, `probes`, `probeTimeout`, `successThreshold`, `isFailure`, `name`),
 * plus where the breaker lives and how it shares.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** When to open: `CircuitBreaker.consecutive(n)` (default 5), `count({ ... })` or `sampling({ ... })`. */
  readonly policy?: unknown
  /** A Duration or a wait Schedule (default "5 seconds"). */
  readonly halfOpenAfter?: unknown
  /** Probes at once in the whole fleet while half-open (default 1). */
  readonly probes?: number | undefined
  /** Bounds each probe; also how long its fleet-wide lease lasts (default none: a lease lasts 30 s). */
  readonly probeTimeout?: Duration.DurationInput | undefined
  /** Probe successes that close it (default `probes`). */
  readonly successThreshold?: number | undefined
  /** Which errors count as failures (default every typed failure and defect). */
  readonly isFailure?: ((error: unknown) => unknown) | undefined
  readonly name?: string | undefined
  /**
   * The server: an ioredis client (yours: used as it is, never closed; while it is not
   * ready the breaker decides locally, so nothing waits in its offline queue), or ioredis
   * options / a `redis://` URL (the layer creates the client, with no offline queue, and
   * disconnects it when its scope closes).
   */
  readonly redis: Redis | RedisOptions | string
  /** The Redis key of the breaker: processes naming the same key share one breaker. */
  readonly key: string
  /** How often the shared state is read and outcomes are sent (default 100 millis). */
  readonly syncInterval?: Duration.DurationInput | undefined
  /** How long a command may go unanswered before the process decides locally (default 100 millis). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Distinct clients whose failures it takes to open the breaker (default 1). */
  readonly quorum?: number | undefined
  /** How long a client's last failure counts toward the quorum (default: a sampling policy's duration, else 1 minute). */
  readonly quorumWindow?: Duration.DurationInput | undefined
  /** This process's id for the quorum (default host:pid:random). */
  readonly clientId?: string | undefined
}

/**
 * A shared breaker: `execute` runs an effect through it; `state` is the state this
 * process decides by; `store` says whether that is the shared state or the local fallback.
 *
 * @since 0.3.0
 * @category models
 */
export interface RedisCircuitBreaker extends internal.RedisCircuitBreaker {}

/**
 * One shared breaker per key of a call (e.g. per host).
 *
 * @since 0.3.0
 * @category models
 */
export interface KeyedRedisCircuitBreaker extends internal.KeyedRedisCircuitBreaker {}

/**
 * A call the breaker did not let through (`_tag: "OpenError"`, `retryAfter`, `key`, `state`).
 *
 * @since 0.3.0
 * @category errors
 */
export const OpenError: typeof internal.OpenError = internal.OpenError

/**
 * @since 0.3.0
 * @category errors
 */
export type OpenError = internal.OpenError

/**
 * A transition seen by this process, with the store that decided it.
 *
 * @since 0.3.0
 * @category models
 */
export type Change = internal.Change

/**
 * A scoped shared breaker. See `layer`.
 *
 * @example
 * ```ts
 * import { RedisCircuitBreaker } from "@effect-backoff/platform-node"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const breaker = yield* RedisCircuitBreaker.make({ redis: "redis://127.0.0.1:6379", key: "breaker:payments" })
 *   return yield* breaker.execute(Effect.succeed("paid"))
 * }))
 * ```
 *
 * @since 0.3.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<RedisCircuitBreaker, never, Scope.Scope> = internal.make

/**
 * A scoped breaker per key: the Redis key of each is `<key>:<the call's key>`; at most
 * `capacity` are held in the process (least recently used out; the shared state stays).
 *
 * @example
 * ```ts
 * import { RedisCircuitBreaker } from "@effect-backoff/platform-node"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const breakers = yield* RedisCircuitBreaker.keyed({ redis: "redis://127.0.0.1:6379", key: "breaker" }, { capacity: 100 })
 *   return yield* breakers.execute("api.example.com", Effect.succeed("ok"))
 * }))
 * ```
 *
 * @since 0.3.0
 * @category constructors
 */
export const keyed: (
  options: Options,
  keyedOptions: { readonly capacity: number }
) => Effect.Effect<KeyedRedisCircuitBreaker, never, Scope.Scope> = internal.keyed

/**
 * The service tag of `layer`.
 *
 * @since 0.3.0
 * @category tags
 */
export const RedisCircuitBreaker: Context.Tag<RedisCircuitBreaker, RedisCircuitBreaker> = internal.tag

/**
 * A layer of one breaker shared by every process using the same `key` on the same server.
 *
 * **Details**
 *
 * - The state machine is core's `CircuitBreaker`: its JSON state lives in Redis with a
 *   version, and each process steps its own outcomes over the state it last read, then
 *   writes the result with a compare-and-set (one Lua script), again over the fresh
 *   state on a conflict. A batch counts once even if its answer is lost (batch ids).
 * - The success path never waits on Redis: the state is read every `syncInterval`
 *   (default 100 ms) and outcomes are sent in batches, one command in flight at a time.
 * - Time is the server's `TIME`, so clock skew between processes does not matter.
 * - Half-open probes are leased fleet-wide (`SET NX PX`): at most `probes` in the whole
 *   fleet. A probe asks for its lease in one round trip, bounded by `timeout`.
 * - `quorum: q`: it opens only when the failures in `quorumWindow` come from at least q
 *   distinct clients, so one client with a bad network cannot open it for everyone.
 * - Redis unreachable (or the key of another type): each process decides with a local
 *   breaker of the same options, from where the shared one was, says so once (a warning
 *   and `metrics.fallbacks`), and goes back to the shared state when Redis answers. A
 *   call is never failed by the store, and nothing is queued while Redis is away.
 * - Scoped: closing the scope stops the sync fiber and disconnects the client the layer
 *   made, so the process can exit at once.
 *
 * @example
 * ```ts
 * import { RedisCircuitBreaker } from "@effect-backoff/platform-node"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* RedisCircuitBreaker.RedisCircuitBreaker
 *   return yield* breaker.execute(Effect.succeed("ok"))
 * })
 * const main = program.pipe(
 *   Effect.provide(RedisCircuitBreaker.layer({ redis: "redis://127.0.0.1:6379", key: "breaker:orders", quorum: 2 }))
 * )
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const layer: (options: Options) => Layer.Layer<RedisCircuitBreaker> = internal.layer

/**
 * The store's metrics: `fallbacks` counts the times a process fell back to its local
 * breaker (once per outage it saw), `leases` the fleet-wide probe leases asked for
 * (tagged `granted`).
 *
 * @example
 * ```ts
 * import { RedisCircuitBreaker } from "@effect-backoff/platform-node"
 * import { Effect, Metric } from "effect"
 *
 * Effect.runPromise(Metric.value(RedisCircuitBreaker.metrics.fallbacks)).then((s) => console.log(s.count))
 * ```
 *
 * @since 0.3.0
 * @category observability
 */
export const metrics: {
  readonly fallbacks: Metric.Metric.Counter<number>
  readonly leases: Metric.Metric.Counter<number>
} = { fallbacks: internal.fallbacks, leases: internal.leases }
