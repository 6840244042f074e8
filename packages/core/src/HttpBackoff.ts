/**
 * Retry for `@effect/platform`'s `HttpClient`: transient statuses and transport errors,
 * `Retry-After`, idempotency, and every `Backoff` option, through the same loop as
 * `Backoff.onException`.
 *
 * Its own entry point, `import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"`:
 * the main entry does not export it, so that it never loads `@effect/platform`, an
 * optional peer dependency that only this module needs.
 *
 * @since 0.1.0
 */
// first: a wrong effect major fails here, with a sentence naming the versions needed
import "./internal/effectVersion.js"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type { Cause, Duration, Effect, Option, Schedule } from "effect"
import type * as Backoff from "./Backoff.js"
import * as internal from "./internal/http.js"

/**
 * An error `retryTransient` retries: a transport `RequestError` (connection refused or
 * reset, DNS failure), a `TimeoutException` from a timeout inside the client, or a
 * `ResponseError` whose response has a retryable status (from `filterStatusOk` applied
 * before `retryTransient`).
 *
 * @since 0.1.0
 * @category models
 */
export type RetriedError = HttpClientError.HttpClientError | Cause.TimeoutException

/**
 * What the loop retries after an attempt: the response, or the error. The input of a
 * `wait` strategy and of `giveup`.
 *
 * @since 0.2.0
 * @category models
 */
export type Retryable = HttpClientResponse.HttpClientResponse | RetriedError

/**
 * The former name of `Retryable` (it read like `Timeline.Outcome`, a scripted call).
 *
 * @since 0.1.0
 * @category models
 * @deprecated use `Retryable`
 */
export type Outcome = Retryable

/**
 * The request an event is about, as `details.request`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestInfo {
  readonly method: string
  /** The full URL, query included. */
  readonly url: string
}

/**
 * Details every HTTP handler receives, on top of `Backoff`'s: `request`, and `args` is
 * `[request]` (the `HttpClientRequest` itself). `target` is `"METHOD url"` unless the
 * `target` option names it.
 *
 * @since 0.1.0
 * @category models
 */
export interface HttpDetails extends Backoff.BaseDetails {
  readonly args: readonly [HttpClientRequest.HttpClientRequest]
  readonly request: RequestInfo
}

/**
 * Details of a success: any response whose status is not retried. `value` is the
 * response and `status` its status.
 *
 * @since 0.1.0
 * @category models
 */
export interface SuccessDetails extends HttpDetails {
  readonly value: HttpClientResponse.HttpClientResponse
  readonly status: number
}

/**
 * Details of a backoff: `wait` is the exact sleep about to happen (after jitter, the
 * Retry-After floor and the `maxTime` clamp). A retried response is `value` (with its
 * `status`); a retried error is `exception` (with `status` when it carries a response).
 *
 * @since 0.1.0
 * @category models
 */
export interface BackoffDetails extends HttpDetails {
  readonly wait: Duration.Duration
  readonly value?: HttpClientResponse.HttpClientResponse
  readonly exception?: RetriedError
  readonly status?: number
}

/**
 * Details of giving up: the last response (`value`, `status`) or the last error
 * (`exception`), and the `reason`.
 *
 * @since 0.1.0
 * @category models
 */
export interface GiveupDetails extends HttpDetails {
  readonly value?: HttpClientResponse.HttpClientResponse
  readonly exception?: RetriedError
  readonly status?: number
  /** Why the run gave up (since 0.2.0). */
  readonly reason: Backoff.GiveupReason
}

/**
 * Options of `retryTransient`: every `Backoff` option except `exception` and
 * `raiseOnGiveup`, plus the HTTP ones.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends
  Omit<
    Backoff.CommonOptions<Retryable, HttpClientResponse.HttpClientResponse, RetriedError>,
    "onSuccess" | "onBackoff" | "onGiveup"
  >
{
  /** `true` gives up at once on this response or error. */
  readonly giveup?: ((outcome: Retryable) => boolean | Effect.Effect<boolean, never, any>) | undefined
  readonly onSuccess?: Backoff.Handlers<SuccessDetails, any> | undefined
  readonly onBackoff?: Backoff.Handlers<BackoffDetails, any> | undefined
  readonly onGiveup?: Backoff.Handlers<GiveupDetails, any> | undefined
  /** The longest `Retry-After` honoured (default 60 seconds); a longer one is cut to this. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /** Retry POST and PATCH too, even without an `Idempotency-Key` header (default `false`). */
  readonly retryNonIdempotent?: boolean | undefined
  /**
   * Which responses are retried (default: status 408, 425, 429, 500, 502, 503, 504, see
   * `isTransientStatus`). Every other response is a success.
   */
  readonly retryOn?: ((response: HttpClientResponse.HttpClientResponse) => boolean) | undefined
  /**
   * The key of a keyed `breaker` (since 0.3.0): default the request URL's host
   * (`api.example.com:8443`), so one host that is down does not open the circuit for the
   * others. To the breaker a retryable response (`retryOn`) is a failure, as is a
   * transport error.
   */
  readonly breakerKey?: ((request: HttpClientRequest.HttpClientRequest) => string) | undefined
  /**
   * Hedge each attempt (since 0.3.0): `Backoff.hedge`'s options. Only for requests that
   * may be sent twice at once (GET, HEAD, OPTIONS, PUT, DELETE, TRACE, or an
   * `Idempotency-Key` header; `retryNonIdempotent` does not extend it), never for a
   * one-shot stream body. The budget defaults to the policy's `budget`. A losing copy is
   * interrupted (its request aborted, its connection closed); a losing response that had
   * already arrived is released unread. The first response wins, whatever its status: a
   * retryable one then goes to the policy as usual.
   */
  readonly hedge?: Backoff.HedgeOptions<RetriedError> | undefined
}

/**
 * The services a client needs for options `O` (handlers, predicates or a schedule that
 * need services). Options typed only as the wide `Options` (whose handlers may need
 * anything) are taken to need none, so a shared `const options: HttpBackoff.Options`
 * still gives a plain `HttpClient`.
 *
 * @since 0.1.0
 * @category type-level
 */
export type OptionsContext<O> =
  | (0 extends (1 & Backoff.OptionsContext<O>) ? never : Backoff.OptionsContext<O>)
  | (O extends { readonly hedge: infer H } ? Backoff.HedgeContext<H> : never)

/**
 * What `retryTransient(options)` returns: middleware from client to client.
 *
 * @since 0.1.0
 * @category models
 */
export interface Middleware<O> extends Backoff.Applier {
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>
  ): HttpClient.HttpClient.With<E | Backoff.OptionsError<O>, R | OptionsContext<O>>
}

/**
 * Retries a client's requests with a backoff policy: transport errors and responses 408,
 * 425, 429, 500, 502, 503, 504, honouring `Retry-After`. Middleware, like the platform's
 * own `HttpClient.retryTransient`: `client.pipe(HttpBackoff.retryTransient(options))`
 * or `HttpBackoff.retryTransient(client, options)`.
 *
 * **Details**
 *
 * - A transport error (`RequestError` with reason `Transport`, a `TimeoutException`) is
 *   retried; when the policy gives up, the request fails with the last error.
 * - A retryable response is retried; when the policy gives up, the last response is
 *   returned (onGiveup runs). Any other response is returned at once and is a success
 *   (onSuccess runs, with its `status`). Other errors pass through untouched.
 * - The wait is max(policy wait after jitter, `Retry-After`), the header capped by
 *   `maxRetryAfter` (default 60 seconds), and the whole capped by the `maxTime` budget.
 *   An HTTP date is measured against the Effect Clock; an unparseable header falls back
 *   to the policy.
 * - Only GET, HEAD, OPTIONS, PUT, DELETE and TRACE are retried, unless the request has an
 *   `Idempotency-Key` header or `retryNonIdempotent: true`; any other request is sent
 *   once, past the policy (no handlers, no log lines).
 * - The body of a response that will be retried is discarded at once, never read: once
 *   the policy decides to retry, before onBackoff and the sleep, its stream is opened and
 *   interrupted, which aborts the request and closes its connection (Node, Fetch and every
 *   client built with `HttpClient.make`). A stalled or trickling body cannot hold the loop:
 *   the whole request ends within `maxTime` plus one attempt's timeout. Handlers see the
 *   response's status and headers; its body is gone. The response returned on giving up
 *   is never touched.
 * - Interrupting the request (an outer `Effect.timeout`, a fiber interrupt) releases a
 *   response it holds, in the sleep or before.
 * - A request body is sent again on each attempt. A stream body (`HttpBody.stream`,
 *   `bodyStream`, `bodyFile`) cannot be replayed: such a request gets one attempt, past
 *   the policy. Use a bytes, text, JSON or form body to have it retried.
 *
 * Options are validated here: a bad one throws `InvalidOptionError`.
 *
 * @example
 * ```ts
 * import { Wait } from "@effect-backoff/core"
 * import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
 * import { HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = (yield* HttpClient.HttpClient).pipe(
 *     HttpBackoff.retryTransient({ wait: Wait.expo({ maxValue: "10 seconds" }), maxTries: 5 })
 *   )
 *   const response = yield* client.get("https://example.com/")
 *   return response.status
 * })
 * ```
 *
 * @since 0.1.0
 * @category retry
 */
export const retryTransient: {
  (): Middleware<{}>
  <const O extends Options>(options: Backoff.KnownOptions<O, Options>): Middleware<O>
  <E, R, const O extends Options>(
    self: HttpClient.HttpClient.With<E, R>,
    options: Backoff.KnownOptions<O, Options>
  ): HttpClient.HttpClient.With<E | Backoff.OptionsError<O>, R | OptionsContext<O>>
} = internal.retryTransientDual

/**
 * The wait a response's `Retry-After` header asks for: delta-seconds (`120`) or an HTTP
 * date (`Wed, 21 Oct 2015 07:28:00 GMT`, and the obsolete RFC 850 and asctime forms).
 * `None` when the header is absent or unparseable; a date in the past gives zero.
 *
 * **Details**
 *
 * A date is measured against `now` (epoch milliseconds). Without `now` the system time is
 * read through Effect's default `Clock`, which a `TestClock` does not control: inside an
 * Effect, pass `yield* Clock.currentTimeMillis`. `retryTransient` and `waitRetryAfter`
 * always use the Effect Clock.
 *
 * @example
 * ```ts
 * import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
 * import { HttpClientRequest, HttpClientResponse } from "@effect/platform"
 * import { Duration, Option } from "effect"
 *
 * const response = HttpClientResponse.fromWeb(
 *   HttpClientRequest.get("/"),
 *   new Response(null, { status: 503, headers: { "Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT" } })
 * )
 * const now = Date.UTC(2015, 9, 21, 7, 28, 0)
 * console.log(HttpBackoff.retryAfter(response, now).pipe(Option.map(Duration.toSeconds))) // { _id: "Option", _tag: "Some", value: 30 }
 * ```
 *
 * @since 0.1.0
 * @category Retry-After
 */
export const retryAfter: (
  response: { readonly headers: Readonly<Record<string, string>> },
  now?: number
) => Option.Option<Duration.Duration> = internal.retryAfter

/**
 * A wait strategy that honours `Retry-After`: each wait is max(fallback's wait,
 * Retry-After), the header capped by `maxRetryAfter` (default 60 seconds). The input is a
 * response or an error carrying one (`ResponseError`); for any other input, or without a
 * usable header, it is the fallback's wait. The schedule ends when the fallback does.
 *
 * **Details**
 *
 * Use it where `retryTransient` does not fit, e.g. with `Backoff.onPredicate` or
 * `Effect.retry`. Jitter in a `Backoff` policy applies to its output, so pass
 * `jitter: null` to keep the server's wait exact (`retryTransient` applies Retry-After
 * after jitter by itself).
 *
 * @example
 * ```ts
 * import { Backoff, Wait } from "@effect-backoff/core"
 * import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
 * import { HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * // poll until the job resource is 200, honouring Retry-After on the 202s
 * const poll = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   return yield* client.get("https://example.com/jobs/1").pipe(
 *     Backoff.onPredicate({
 *       wait: HttpBackoff.waitRetryAfter(Wait.constant({ interval: "2 seconds" })),
 *       predicate: (response) => response.status === 202,
 *       jitter: null,
 *       maxTime: "5 minutes"
 *     })
 *   )
 * })
 * ```
 *
 * @since 0.1.0
 * @category Retry-After
 */
export const waitRetryAfter: <In = unknown, R = never>(
  fallback: Schedule.Schedule<unknown, In, R>,
  options?: { readonly maxRetryAfter?: Duration.DurationInput | undefined }
) => Schedule.Schedule<Duration.Duration, In, R> = internal.waitRetryAfter

/**
 * The statuses `retryTransient` retries by default: 408, 425, 429, 500, 502, 503, 504.
 * Handy for a `retryOn` that extends the set.
 *
 * @example
 * ```ts
 * import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
 *
 * // also retry 404 (a resource that is still being created)
 * const middleware = HttpBackoff.retryTransient({
 *   retryOn: (response) => HttpBackoff.isTransientStatus(response.status) || response.status === 404
 * })
 * console.log(HttpBackoff.isTransientStatus(503), HttpBackoff.isTransientStatus(404)) // true false
 * ```
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTransientStatus: (status: number) => boolean = internal.isTransientStatus

/**
 * Whether `retryTransient` may send a request again: GET, HEAD, OPTIONS, PUT, DELETE,
 * TRACE, or any request with an `Idempotency-Key` header.
 *
 * @example
 * ```ts
 * import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
 * import { HttpClientRequest } from "@effect/platform"
 *
 * console.log(HttpBackoff.isIdempotent(HttpClientRequest.post("/orders"))) // false
 * console.log(HttpBackoff.isIdempotent(
 *   HttpClientRequest.post("/orders").pipe(HttpClientRequest.setHeader("Idempotency-Key", "order-42"))
 * )) // true
 * ```
 *
 * @since 0.1.0
 * @category predicates
 */
export const isIdempotent: (request: HttpClientRequest.HttpClientRequest) => boolean = internal.isRetryableRequest
