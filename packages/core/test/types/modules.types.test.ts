/**
 * Type-level tests of the public API's inference: Wait, Jitter, Timeline, the
 * observability helpers and HttpBackoff. `expectTypeOf` does nothing at run time; the
 * root typecheck (`pnpm typecheck`, which includes packages/*\/test) checks these.
 * (Inference of `onException`, `onPredicate`, `retry`, `repeat` and the policy combinators lives in Backoff.types.test.ts; every type test of the package is in this folder.)
 */
import type { InvalidOptionError } from "@effect-backoff/core"
import { Backoff, Jitter, Timeline, Wait } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import * as WaitModule from "@effect-backoff/core/Wait"
import type { HttpClient, HttpClientError } from "@effect/platform"
import { describe, expectTypeOf, it } from "@effect/vitest"
import type { ConfigError, Exit, Metric, Option } from "effect"
import { Config, Context, Data, Duration, Effect, Schedule } from "effect"

/** Holds code that only has to compile (or fail to): it is never run. */
const compileOnly = (_code: () => unknown): void => {}

class HttpError extends Data.TaggedError("HttpError")<{ readonly status: number }> {}
class Clock2 extends Context.Tag("Clock2")<Clock2, { readonly now: number }>() {}
class Audit extends Context.Tag("Audit")<Audit, { readonly record: (s: string) => Effect.Effect<void> }>() {}

describe("Wait", () => {
  it("every strategy is a Schedule<Duration, unknown>", () => {
    expectTypeOf(Wait.expo()).toEqualTypeOf<Schedule.Schedule<Duration.Duration, unknown>>()
    expectTypeOf(Wait.expo({ base: 3, factor: "1 second", maxValue: 60_000 })).toEqualTypeOf<Wait.Wait>()
    expectTypeOf(Wait.fibo()).toEqualTypeOf<Wait.Wait<unknown>>()
    expectTypeOf(Wait.constant({ interval: ["1 second", 2000] })).toEqualTypeOf<Wait.Wait>()
    expectTypeOf(Wait.decay()).toEqualTypeOf<Wait.Wait>()
    expectTypeOf(Wait.linear()).toEqualTypeOf<Wait.Wait>()
    expectTypeOf(Wait.decorrelated()).toEqualTypeOf<Wait.Wait>()
    expectTypeOf<Wait.Wait<string>>().toEqualTypeOf<Schedule.Schedule<Duration.Duration, string, never>>()
  })

  it("a strategy can be used on its own with Effect.retry", () => {
    const retried = Effect.retry(Effect.fail(new HttpError({ status: 503 })), Wait.expo())
    expectTypeOf(retried).toEqualTypeOf<Effect.Effect<never, HttpError>>()
  })

  it("Wait.runtime takes its input type from the function", () => {
    const fromError = Wait.runtime((e: HttpError) => e.status === 429 ? "1 minute" : 500)
    expectTypeOf(fromError).toEqualTypeOf<Schedule.Schedule<Duration.Duration, HttpError>>()
    // the input is contravariant: a Wait<unknown> is usable where a Wait<HttpError> is expected
    expectTypeOf(Wait.expo()).toMatchTypeOf<Wait.Wait<HttpError>>()
    expectTypeOf(fromError).not.toMatchTypeOf<Wait.Wait<string>>()
    compileOnly(() => {
      // @ts-expect-error the function must return a DurationInput
      Wait.runtime((_: number) => true)
    })
  })

  it("Wait.delays keeps the schedule's input and requirements", () => {
    expectTypeOf(Wait.delays(Wait.expo(), 3)).toEqualTypeOf<Effect.Effect<ReadonlyArray<Duration.Duration>>>()
    const needsClock = Schedule.spaced("1 second").pipe(Schedule.tapOutput(() => Clock2))
    expectTypeOf(Wait.delays(needsClock, 3)).toEqualTypeOf<
      Effect.Effect<ReadonlyArray<Duration.Duration>, never, Clock2>
    >()
    Wait.delays(Wait.runtime((e: HttpError) => e.status), 2, [new HttpError({ status: 1 })])
    compileOnly(() => {
      // @ts-expect-error inputs must match the strategy's input type
      Wait.delays(Wait.runtime((e: HttpError) => e.status), 2, ["nope"])
    })
  })

  it("the subpath module is the same module", () => {
    expectTypeOf(WaitModule.expo).toEqualTypeOf(Wait.expo)
    expectTypeOf<WaitModule.Wait<number>>().toEqualTypeOf<Wait.Wait<number>>()
  })

  it("options reject wrong types", () => {
    compileOnly(() => {
      // @ts-expect-error base is a number
      Wait.expo({ base: "2" })
    })
    compileOnly(() => {
      // @ts-expect-error unknown option
      Wait.fibo({ max: "1 second" })
    })
  })
})

describe("Jitter", () => {
  it("a jitter maps a Duration to a DurationInput or an Effect of one; the built-ins return Effects", () => {
    type Builtin = (wait: Duration.Duration) => Effect.Effect<Duration.Duration>
    expectTypeOf(Jitter.full).toEqualTypeOf<Builtin>()
    expectTypeOf(Jitter.random).toEqualTypeOf<Builtin>()
    expectTypeOf(Jitter.equal).toEqualTypeOf<Builtin>()
    expectTypeOf(Jitter.none).toEqualTypeOf<Builtin>()
    expectTypeOf(Jitter.full).toMatchTypeOf<Jitter.Jitter>()
    expectTypeOf<Jitter.Jitter>().toEqualTypeOf<
      (wait: Duration.Duration) => Duration.DurationInput | Effect.Effect<Duration.DurationInput>
    >()
    // a custom jitter needs no annotation beyond the type: an Effect, a Duration or a DurationInput
    const half: Jitter.Jitter = (wait) => Effect.succeed(Duration.times(wait, 0.5))
    const plus: Jitter.Jitter = (wait) => Duration.sum(wait, "250 millis")
    const millis: Jitter.Jitter = (wait) => Duration.toMillis(wait) / 2
    expectTypeOf(half).toEqualTypeOf<Jitter.Jitter>()
    void [plus, millis]
  })

  it("Jitter.apply outputs Durations and keeps the schedule's input and requirements (both forms)", () => {
    const recurs = Schedule.recurs(3) // Schedule<number, unknown>
    expectTypeOf(Jitter.apply(recurs, Jitter.full)).toEqualTypeOf<Schedule.Schedule<Duration.Duration, unknown>>()
    expectTypeOf(recurs.pipe(Jitter.apply(Jitter.equal))).toEqualTypeOf<
      Schedule.Schedule<Duration.Duration, unknown>
    >()
    const typedInput = Wait.runtime((e: HttpError) => e.status)
    expectTypeOf(Jitter.apply(typedInput, Jitter.none)).toEqualTypeOf<Schedule.Schedule<Duration.Duration, HttpError>>()
    const needsClock = Schedule.spaced("1 second").pipe(Schedule.tapInput((_: string) => Clock2))
    expectTypeOf(needsClock.pipe(Jitter.apply(Jitter.full))).toEqualTypeOf<
      Schedule.Schedule<Duration.Duration, string, Clock2>
    >()
    // the jittered schedule works with Effect.retry on a matching error type
    const retried = Effect.retry(Effect.fail(new HttpError({ status: 503 })), Jitter.apply(typedInput, Jitter.full))
    expectTypeOf(retried).toEqualTypeOf<Effect.Effect<never, HttpError>>()
  })

  it("Jitter.apply rejects a non-jitter", () => {
    compileOnly(() => {
      // @ts-expect-error a jitter returns a duration (or an Effect of one)
      Jitter.apply(Wait.expo(), (d: Duration.Duration) => d.toString() === "" ? true : false)
      // @ts-expect-error Jitter.apply takes a Schedule
      Jitter.apply("expo", Jitter.full)
    })
  })
})

describe("Timeline", () => {
  it("outcomes carry their value and error types", () => {
    expectTypeOf(Timeline.fail(new HttpError({ status: 503 }))).toEqualTypeOf<Timeline.Outcome<never, HttpError>>()
    expectTypeOf(Timeline.succeed("ok", "20 millis")).toEqualTypeOf<Timeline.Outcome<string, never>>()
  })

  it("Timeline.run infers A and E from the outcomes and needs nothing", () => {
    const run = Timeline.run({ maxTries: 3 }, [Timeline.fail(new HttpError({ status: 503 })), Timeline.succeed(42)])
    expectTypeOf(run).toEqualTypeOf<Effect.Effect<Timeline.Result<number, HttpError>>>()
    type R = Effect.Effect.Success<typeof run>
    expectTypeOf<R["result"]>().toEqualTypeOf<Exit.Exit<number, HttpError>>()
    expectTypeOf<R["events"]>().toEqualTypeOf<ReadonlyArray<Timeline.Event>>()
    expectTypeOf<R["total"]>().toEqualTypeOf<Duration.Duration>()
    expectTypeOf<R["calls"]>().toEqualTypeOf<number>()
    expectTypeOf<R["cutOff"]>().toEqualTypeOf<boolean>()
    expectTypeOf<Timeline.Event["_tag"]>().toEqualTypeOf<"Call" | "Rejected" | "Backoff" | "Success" | "Giveup">()
    expectTypeOf<Timeline.Event["wait"]>().toEqualTypeOf<Duration.Duration | undefined>()
  })

  it("Timeline.run adds the errors and services of runtime options and handlers", () => {
    const run = Timeline.run(
      {
        maxTries: Config.integer("MAX_TRIES"),
        maxTime: Effect.succeed("1 minute") as Effect.Effect<Duration.DurationInput, "NoBudget">,
        onBackoff: (d) => Effect.flatMap(Audit, (audit) => audit.record(`backoff ${d.tries}`))
      },
      [Timeline.fail("down" as const)]
    )
    expectTypeOf(run).toEqualTypeOf<
      Effect.Effect<
        Timeline.Result<never, "down" | ConfigError.ConfigError | "NoBudget" | InvalidOptionError>,
        never,
        Audit
      >
    >()
  })

  it("Timeline.run's handlers see the outcome's error type", () => {
    Timeline.run({
      giveup: (e) => {
        expectTypeOf(e).toEqualTypeOf<HttpError>()
        return e.status === 404
      },
      onGiveup: (d) => {
        expectTypeOf(d.exception).toEqualTypeOf<HttpError>()
      }
    }, [Timeline.fail(new HttpError({ status: 404 }))])
  })

  it("Timeline.runPredicate takes plain values or outcomes and never fails with them", () => {
    const run = Timeline.runPredicate({ predicate: (xs) => xs.length === 0 }, [[], [], ["message"]] as Array<
      ReadonlyArray<string>
    >)
    expectTypeOf(run).toEqualTypeOf<Effect.Effect<Timeline.Result<ReadonlyArray<string>, never>>>()
    const mixed = Timeline.runPredicate({ predicate: (n: number) => n < 3 }, [1, Timeline.succeed(2, "1 second"), 3])
    expectTypeOf(mixed).toEqualTypeOf<Effect.Effect<Timeline.Result<number, never>>>()
    const withConfig = Timeline.runPredicate({ maxTries: Config.integer("N") }, [0])
    expectTypeOf(withConfig).toEqualTypeOf<
      Effect.Effect<Timeline.Result<number, ConfigError.ConfigError | InvalidOptionError>>
    >()
  })

  it("settings are typed", () => {
    Timeline.run({}, [Timeline.succeed(1)], { seed: 42, maxCalls: 100 })
    compileOnly(() => {
      // @ts-expect-error maxCalls is a number
      Timeline.run({}, [Timeline.succeed(1)], { maxCalls: "100" })
    })
  })
})

describe("Backoff.withMetrics / withTracing", () => {
  it("return exactly the options they were given (literal types kept)", () => {
    const options = Backoff.withMetrics({ maxTries: 3, raiseOnGiveup: false, target: "getUrl" })
    expectTypeOf(options).toEqualTypeOf<
      { readonly maxTries: 3; readonly raiseOnGiveup: false; readonly target: "getUrl" }
    >()
    const traced = Backoff.withTracing({ wait: Wait.fibo(), span: "poll" })
    expectTypeOf(traced).toEqualTypeOf<{ readonly wait: Wait.Wait; readonly span: "poll" }>()
    const both = Backoff.withTracing(Backoff.withMetrics({ maxTries: Config.integer("N") }))
    expectTypeOf(both).toEqualTypeOf<{ readonly maxTries: Config.Config<number> }>()
  })

  it("so onException infers the same result through them", () => {
    const effect = Effect.fail(new HttpError({ status: 503 })).pipe(Effect.as("body"))
    const plain = effect.pipe(Backoff.onException({ raiseOnGiveup: false, maxTries: Config.integer("N") }))
    const observed = effect.pipe(
      Backoff.onException(
        Backoff.withTracing(Backoff.withMetrics({ raiseOnGiveup: false, maxTries: Config.integer("N") }))
      )
    )
    expectTypeOf(observed).toEqualTypeOf(plain)
    expectTypeOf(observed).toEqualTypeOf<
      Effect.Effect<Option.Option<string>, HttpError | ConfigError.ConfigError | InvalidOptionError>
    >()
  })

  it("and onPredicate, with handlers that need services", () => {
    const poll = (id: string) => Effect.succeed({ id, done: false })
    const observed = Backoff.onPredicate(
      poll,
      Backoff.withMetrics({
        // withMetrics is called before onPredicate sees the options, so the predicate's
        // parameter gets no contextual type from `poll`: annotate it
        predicate: (job: { readonly done: boolean }) => !job.done,
        onSuccess: (d) => Effect.flatMap(Audit, (audit) => audit.record(`done after ${d.tries}`))
      })
    )
    expectTypeOf(observed).toEqualTypeOf<(id: string) => Effect.Effect<{ id: string; done: boolean }, never, Audit>>()
  })

  it("handlers inside withMetrics still see typed details", () => {
    Effect.fail(new HttpError({ status: 503 })).pipe(
      Backoff.onException(Backoff.withMetrics({
        exception: HttpError,
        onGiveup: (d) => {
          expectTypeOf(d.tries).toEqualTypeOf<number>()
          expectTypeOf(d.elapsed).toEqualTypeOf<Duration.Duration>()
        }
      }))
    )
  })

  it("reject a non-options argument and the span option's wrong types", () => {
    compileOnly(() => {
      // @ts-expect-error options are an object
      Backoff.withMetrics(3)
    })
    compileOnly(() => {
      // @ts-expect-error span is a boolean or a name
      Backoff.withTracing({ span: 1 })
    })
  })

  it("Backoff.metrics are Effect metrics", () => {
    expectTypeOf(Backoff.metrics.retries).toEqualTypeOf<Metric.Metric.Counter<number>>()
    expectTypeOf(Backoff.metrics.giveups).toEqualTypeOf<Metric.Metric.Counter<number>>()
    expectTypeOf(Backoff.metrics.successesAfterRetry).toEqualTypeOf<Metric.Metric.Counter<number>>()
    expectTypeOf(Backoff.metrics.waits).toEqualTypeOf<Metric.Metric.Histogram<number>>()
    expectTypeOf(Backoff.metrics.attempts).toEqualTypeOf<Metric.Metric.Histogram<number>>()
  })
})

describe("options typed with the wide option types", () => {
  it("add no services (not `any`), so the result still runs", () => {
    const options: Backoff.ExceptionOptions = { maxTries: 3 }
    const retried = Effect.fail("down").pipe(Backoff.onException(options))
    expectTypeOf(retried).toEqualTypeOf<Effect.Effect<never, string>>()
    expectTypeOf<Backoff.OptionsContext<Backoff.ExceptionOptions>>().toEqualTypeOf<never>()
    expectTypeOf<Backoff.OptionsContext<Backoff.PredicateOptions<number>>>().toEqualTypeOf<never>()
    expectTypeOf<Backoff.OptionsContext<HttpBackoff.Options>>().toEqualTypeOf<never>()
  })
})

describe("HttpBackoff", () => {
  it("what retryTransient(options) returns is no argument to Effect.retry", () => {
    compileOnly(() => {
      // @ts-expect-error client middleware is neither a Schedule nor Effect.retry's options
      Effect.retry(Effect.fail(new HttpError({ status: 503 })), HttpBackoff.retryTransient({ maxTries: 3 }))
    })
  })

  it("retryTransient is client-to-client middleware, in both forms", () => {
    const middleware = HttpBackoff.retryTransient({ maxTries: 3 })
    const apply = (client: HttpClient.HttpClient) => client.pipe(middleware)
    expectTypeOf(apply).returns.toEqualTypeOf<HttpClient.HttpClient.With<HttpClientError.HttpClientError>>()
    const dataFirst = (client: HttpClient.HttpClient) => HttpBackoff.retryTransient(client, { maxTries: 3 })
    expectTypeOf(dataFirst).returns.toEqualTypeOf<HttpClient.HttpClient.With<HttpClientError.HttpClientError>>()
  })

  it("options declared as HttpBackoff.Options keep the client a plain HttpClient", () => {
    const options: HttpBackoff.Options = { maxTries: 3, wait: Wait.expo({ factor: "100 millis" }) }
    const apply = (client: HttpClient.HttpClient): HttpClient.HttpClient =>
      client.pipe(HttpBackoff.retryTransient(options))
    expectTypeOf(apply).returns.toEqualTypeOf<HttpClient.HttpClient>()
  })

  it("runtime options and handlers add their errors and services to the client", () => {
    const apply = (client: HttpClient.HttpClient) =>
      client.pipe(HttpBackoff.retryTransient({
        maxTries: Config.integer("HTTP_MAX_TRIES"),
        onBackoff: (d) => Effect.flatMap(Audit, (audit) => audit.record(`${d.request.method} ${d.status ?? "error"}`))
      }))
    expectTypeOf(apply).returns.toEqualTypeOf<
      HttpClient.HttpClient.With<HttpClientError.HttpClientError | ConfigError.ConfigError | InvalidOptionError, Audit>
    >()
  })

  it("details are typed", () => {
    HttpBackoff.retryTransient({
      onSuccess: (d) => {
        expectTypeOf(d.status).toEqualTypeOf<number>()
        expectTypeOf(d.request).toEqualTypeOf<HttpBackoff.RequestInfo>()
      },
      onGiveup: (d) => {
        expectTypeOf(d.status).toEqualTypeOf<number | undefined>()
        expectTypeOf(d.exception).toEqualTypeOf<HttpBackoff.RetriedError | undefined>()
      },
      giveup: (outcome) => {
        expectTypeOf(outcome).toEqualTypeOf<HttpBackoff.Retryable>()
        return false
      }
    })
  })

  it("retryAfter and waitRetryAfter", () => {
    expectTypeOf(HttpBackoff.retryAfter({ headers: {} })).toEqualTypeOf<Option.Option<Duration.Duration>>()
    expectTypeOf(HttpBackoff.waitRetryAfter(Wait.expo())).toEqualTypeOf<Schedule.Schedule<Duration.Duration, unknown>>()
  })
})
