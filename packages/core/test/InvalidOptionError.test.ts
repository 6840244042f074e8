/**
 * An InvalidOptionError's message (and its JSON, its string, its pretty cause) never
 * throws, whatever the value: circular structures, bigints, symbols, throwing getters and
 * toString, Proxies. The value is shown in a bounded, safe form.
 */
import { Backoff, InvalidOptionError, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, FastCheck as fc } from "effect"
import { inspect } from "node:util"

const make = (value: unknown) => new InvalidOptionError({ option: "opt", value, expected: "a thing" })

/** The longest message for option "opt" and expected "a thing": the prefix plus the bounded value. */
const PREFIX = "opt must be a thing, got "
const BOUND = PREFIX.length + 120

/** Every way an error is commonly turned into text; none may throw. */
const renderings = (error: InvalidOptionError): Record<string, string> => ({
  message: error.message,
  string: String(error),
  json: JSON.stringify(error),
  inspect: inspect(error),
  pretty: Cause.pretty(Cause.fail(error)),
  exit: String(Exit.fail(error))
})

const circularArray = (): Array<unknown> => {
  const a: Array<unknown> = []
  a.push(a)
  return a
}

const circularObject = (): Record<string, unknown> => {
  const o: Record<string, unknown> = { name: "o" }
  o.self = o
  return o
}

const hostileProxy = new Proxy({}, {
  get() {
    throw new Error("get trap")
  },
  ownKeys() {
    throw new Error("ownKeys trap")
  },
  getPrototypeOf() {
    throw new Error("getPrototypeOf trap")
  },
  has() {
    throw new Error("has trap")
  }
})

const revoked = (() => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
})()

const throwingToString = {
  toString() {
    throw new Error("toString")
  },
  get broken() {
    throw new Error("getter")
  }
}

const rows: ReadonlyArray<readonly [string, unknown, string]> = [
  ["a circular array", circularArray(), "[[Circular]]"],
  ["a circular object", circularObject(), "{ name: \"o\", self: [Circular] }"],
  ["a bigint", 10n, "10n"],
  ["a bigint inside an object", { n: 10n }, "{ n: 10n }"],
  ["a bigint inside an array", [1n, 2], "[1n, 2]"],
  ["a symbol", Symbol("s"), "Symbol(s)"],
  ["a symbol inside an object", { s: Symbol("t") }, "{ s: Symbol(t) }"],
  [
    "an object whose toString and getter throw",
    throwingToString,
    "{ toString: function toString, broken: [unreadable] }"
  ],
  ["a Proxy whose every trap throws", hostileProxy, "an object"],
  ["a revoked Proxy", revoked, "an object"],
  ["an object with no prototype", Object.create(null), "[Object: null prototype] {}"],
  ["an Error", new Error("boom"), "Error: boom"],
  ["-0", -0, "-0"],
  ["an invalid Date", new Date(NaN), "Invalid Date"],
  ["nested deeply", { a: { b: { c: { d: 1 } } } }, "{ a: { b: {…} } }"],
  [
    "a class instance",
    new (class Point {
      constructor(readonly x: number) {}
    })(1),
    "Point { x: 1 }"
  ]
]

describe("InvalidOptionError messages never throw", () => {
  it.each(rows)("%s", (_, value, shown) => {
    const error = make(value)
    const texts = renderings(error)
    expect(error.message).toBe(`${PREFIX}${shown}`)
    for (const text of Object.values(texts)) expect(typeof text).toBe("string")
    expect(texts.string).toContain(shown)
    expect(texts.pretty).toContain(shown)
    // the value survives in the error itself, untouched
    expect(error.value).toBe(value)
  })

  it("JSON keeps a serializable value as it is and describes one that is not", () => {
    expect(JSON.parse(JSON.stringify(make({ a: [1, "x"] })))).toEqual({
      _tag: "InvalidOptionError",
      option: "opt",
      value: { a: [1, "x"] },
      expected: "a thing"
    })
    expect(JSON.parse(JSON.stringify(make(circularArray()))).value).toBe("[[Circular]]")
    expect(JSON.parse(JSON.stringify(make({ n: 10n }))).value).toBe("{ n: 10n }")
  })

  it("the value is bounded: a huge string, array or object gives a short message", () => {
    const huge = [
      "x".repeat(1_000_000),
      Array.from({ length: 1_000_000 }, (_, i) => i),
      Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`key${i}`, "v".repeat(100)]))
    ]
    for (const value of huge) {
      const { message } = make(value)
      expect(message.length).toBeLessThanOrEqual(BOUND)
      expect(JSON.stringify(make(value)).length).toBeLessThan(1000)
    }
    expect(make(Array.from({ length: 20 }, (_, i) => i)).message).toBe(`${PREFIX}[0, 1, 2, 3, 4, 5, 6, 7, … 12 more]`)
  })

  it("property: any value, wrapped in cycles, gives a bounded message and never throws", () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withTypedArray: true,
          withSparseArray: true,
          withBoxedValues: true
        }),
        fc.boolean(),
        (value, cyclic) => {
          let subject: unknown = value
          if (cyclic) {
            const holder: Array<unknown> = [value]
            holder.push({ back: holder })
            subject = holder
          }
          const error = make(subject)
          const texts = renderings(error)
          expect(texts.message.startsWith(PREFIX)).toBe(true)
          expect(texts.message.length).toBeLessThanOrEqual(BOUND)
          for (const text of Object.values(texts)) expect(typeof text).toBe("string")
        }
      )
    )
  })

  it("through the library: a circular interval list and a bigint inside an option", () => {
    const a = circularArray()
    try {
      Wait.constant({ interval: a as never })
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidOptionError)
      expect((e as InvalidOptionError).option).toBe("constant.interval[0]")
      expect((e as InvalidOptionError).message).toContain("got [[Circular]]")
    }
    try {
      Backoff.onException({ maxTries: { n: 1n } as never })
      expect.unreachable()
    } catch (e) {
      expect((e as InvalidOptionError).message).toBe("maxTries must be an integer >= 1, got { n: 1n }")
    }
  })

  it.effect("through a runtime option: the typed failure's message is safe", () =>
    Effect.gen(function*() {
      const bad = circularObject()
      const exit = yield* Effect.exit(
        Effect.succeed(1).pipe(Backoff.onException({ maxTries: Effect.succeed(bad as never), logger: false }))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const pretty = Cause.pretty(exit.cause)
        expect(pretty).toContain("maxTries must be an integer >= 1, got { name: \"o\", self: [Circular] }")
      }
    }))
})
