import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import {
  Cause,
  Clock,
  Duration,
  Effect,
  Either,
  Exit,
  Option,
  Schedule,
  ScheduleDecision,
  ScheduleInterval,
  Stream
} from "effect"
import { halvesOf, tag as throttleTag } from "./adaptiveThrottle.js"
import type { AdaptiveThrottle } from "./adaptiveThrottle.js"
import { traced } from "./backoff.js"
import * as callbacks from "./callbacks.js"
import { guardOption } from "./circuitBreaker.js"
import * as hedging from "./hedge.js"
import type { LoopOptions, RetryMode, Run } from "./loop.js"
import { execute } from "./loop.js"
import * as options from "./options.js"
import { delayOf } from "./plan.js"
import { track } from "./retryBudget.js"
import { durationMillis, invalid, MAX_WAIT_MILLIS, optionsObject } from "./validate.js"

// ---------------------------------------------------------------------------
// Retry-After
// ---------------------------------------------------------------------------

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
const MONTH = "(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})"
/** `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate, the form servers send). */
const IMF_FIXDATE = new RegExp(`^[a-z]{3}, (\\d{1,2}) ${MONTH} (\\d{4}) ${TIME} gmt$`)
/** `Sunday, 06-Nov-94 08:49:37 GMT` (obsolete RFC 850 form; RFC 9110 asks recipients to accept it). */
const RFC_850 = new RegExp(`^[a-z]{6,9}, (\\d{1,2})-${MONTH}-(\\d{2}) ${TIME} gmt$`)
/** `Sun Nov  6 08:49:37 1994` (obsolete asctime form, always GMT). */
const ASCTIME = new RegExp(`^[a-z]{3} ${MONTH} (\\d{1,2}) ${TIME} (\\d{4})$`)
/** delta-seconds; RFC 9110 allows digits only, a fraction is accepted as a courtesy. */
const DELTA_SECONDS = /^\d+(?:\.\d+)?$/

const utcMillis = (
  year: number,
  month: string,
  day: number,
  hours: number,
  minutes: number,
  seconds: number
): number | undefined => {
  const m = MONTHS.indexOf(month)
  if (hours > 23 || minutes > 59 || seconds > 60 || day < 1) return undefined
  // a leap second (:60) is read as the end of that minute
  const millis = Date.UTC(year, m, day, hours, minutes, Math.min(seconds, 59))
  // Date.UTC rolls Feb 30 over into March: such a date is not a date
  return new Date(millis).getUTCDate() === day ? millis : undefined
}

/** @internal The epoch millis an HTTP date names, or undefined when it is not one. */
export const parseHttpDate = (text: string, nowMillis: number): number | undefined => {
  const s = text.trim().replace(/\s+/g, " ").toLowerCase()
  let m = IMF_FIXDATE.exec(s)
  if (m !== null) return utcMillis(Number(m[3]), m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]))
  m = RFC_850.exec(s)
  if (m !== null) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is in the past century
    const thisYear = new Date(nowMillis).getUTCFullYear()
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3])
    if (year > thisYear + 50) year -= 100
    return utcMillis(year, m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]))
  }
  m = ASCTIME.exec(s)
  if (m !== null) return utcMillis(Number(m[6]), m[1]!, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]))
  return undefined
}

/**
 * @internal The wait a `Retry-After` value asks for, in milliseconds (0 for a date in the
 * past), or undefined when the value is neither delta-seconds nor an HTTP date.
 */
export const parseRetryAfter = (value: string, nowMillis: number): number | undefined => {
  const trimmed = value.trim()
  if (DELTA_SECONDS.test(trimmed)) return Number(trimmed) * 1000
  const date = parseHttpDate(trimmed, nowMillis)
  return date === undefined ? undefined : Math.max(0, date - nowMillis)
}

/** @internal */
export const isResponse = (u: unknown): u is HttpClientResponse.HttpClientResponse =>
  typeof u === "object" && u !== null && HttpClientResponse.TypeId in u

/** @internal The response an input is or carries (a `ResponseError`'s), if any. */
export const responseOf = (input: unknown): HttpClientResponse.HttpClientResponse | undefined => {
  if (isResponse(input)) return input
  if (typeof input === "object" && input !== null && "response" in input) {
    const response = (input as { readonly response: unknown }).response
    if (isResponse(response)) return response
  }
  return undefined
}

const retryAfterHeader = (response: { readonly headers: Readonly<Record<string, string>> }): string | undefined =>
  response.headers["retry-after"]

/**
 * The system time for callers of `retryAfter` who pass no `now`: read through Effect's
 * default Clock service (the same clock `Effect.runPromise` uses), so this module never
 * reads the system clock by itself. Inside the retry loop the fiber's Clock is passed.
 */
const systemClock = Clock.make()

/** @internal `HttpBackoff.retryAfter`. */
export const retryAfter = (
  response: { readonly headers: Readonly<Record<string, string>> },
  now?: number
): Option.Option<Duration.Duration> => {
  const header = retryAfterHeader(response)
  if (header === undefined) return Option.none()
  const millis = parseRetryAfter(header, now ?? systemClock.unsafeCurrentTimeMillis())
  return millis === undefined ? Option.none() : Option.some(Duration.millis(millis))
}

/** @internal The Retry-After wait an input asks for, capped, or undefined. */
const retryAfterMillis = (input: unknown, nowMillis: number, cap: number): number | undefined => {
  const response = responseOf(input)
  if (response === undefined) return undefined
  const header = retryAfterHeader(response)
  if (header === undefined) return undefined
  const millis = parseRetryAfter(header, nowMillis)
  return millis === undefined ? undefined : Math.min(millis, cap, MAX_WAIT_MILLIS)
}

const DEFAULT_MAX_RETRY_AFTER = 60_000

const maxRetryAfterOption = (input: unknown): number =>
  input === undefined ? DEFAULT_MAX_RETRY_AFTER : durationMillis("maxRetryAfter", input, true)

/** @internal `HttpBackoff.waitRetryAfter`: max(fallback's wait, Retry-After), capped. */
export const waitRetryAfter = <In, R>(
  fallback: Schedule.Schedule<unknown, In, R>,
  options?: { readonly maxRetryAfter?: Duration.DurationInput | undefined }
): Schedule.Schedule<Duration.Duration, In, R> => {
  if (!Schedule.isSchedule(fallback)) {
    throw invalid("waitRetryAfter.fallback", fallback, "a wait strategy (a Schedule, e.g. Wait.expo())")
  }
  const cap = maxRetryAfterOption(optionsObject("waitRetryAfter", options, ["maxRetryAfter"]).maxRetryAfter)
  return Schedule.makeWithState(
    fallback.initial,
    (now, input: In, state) =>
      Effect.map(fallback.step(now, input, state), ([next, out, decision]) => {
        if (ScheduleDecision.isDone(decision)) {
          return [next, Duration.isDuration(out) ? out : Duration.zero, decision] as const
        }
        const policyWait = delayOf(decision, now)
        const server = retryAfterMillis(input, now, cap)
        const wait = server !== undefined && server > policyWait ? server : policyWait
        return [
          next,
          Duration.millis(wait),
          ScheduleDecision.continueWith(ScheduleInterval.after(now + wait))
        ] as const
      })
  )
}

// ---------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------

const TRANSIENT: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504])

/** @internal */
export const isTransientStatus = (status: number): boolean => TRANSIENT.has(status)

const isTransientResponse = (response: HttpClientResponse.HttpClientResponse): boolean => TRANSIENT.has(response.status)

const IDEMPOTENT: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"])

/** @internal May this request be sent again? Idempotent methods, or an `Idempotency-Key`. */
export const isRetryableRequest = (request: HttpClientRequest.HttpClientRequest): boolean =>
  IDEMPOTENT.has(request.method.toUpperCase()) || request.headers["idempotency-key"] !== undefined

/** @internal The request's full URL (with its query), as the client sends it. */
export const urlOf = (request: HttpClientRequest.HttpClientRequest): string => {
  if (request.urlParams.length === 0 && Option.isNone(request.hash)) return request.url
  const url = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
  return Either.isRight(url) ? url.right.toString() : request.url
}

const REASONS: Readonly<Record<number, string>> = {
  408: "Request Timeout",
  425: "Too Early",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout"
}

/** @internal What a log line shows for a response: `HTTP 429 Too Many Requests, Retry-After: 1`. */
export const describeResponse = (response: HttpClientResponse.HttpClientResponse): string => {
  const reason = REASONS[response.status]
  const retryAfter = retryAfterHeader(response)
  return `HTTP ${response.status}${reason === undefined ? "" : ` ${reason}`}${
    retryAfter === undefined ? "" : `, Retry-After: ${retryAfter}`
  }`
}

/** Responses already released, so that releasing one again (on interrupt) does nothing. */
const released = new WeakSet<HttpClientResponse.HttpClientResponse>()

/**
 * @internal Releases a response that is about to be retried, at once, without reading its
 * body: the body's stream is opened and interrupted straight away. Ending the stream is
 * what frees the response on every client built with `HttpClient.make` (the Node, Fetch
 * and undici clients abort the request and close its connection), so a stalled or
 * trickling body can never hold the loop. A body that had already arrived in full is
 * simply drained. Interruptible even inside a finalizer (on interrupt, below); a response
 * already released is left alone.
 */
const discard = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (released.has(response)) return Effect.void
    released.add(response)
    // the drain fiber starts first and opens the stream; the race then interrupts it
    return Effect.ignore(Effect.raceFirst(Effect.interruptible(Stream.runDrain(response.stream)), Effect.void))
  })

/** What the loop releases once it has decided to retry: the retried response, if any. */
const releaseOutcome = (input: unknown): Effect.Effect<void> | undefined => {
  const response = responseOf(input)
  return response === undefined ? undefined : discard(response)
}

// ---------------------------------------------------------------------------
// retryTransient
// ---------------------------------------------------------------------------

const HTTP_KEYS = [
  ...options.COMMON_KEYS,
  "giveup",
  "maxRetryAfter",
  "retryNonIdempotent",
  "retryOn",
  "breakerKey",
  "hedge"
]

/** @internal A keyed breaker's default key for a request: its URL's host (with the port, if any). */
export const hostKey = (request: HttpClientRequest.HttpClientRequest): string => {
  try {
    return new URL(urlOf(request)).host
  } catch {
    return urlOf(request)
  }
}

/** @internal */
export const isHttpClient = (u: unknown): u is HttpClient.HttpClient =>
  typeof u === "object" && u !== null && HttpClient.TypeId in u

interface TransientOptions {
  readonly loop: LoopOptions
  readonly mode: RetryMode
  readonly retryOn: (
    response: HttpClientResponse.HttpClientResponse
  ) => boolean | Effect.Effect<boolean, never, unknown>
  readonly retryNonIdempotent: boolean
  /** Each attempt of an idempotent request hedged, or undefined for none. */
  readonly hedge: hedging.Settings | undefined
}

const makeMode = (maxRetryAfter: number): RetryMode => ({
  key: (input) => isResponse(input) ? "value" : "exception",
  // giving up on a response returns it; on an error fails with the last error itself
  finish: (input) => isResponse(input) ? Effect.succeed(input) : Effect.fail(input),
  extra: (input, details) => {
    // `args` is `[request]`: set by `retryTransient` below
    const request = (details.args as ReadonlyArray<HttpClientRequest.HttpClientRequest>)[0]!
    details.request = { method: request.method, url: urlOf(request) }
    const response = responseOf(input)
    if (response !== undefined) details.status = response.status
  },
  floor: (input, now) => retryAfterMillis(input, now, maxRetryAfter),
  describe: (input) => isResponse(input) ? describeResponse(input) : input,
  // the body of a response that will be retried is discarded before onBackoff and the sleep
  release: releaseOutcome
})

/**
 * The `hedge` option: `Backoff.hedge`'s options. Its budget defaults to the policy's, so
 * retries and hedges share one cap; a losing copy's response is released (its body
 * discarded, its connection closed).
 */
const hedgeOption = (input: unknown, loop: LoopOptions): hedging.Settings | undefined => {
  if (input === undefined) return undefined
  const settings = hedging.resolve(input, "hedge.")
  return {
    ...settings,
    budget: settings.budget ?? loop.budget,
    release: discard
  }
}

/** @internal Validates the options once; the result applies them to a client. */
export const resolveTransient = (input: unknown): TransientOptions => {
  const o = options.record(input, HTTP_KEYS)
  const loop = options.loopOptions(o, options.policyOptions(o), options.predicateOption("giveup", o.giveup))
  if (o.retryNonIdempotent !== undefined && typeof o.retryNonIdempotent !== "boolean") {
    throw invalid("retryNonIdempotent", o.retryNonIdempotent, "a boolean")
  }
  if (o.retryOn !== undefined && typeof o.retryOn !== "function") {
    throw invalid("retryOn", o.retryOn, "a function (response) => boolean")
  }
  const retryOn = o.retryOn as callbacks.AnyPredicate | undefined
  if (o.breakerKey !== undefined && typeof o.breakerKey !== "function") {
    throw invalid("breakerKey", o.breakerKey, "a function (request) => string")
  }
  const keyOf = (o.breakerKey ?? hostKey) as (request: HttpClientRequest.HttpClientRequest) => string
  const fails = retryOn === undefined
    ? isTransientResponse
    : (response: unknown) => callbacks.verdict(retryOn, response)
  // to the breaker a retryable response is a failure; a keyed breaker is keyed by host
  const guard = guardOption(
    o.breaker,
    (run) => keyOf(run.args[0] as HttpClientRequest.HttpClientRequest),
    (value) => isResponse(value) && fails(value)
  )
  return {
    loop: { ...loop, guard },
    mode: makeMode(maxRetryAfterOption(o.maxRetryAfter)),
    retryOn: retryOn === undefined ? isTransientResponse : (response) => callbacks.verdict(retryOn, response),
    retryNonIdempotent: o.retryNonIdempotent === true,
    hedge: hedgeOption(o.hedge, loop)
  }
}

const isRetriedError = (
  error: unknown,
  retryOn: TransientOptions["retryOn"]
): boolean | Effect.Effect<boolean, never, unknown> => {
  if (Cause.isTimeoutException(error)) return true
  if (!HttpClientError.isHttpClientError(error)) return false
  if (error._tag === "RequestError") return error.reason === "Transport"
  return error.reason === "StatusCode" && retryOn(error.response)
}

/** One run's hold on its last retryable response, released if the run is interrupted. */
interface Held {
  response: HttpClientResponse.HttpClientResponse | undefined
}

/**
 * One classified attempt of one run: transport errors and retryable responses go to
 * `run.retry`; every other response is a success; every other error passes through.
 * The loop releases a retried response once it has decided to retry (`Kind.release`);
 * `held` keeps the last one so that an interrupt before that (in `giveup`, a handler)
 * releases it too. On giving up it is returned (or carried by the error) untouched.
 */
const attempt = (
  run: Run,
  send: Effect.Effect<HttpClientResponse.HttpClientResponse, unknown, unknown>,
  settings: TransientOptions,
  held: Held
): Effect.Effect<any, any, any> => {
  const { retryOn } = settings
  const hasSuccessHandlers = settings.loop.onSuccess !== undefined
  // a response the policy retries is no accept, whatever the throttle's isAccepted says
  const observed = run.observe(
    send,
    (exit) => Exit.isSuccess(exit) && isTransientResponse(exit.value) ? false : undefined
  )
  return Effect.matchEffect(observed, {
    onFailure: (error) =>
      callbacks.whenVerdict(isRetriedError(error, retryOn), (retried) => {
        if (!retried) return Effect.fail(error)
        held.response = responseOf(error)
        return run.retry(error)
      }),
    onSuccess: (response) =>
      callbacks.whenVerdict(retryOn(response), (retried) => {
        if (retried) {
          held.response = response
          return run.retry(response)
        }
        return hasSuccessHandlers ? Effect.as(run.succeed(response, true), response) : Effect.succeed(response)
      })
  })
}

/**
 * @internal Can the request be sent again as it is? Not when its body is a stream: a
 * stream is read as it is sent, so a second attempt would send what is left (often
 * nothing). Every other body (empty, bytes, text, JSON, form data) is a value.
 */
export const isReplayable = (request: HttpClientRequest.HttpClientRequest): boolean => request.body._tag !== "Stream"

/** @internal `retryTransient(options)(client)` with resolved settings. */
export const retryTransient = (settings: TransientOptions) => (self: HttpClient.HttpClient.With<any, any>): any => {
  if (!isHttpClient(self)) throw invalid("self", self, "an HttpClient")
  const { loop, mode } = settings
  return HttpClient.transform(self, (send, request) => {
    // sent once, past the policy: a one-shot body, or a method that may not be repeated
    // (never hedged); still a run for the retry budget (Finagle's rule: every request
    // deposits) and through the throttle, which counts every call
    if (!isReplayable(request) || (!settings.retryNonIdempotent && !isRetryableRequest(request))) {
      const once = loop.throttle === undefined ? send : throttledOnce(loop.throttle, send)
      return loop.budget === undefined ? once : track(once, loop.budget === true ? undefined : loop.budget)
    }
    const target = loop.target ?? `${request.method} ${urlOf(request)}`
    // hedged: idempotent methods (or an Idempotency-Key) only, never on retryNonIdempotent alone
    const hedged = settings.hedge !== undefined && isRetryableRequest(request)
      ? hedging.run(send, settings.hedge)
      : send
    return Effect.suspend(() => {
      const held: Held = { response: undefined }
      const run = execute(loop, mode, target, [request], (run) => attempt(run, run.guarded(hedged), settings, held))
      // interrupted (an outer timeout, in the sleep or before): nothing is left open
      return traced(
        loop,
        target,
        Effect.onInterrupt(run, () => held.response === undefined ? Effect.void : discard(held.response))
      )
    })
  })
}

const throttledOnce = (
  throttle: AdaptiveThrottle | true,
  send: Effect.Effect<HttpClientResponse.HttpClientResponse, unknown, unknown>
): Effect.Effect<HttpClientResponse.HttpClientResponse, unknown, unknown> => {
  const through = (t: AdaptiveThrottle) => {
    const { admit, observe } = halvesOf(t)
    return admit(
      Effect.fail,
      observe(send, (exit) => Exit.isSuccess(exit) && isTransientResponse(exit.value) ? false : undefined)
    )
  }
  return throttle === true ? Effect.flatMap(throttleTag, through) : through(throttle)
}

/**
 * @internal `retryTransient` in both forms, dual by hand: the data-last form validates its
 * options now, once. Typed by the public module, whose signature names its option types.
 */
export const retryTransientDual: (...args: Array<any>) => any = function(this: unknown) {
  return isHttpClient(arguments[0])
    ? retryTransient(resolveTransient(arguments[1]))(arguments[0])
    : retryTransient(resolveTransient(arguments[0]))
}
