/**
 * An `HttpClient` layer for Node with `HttpBackoff.retryTransient` built in.
 *
 * @since 0.1.0
 */
import type { Backoff } from "@effect-backoff/core"
import type * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import type * as HttpClient from "@effect/platform/HttpClient"
import type { Layer } from "effect"
import * as internal from "./internal/nodeHttpBackoff.js"

/**
 * Options of `layer`: those of `HttpBackoff.retryTransient`, with `wait`, `maxTries` and
 * `maxTime` given as values (an `HttpClient` service cannot fail with a `ConfigError`;
 * to read them from `Config`, build the layer in an `Effect` that reads them first).
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerOptions extends internal.LayerOptions {}

/**
 * A `Layer` providing an `HttpClient` over `@effect/platform-node`'s Node client (a keep-alive
 * `http.Agent`, closed with the layer) with `HttpBackoff.retryTransient(options)` applied:
 * transient statuses and transport errors are retried with the policy, honouring
 * `Retry-After`.
 *
 * **Details**
 *
 * Options are validated when `layer` is called (a bad one throws `InvalidOptionError`).
 * Services that handlers or the wait schedule need are taken from the layer's context.
 *
 * @example
 * ```ts
 * import { Wait } from "@effect-backoff/core"
 * import { NodeHttpBackoff } from "@effect-backoff/platform-node"
 * import { HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   const response = yield* client.get("http://127.0.0.1:8080/health")
 *   return response.status
 * })
 *
 * program.pipe(
 *   Effect.provide(NodeHttpBackoff.layer({ wait: Wait.expo({ maxValue: "5 seconds" }), maxTries: 6 })),
 *   Effect.runPromise
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: <const O extends LayerOptions>(
  options: Backoff.KnownOptions<O, LayerOptions>
) => Layer.Layer<HttpClient.HttpClient, never, HttpBackoff.OptionsContext<O>> = internal.layer
