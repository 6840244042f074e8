/**
 * Type-level tests: checked by `tsc` (the workspace typecheck); at run time they only
 * make sure the expressions build.
 */
import { Backoff, Jitter, Timeline, Wait } from "@effect-backoff/core"
import type { InvalidOptionError } from "@effect-backoff/core"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Config, Context, Effect, pipe } from "effect"
import type { ConfigError, Duration, Option, Schedule } from "effect"
import { HttpError, OtherError } from "../helpers.js"

class Db extends Context.Tag("Db")<Db, { readonly query: (q: string) => Effect.Effect<ReadonlyArray<string>> }>() {}
class Metrics extends Context.Tag("Metrics")<Metrics, { readonly inc: (name: string) => void }>() {}
class Settings extends Context.Tag("Settings")<Settings, { readonly tries: number }>() {}

// real values (never run): the tests only build Effects, so they also run under vitest
const getUrl = (url: string, timeout: number): Effect.Effect<string, HttpError, Db> =>
  Effect.flatMap(Db, (db) => Effect.as(db.query(`${url} ${timeout}`), url))
const effect: Effect.Effect<number, HttpError | OtherError, Db> = Effect.as(Db, 1)
const readQueue: Effect.Effect<ReadonlyArray<string>, OtherError, Db> = Effect.flatMap(Db, (db) => db.query("q"))

describe("onException types", () => {
  it("data-first on an Effect keeps A, E and R", () => {
    const retried = Backoff.onException(effect, { maxTries: 3 })
    expectTypeOf(retried).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError, Db>>()
  })

  it("data-last through pipe keeps A, E and R", () => {
    const retried = effect.pipe(Backoff.onException({ maxTries: 3, wait: Wait.expo() }))
    expectTypeOf(retried).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError, Db>>()
    const viaPipe = pipe(effect, Backoff.onException({ maxTime: "10 seconds" }))
    expectTypeOf(viaPipe).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError, Db>>()
  })

  it("no options at all", () => {
    expectTypeOf(effect.pipe(Backoff.onException())).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError, Db>>()
  })

  it("raiseOnGiveup: false gives Option<A>", () => {
    const optional = effect.pipe(Backoff.onException({ raiseOnGiveup: false }))
    expectTypeOf(optional).toEqualTypeOf<Effect.Effect<Option.Option<number>, HttpError | OtherError, Db>>()
    const dataFirst = Backoff.onException(effect, { raiseOnGiveup: false, maxTries: 2 })
    expectTypeOf(dataFirst).toEqualTypeOf<Effect.Effect<Option.Option<number>, HttpError | OtherError, Db>>()
    const raising = Backoff.onException(effect, { raiseOnGiveup: true })
    expectTypeOf(raising).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError, Db>>()
    const fn = Backoff.onException(getUrl, { raiseOnGiveup: false })
    expectTypeOf(fn).returns.toEqualTypeOf<Effect.Effect<Option.Option<string>, HttpError, Db>>()
  })

  it("the function form keeps the parameters and infers the result", () => {
    const retried = Backoff.onException(getUrl, { maxTries: 3 })
    expectTypeOf(retried).parameters.toEqualTypeOf<[url: string, timeout: number]>()
    expectTypeOf(retried).returns.toEqualTypeOf<Effect.Effect<string, HttpError, Db>>()
    // the data-last form is typed from the Effect it is piped into (so its callbacks are
    // typed); a function takes the data-first form, python's decorator
    // @ts-expect-error the data-last form applies to Effects
    Backoff.onException({ maxTries: 3 })(getUrl)
  })

  it("Promise-returning and plain-value functions give unknown errors", () => {
    const fetchJson = async (url: string): Promise<{ readonly id: number }> => ({ id: url.length })
    const retried = Backoff.onException(fetchJson, { maxTries: 3 })
    expectTypeOf(retried).parameters.toEqualTypeOf<[url: string]>()
    expectTypeOf(retried).returns.toEqualTypeOf<Effect.Effect<{ readonly id: number }, unknown, never>>()
    const parse = (s: string, radix: number) => Number.parseInt(s, radix)
    const parsed = Backoff.onException(parse, {})
    expectTypeOf(parsed).parameters.toEqualTypeOf<[s: string, radix: number]>()
    expectTypeOf(parsed).returns.toEqualTypeOf<Effect.Effect<number, unknown, never>>()
  })

  it("handlers and predicates see the typed error (data-first)", () => {
    Backoff.onException(effect, {
      exception: (e) => {
        expectTypeOf(e).toEqualTypeOf<HttpError | OtherError>()
        return e._tag === "HttpError"
      },
      giveup: (e) => {
        expectTypeOf(e).toEqualTypeOf<HttpError | OtherError>()
        return false
      },
      onBackoff: (d) => {
        // (the details type carries NoInfer<E>, which toEqualTypeOf cannot see through)
        expectTypeOf(d.exception).not.toBeAny()
        expectTypeOf(d.exception).toMatchTypeOf<HttpError | OtherError>()
        expectTypeOf<HttpError | OtherError>().toMatchTypeOf(d.exception)
        expectTypeOf(d.wait).toEqualTypeOf<Duration.Duration>()
        expectTypeOf(d.elapsed).toEqualTypeOf<Duration.Duration>()
        expectTypeOf(d.tries).toEqualTypeOf<number>()
        expectTypeOf(d.target).toEqualTypeOf<string>()
        expectTypeOf(d.args).toEqualTypeOf<ReadonlyArray<unknown>>()
      },
      onGiveup: (d) => {
        expectTypeOf(d.exception).not.toBeAny()
        expectTypeOf(d.exception).toMatchTypeOf<HttpError | OtherError>()
        expectTypeOf<HttpError | OtherError>().toMatchTypeOf(d.exception)
      }
    })
  })

  it("an Effect handler's requirement joins R", () => {
    const retried = Backoff.onException(effect, {
      onBackoff: (d) => Effect.flatMap(Metrics, (m) => Effect.sync(() => m.inc(d.target)))
    })
    expectTypeOf(retried).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError, Db | Metrics>>()
    const piped = effect.pipe(Backoff.onException({
      onGiveup: [() => {}, () => Effect.flatMap(Metrics, () => Effect.void)]
    }))
    expectTypeOf(piped).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError, Db | Metrics>>()
    const giveupEffect = effect.pipe(Backoff.onException({
      giveup: () => Effect.map(Settings, (s) => s.tries > 3)
    }))
    expectTypeOf(giveupEffect).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError, Db | Settings>>()
  })

  it("a Config maxTries adds ConfigError | InvalidOptionError to the error channel", () => {
    const retried = effect.pipe(Backoff.onException({ maxTries: Config.integer("MAX_TRIES") }))
    expectTypeOf(retried).toEqualTypeOf<
      Effect.Effect<number, HttpError | OtherError | ConfigError.ConfigError | InvalidOptionError, Db>
    >()
    const maxTime = Backoff.onException(effect, { maxTime: Config.duration("MAX_TIME") })
    expectTypeOf(maxTime).toEqualTypeOf<
      Effect.Effect<number, HttpError | OtherError | ConfigError.ConfigError | InvalidOptionError, Db>
    >()
  })

  it("an Effect maxTries adds its error, InvalidOptionError and its requirement", () => {
    const tries = Effect.map(Settings, (s) => s.tries)
    const retried = effect.pipe(Backoff.onException({ maxTries: tries }))
    expectTypeOf(retried).toEqualTypeOf<
      Effect.Effect<number, HttpError | OtherError | InvalidOptionError, Db | Settings>
    >()
    const wait = Effect.succeed(Wait.constant())
    const withWait = Backoff.onException(effect, { wait })
    expectTypeOf(withWait).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError | InvalidOptionError, Db>>()
  })

  it("static options add nothing to the error channel", () => {
    const retried = Backoff.onException(effect, { maxTries: 5, maxTime: "1 minute", wait: Wait.fibo(), jitter: null })
    expectTypeOf(retried).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError, Db>>()
  })
})

describe("onPredicate types", () => {
  it("data-first keeps A, E and R; the predicate sees A", () => {
    const polled = Backoff.onPredicate(readQueue, {
      predicate: (xs) => {
        expectTypeOf(xs).toEqualTypeOf<ReadonlyArray<string>>()
        return xs.length === 0
      },
      onSuccess: (d) => {
        expectTypeOf(d.value).toEqualTypeOf<ReadonlyArray<string>>()
      }
    })
    expectTypeOf(polled).toEqualTypeOf<Effect.Effect<ReadonlyArray<string>, OtherError, Db>>()
  })

  it("data-last through pipe", () => {
    const polled = readQueue.pipe(
      Backoff.onPredicate({ predicate: (xs: ReadonlyArray<string>) => xs.length === 0, maxTries: 5 })
    )
    expectTypeOf(polled).toEqualTypeOf<Effect.Effect<ReadonlyArray<string>, OtherError, Db>>()
  })

  it("function form keeps parameters; Promise values are unwrapped", () => {
    const poll = Backoff.onPredicate((id: number, name: string) => Effect.succeed(id > 0 ? name : ""), {})
    expectTypeOf(poll).parameters.toEqualTypeOf<[id: number, name: string]>()
    expectTypeOf(poll).returns.toEqualTypeOf<Effect.Effect<string, never, never>>()
    const pollAsync = Backoff.onPredicate(async (id: number) => id > 0, {})
    expectTypeOf(pollAsync).parameters.toEqualTypeOf<[id: number]>()
    expectTypeOf(pollAsync).returns.toEqualTypeOf<Effect.Effect<boolean, unknown, never>>()
  })

  it("an Effect predicate's requirement and a Config option join the channels", () => {
    const polled = Backoff.onPredicate(readQueue, {
      predicate: (xs) => Effect.map(Settings, (s) => xs.length < s.tries),
      maxTries: Config.integer("TRIES")
    })
    expectTypeOf(polled).toEqualTypeOf<
      Effect.Effect<ReadonlyArray<string>, OtherError | ConfigError.ConfigError | InvalidOptionError, Db | Settings>
    >()
  })
})

describe("Timeline types", () => {
  it("run and runPredicate results", () => {
    const r = Timeline.run({ maxTries: 3 }, [Timeline.fail(new HttpError({ message: "x" })), Timeline.succeed(1)])
    expectTypeOf(r).toEqualTypeOf<Effect.Effect<Timeline.Result<number, HttpError>, never, never>>()
    const p = Timeline.runPredicate({ predicate: (n: number) => n < 3 }, [1, 2, 3])
    expectTypeOf(p).toEqualTypeOf<Effect.Effect<Timeline.Result<number, never>, never, never>>()
  })
})

describe("invalid uses do not compile", () => {
  it("wrong handler and filter types", () => {
    // (each also throws InvalidOptionError at run time)
    // @ts-expect-error maxTries is a number
    expect(() => Backoff.onException({ maxTries: "3" })).toThrow("maxTries")
    // @ts-expect-error a handler is a function
    expect(() => Backoff.onException({ onBackoff: 42 })).toThrow("onBackoff")
    // @ts-expect-error raiseOnGiveup is a boolean
    expect(() => Backoff.onException({ raiseOnGiveup: "no" })).toThrow("raiseOnGiveup")
    // @ts-expect-error onPredicate takes no exception filter
    expect(() => Backoff.onPredicate({ exception: "HttpError" })).toThrow("exception")
    Backoff.onException(effect, {
      // @ts-expect-error the giveup predicate receives the typed error: no such field
      giveup: (e) => e.nope === 1
    })
  })
})

/** Holds code that only has to compile (or fail to): it is never run. */
const compileOnly = (_code: () => unknown): void => {}

describe("the pipe form is typed from the effect", () => {
  it("callbacks and details see the effect's error and value, never any", () => {
    effect.pipe(Backoff.onException({
      giveup: (e) => {
        expectTypeOf(e).toEqualTypeOf<HttpError | OtherError>()
        return false
      },
      onBackoff: (d) => {
        expectTypeOf(d.exception).not.toBeAny()
        expectTypeOf(d.exception).toEqualTypeOf<HttpError | OtherError>()
      },
      onGiveup: (d) => {
        expectTypeOf(d.reason).toEqualTypeOf<Backoff.GiveupReason>()
      }
    }))
    readQueue.pipe(Backoff.onPredicate({
      predicate: (xs) => {
        expectTypeOf(xs).toEqualTypeOf<ReadonlyArray<string>>()
        return xs.length === 0
      },
      onSuccess: (d) => {
        expectTypeOf(d.value).toEqualTypeOf<ReadonlyArray<string>>()
      }
    }))
    compileOnly(() => {
      // @ts-expect-error the error has no field `statsu`: a typo is caught, as in Effect.retry({ while })
      effect.pipe(Backoff.onException({ giveup: (e) => e.statsu > 400 }))
      // @ts-expect-error an unknown option is a compile error (NoExcessProperties)
      effect.pipe(Backoff.onException({ maxTrys: 3 }))
      // @ts-expect-error an unknown option is a compile error (NoExcessProperties)
      readQueue.pipe(Backoff.onPredicate({ max_tries: 3 }))
    })
  })

  it("the exception filter narrows what giveup and the handlers see", () => {
    effect.pipe(Backoff.onException({
      exception: HttpError,
      giveup: (e) => {
        expectTypeOf(e).toEqualTypeOf<HttpError>()
        return e.message === ""
      },
      onGiveup: (d) => {
        expectTypeOf(d.exception).toEqualTypeOf<HttpError>()
      }
    }))
    effect.pipe(Backoff.onException({
      exception: "OtherError",
      giveup: (e) => {
        expectTypeOf(e).toEqualTypeOf<OtherError>()
        return e.code > 1
      }
    }))
    Backoff.onException(effect, {
      exception: ["HttpError", OtherError],
      giveup: (e) => {
        // (data-first: the type carries NoInfer<E>, which toEqualTypeOf cannot see through)
        expectTypeOf(e).not.toBeAny()
        expectTypeOf(e).toMatchTypeOf<HttpError | OtherError>()
        expectTypeOf<HttpError | OtherError>().toMatchTypeOf(e)
        return false
      }
    })
    compileOnly(() => {
      // @ts-expect-error a misspelt tag matches no member of the error type
      effect.pipe(Backoff.onException({ exception: "HttpErorr" }))
      class Unrelated extends Error {
        readonly unrelated = true
      }
      // @ts-expect-error a class outside the error type matches nothing
      effect.pipe(Backoff.onException({ exception: Unrelated }))
    })
  })

  it("raiseOnGiveup: a boolean not known at compile time gives A | Option<A>", () => {
    const flag = Math.random() > 0.5
    const either = effect.pipe(Backoff.onException({ raiseOnGiveup: flag }))
    expectTypeOf(either).toEqualTypeOf<Effect.Effect<number | Option.Option<number>, HttpError | OtherError, Db>>()
  })

  it("an applier created apart from an effect applies to any Effect and keeps its types", () => {
    const policy = Backoff.onException({ maxTries: 3 })
    expectTypeOf(policy(effect)).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError, Db>>()
    expectTypeOf(policy(readQueue)).toEqualTypeOf<Effect.Effect<ReadonlyArray<string>, OtherError, Db>>()
  })

  it("what onException(options) returns is no argument to Effect.retry: a compile error, not a storm", () => {
    compileOnly(() => {
      // @ts-expect-error an applier is neither a Schedule nor Effect.retry's options
      Effect.retry(effect, Backoff.onException({ maxTries: 3 }))
      // @ts-expect-error the same for onPredicate
      Effect.repeat(readQueue, Backoff.onPredicate({ maxTries: 3 }))
      // @ts-expect-error and for Backoff.retry / repeat
      Effect.retry(effect, Backoff.retry({ times: 3 }))
      // @ts-expect-error and for Backoff.retry / repeat
      Effect.repeat(readQueue, Backoff.repeat({ times: 3 }))
    })
    // the policy itself is a Schedule, and works there
    const retried = Effect.retry(effect, Backoff.schedule({ maxTries: 3 }))
    expectTypeOf(retried).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError, Db>>()
  })
})

describe("policy combinators and Backoff.retry / repeat types", () => {
  it("maxTries, maxTime, tapBackoff keep the schedule's input and join the handler's services", () => {
    const typed = Wait.runtime((e: HttpError) => e.message.length)
    expectTypeOf(typed.pipe(Backoff.maxTries(3))).toEqualTypeOf<Schedule.Schedule<Duration.Duration, HttpError>>()
    expectTypeOf(Backoff.maxTime(typed, "1 minute")).toEqualTypeOf<Schedule.Schedule<Duration.Duration, HttpError>>()
    const tapped = Wait.expo().pipe(
      Backoff.tapBackoff((d) => Effect.flatMap(Metrics, (m) => Effect.sync(() => m.inc(d.target))))
    )
    expectTypeOf(tapped).toEqualTypeOf<Schedule.Schedule<Duration.Duration, unknown, Metrics>>()
    const policy = Wait.expo().pipe(Jitter.apply(Jitter.full), Backoff.maxTries(5), Backoff.maxTime("2 minutes"))
    expectTypeOf(Effect.retry(effect, policy)).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError, Db>>()
  })

  it("Backoff.retry and repeat: Effect.retry's shape, typed callbacks, services joined", () => {
    const retried = effect.pipe(Backoff.retry({
      schedule: Wait.expo().pipe(Backoff.maxTries(3)),
      while: (e) => {
        expectTypeOf(e).toEqualTypeOf<HttpError | OtherError>()
        return e._tag === "HttpError"
      },
      onBackoff: () => Effect.flatMap(Metrics, () => Effect.void)
    }))
    expectTypeOf(retried).toEqualTypeOf<Effect.Effect<number, HttpError | OtherError, Db | Metrics>>()
    const repeated = Backoff.repeat(readQueue, { schedule: Wait.constant(), until: (xs) => xs.length > 0 })
    expectTypeOf(repeated).toEqualTypeOf<Effect.Effect<ReadonlyArray<string>, OtherError, Db>>()
    compileOnly(() => {
      // @ts-expect-error an unknown option is a compile error
      effect.pipe(Backoff.retry({ schedule: Wait.expo(), maxTries: 3 }))
    })
  })
})
