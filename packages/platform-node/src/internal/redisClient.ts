/**
 * @internal The ioredis client handling shared by the Redis stores (the retry budget and
 * the circuit breaker): the `redis` option, one scoped client or the caller's, scripts by
 * EVALSHA with an EVAL fallback, and duration options.
 */
import { InvalidOptionError } from "@effect-backoff/core"
import { Duration, Effect } from "effect"
import type { Scope } from "effect"
import { Redis } from "ioredis"
import type { RedisOptions } from "ioredis"
import { createHash } from "node:crypto"

/** @internal What the `redis` option accepts. */
export type RedisInput = Redis | RedisOptions | string

/** @internal */
export const invalid = (option: string, value: unknown, expected: string): InvalidOptionError =>
  new InvalidOptionError({ option, value, expected })

/** @internal A duration option in milliseconds, at least `min`; `fallback` when absent. */
export const millisOption = (option: string, input: unknown, fallback: number, min: number): number => {
  if (input === undefined) return fallback
  let millis = Number.NaN
  try {
    if (typeof input === "number") millis = input
    else if (
      typeof input === "string" && /^\d+(\.\d+)?\s+(nanos?|micros?|millis?|seconds?|minutes?)$/.test(input.trim())
    ) {
      millis = Duration.toMillis(Duration.decode(input as Duration.DurationInput))
    } else if (Duration.isDuration(input)) millis = Duration.toMillis(input)
  } catch {
    millis = Number.NaN
  }
  if (!Number.isFinite(millis) || millis < min) {
    throw invalid(option, input, `a finite duration of at least ${min} ms ("100 millis")`)
  }
  return millis
}

/** @internal An ioredis client (or something that runs scripts like one). */
export const isClient = (u: unknown): u is Redis =>
  u instanceof Redis ||
  (typeof u === "object" && u !== null && typeof (u as Redis).evalsha === "function" &&
    typeof (u as Redis).eval === "function")

/** @internal Validates the `redis` option. */
export const redisOption = (redis: unknown): RedisInput => {
  if (!(isClient(redis) || typeof redis === "string" || (typeof redis === "object" && redis !== null))) {
    throw invalid("redis", redis, "an ioredis client, ioredis options, or a redis:// URL")
  }
  return redis as RedisInput
}

/** @internal */
export const describe = (e: unknown): string => e instanceof Error ? e.message : String(e)

/**
 * @internal A client the store owns: no offline queue and no per-request retries (a
 * command fails at once while disconnected, so nothing is queued or replayed), lazy
 * connect, bounded reconnect delays; errors are reported by the store's fallback.
 */
export const makeClient = (redis: RedisInput): Redis => {
  const common: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
    connectTimeout: 1000,
    // closing a connection that never opened must not hold the process (ioredis waits 2 s)
    disconnectTimeout: 100,
    retryStrategy: (times) => Math.min(50 * times, 1000)
  }
  const client = typeof redis === "string"
    ? new Redis(redis, common)
    : new Redis({ ...(redis as RedisOptions), ...common })
  client.on("error", () => {})
  return client
}

/** @internal Closes a client a store created: QUIT when connected (bounded), else at once. */
export const close = (client: Redis): Effect.Effect<void> =>
  client.status === "ready"
    ? Effect.promise(() => client.quit().then(() => undefined, () => undefined)).pipe(
      Effect.timeout("200 millis"),
      Effect.ignore,
      Effect.ensuring(Effect.sync(() => client.disconnect()))
    )
    : Effect.sync(() => client.disconnect())

/**
 * @internal The store's client: the caller's, used as it is and never closed, or one made
 * from options, connecting in the background and disconnected (no QUIT round trip, no
 * reconnect timer left) when the scope closes, so the process can exit at once.
 */
export const scopedClient = (
  redis: RedisInput
): Effect.Effect<{ readonly client: Redis; readonly owned: boolean }, never, Scope.Scope> => {
  if (isClient(redis)) return Effect.succeed({ client: redis, owned: false })
  return Effect.acquireRelease(
    Effect.sync(() => {
      const client = makeClient(redis)
      client.connect().catch(() => undefined)
      return { client, owned: true }
    }),
    ({ client }) => Effect.sync(() => client.disconnect(false))
  )
}

/**
 * @internal A client a command may be sent to now: connected and ready. A caller's client
 * that is reconnecting would put the command in its offline queue (and replay it later):
 * the store decides locally instead.
 */
export const isReady = (client: Redis): boolean =>
  (client as { status?: string }).status === undefined ||
  client.status === "ready"

/** @internal A Lua script, run by EVALSHA (EVAL when the server lost it). */
export interface Script {
  readonly text: string
  readonly sha: string
}

/** @internal */
export const script = (text: string): Script => ({ text, sha: createHash("sha1").update(text).digest("hex") })

/** @internal Runs a script once: one round trip (two only when the server lost the script). */
export const runScript = <A>(
  client: Redis,
  s: Script,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string>
): Promise<A> =>
  (client.evalsha(s.sha, keys.length, ...keys, ...args) as Promise<A>).catch((e: unknown) => {
    if (describe(e).includes("NOSCRIPT")) return client.eval(s.text, keys.length, ...keys, ...args) as Promise<A>
    throw e
  })
