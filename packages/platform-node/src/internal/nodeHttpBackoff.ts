import type { Backoff } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type { Duration, Schedule } from "effect"
import { Context, Effect, Layer } from "effect"

/** @internal The options of `NodeHttpBackoff.layer` (documented in the public module). */
export interface LayerOptions extends Omit<HttpBackoff.Options, "wait" | "maxTries" | "maxTime"> {
  readonly wait?: Schedule.Schedule<unknown, HttpBackoff.Retryable, any> | undefined
  readonly maxTries?: number | undefined
  readonly maxTime?: Duration.DurationInput | undefined
}

/** @internal `NodeHttpBackoff.layer`. */
export const layer = <const O extends LayerOptions>(
  options: Backoff.KnownOptions<O, LayerOptions>
): Layer.Layer<HttpClient.HttpClient, never, HttpBackoff.OptionsContext<O>> => {
  // validated now, once: a bad option throws here, not when the layer is built
  const retry = HttpBackoff.retryTransient(options as HttpBackoff.Options)
  return Layer.effect(
    HttpClient.HttpClient,
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const context = yield* Effect.context<HttpBackoff.OptionsContext<O>>()
      return retry(client).pipe(
        HttpClient.transformResponse(
          Effect.mapInputContext((input: Context.Context<never>) => Context.merge(context, input))
        )
      ) as HttpClient.HttpClient
    })
  ).pipe(Layer.provide(NodeHttpClient.layer))
}
