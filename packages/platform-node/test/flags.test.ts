import { Wait } from "@effect-backoff/core"
import * as CliConfig from "@effect/cli/CliConfig"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Duration, Effect, Either, Random } from "effect"
import { describe, expect, it } from "vitest"
import { stripAnsi } from "../src/internal/cli.js"
import type { ResolvedPolicy } from "../src/internal/flags.js"
import { parseDuration, parseExitCodes, parseStatuses, policy } from "../src/internal/flags.js"

/** Reads the policy flags as the `run` subcommand does: @effect/cli's parser, then the checks. */
const read = (args: ReadonlyArray<string>): Either.Either<ResolvedPolicy, string> =>
  Options.processCommandLine(policy("run"), args, CliConfig.defaultConfig).pipe(
    Effect.map(([, , p]) => p),
    Effect.mapError((e) => stripAnsi(HelpDoc.toAnsiText(e.error)).trim()),
    Effect.either,
    Effect.provide(NodeContext.layer),
    Effect.runSync
  )

const parse = (args: ReadonlyArray<string>): ResolvedPolicy => Either.getOrThrowWith(read(args), (e) => new Error(e))

const refusal = (args: ReadonlyArray<string>): string =>
  Either.match(read(args), { onLeft: (e) => e, onRight: () => "accepted" })

const message = <A>(e: Either.Either<A, { readonly message: string }>) =>
  Either.match(e, { onLeft: (e) => e.message, onRight: () => "accepted" })

const delays = (wait: Wait.Wait, n: number) =>
  Effect.runSync(Wait.delays(wait, n).pipe(Effect.withRandom(Random.make("flags")))).map(Duration.toMillis)

describe("policy flags", () => {
  it("defaults: expo from 1s, full jitter, 5 tries, no time budget", () => {
    const p = parse([])
    expect(delays(p.wait, 4)).toEqual([1000, 2000, 4000, 8000])
    expect(p.jitter).not.toBeNull()
    expect(p.maxTries).toBe(5)
    expect(p.maxTime).toBeUndefined()
    expect(p.summary).toBe("--wait expo --interval 1s --jitter full --max-tries 5")
  })

  it("each strategy uses --interval as its base wait and --max-value as its cap", () => {
    expect(delays(parse(["--wait", "expo", "--interval", "100ms", "--max-value", "300ms"]).wait, 4)).toEqual([
      100,
      200,
      300,
      300
    ])
    expect(delays(parse(["--wait", "fibo", "--interval", "1s", "--max-value", "3s"]).wait, 5)).toEqual([
      1000,
      1000,
      2000,
      3000,
      3000
    ])
    expect(delays(parse(["--wait", "constant", "--interval", "250ms"]).wait, 3)).toEqual([250, 250, 250])
    const decay = delays(parse(["--wait", "decay", "--interval", "10s"]).wait, 2)
    expect(decay[0]).toBe(10_000)
    expect(decay[1]).toBeCloseTo(10_000 * Math.exp(-1), 6)
  })

  it("every Wait constructor is a --wait choice, with the flags it reads", () => {
    expect(delays(parse(["--wait", "expo", "--interval", "1s", "--base", "3"]).wait, 3)).toEqual([1000, 3000, 9000])
    expect(delays(parse(["--wait", "linear", "--interval", "1s", "--step", "2s", "--max-value", "6s"]).wait, 5))
      .toEqual(
        [1000, 3000, 5000, 6000, 6000]
      )
    // linear's step defaults to its initial wait
    expect(delays(parse(["--wait", "linear", "--interval", "500ms"]).wait, 3)).toEqual([500, 1000, 1500])
    const decay = delays(
      parse(["--wait", "decay", "--interval", "10s", "--decay-factor", "0.5", "--min-value", "4s"]).wait,
      4
    )
    expect(decay.map((ms) => Math.round(ms))).toEqual([10_000, 6065, 4000, 4000])
    const decorrelated = parse(["--wait", "decorrelated", "--interval", "1s", "--max-value", "20s"])
    const waits = delays(decorrelated.wait, 20)
    expect(waits[0]).toBe(1000)
    expect(waits.every((ms) => ms >= 1000 && ms <= 20_000)).toBe(true)
    expect(new Set(waits).size).toBeGreaterThan(5)
    // random already: no jitter on top unless asked
    expect(decorrelated.jitter).toBeNull()
    expect(decorrelated.summary).toBe("--wait decorrelated --interval 1s --max-value 20s --jitter none --max-tries 5")
    expect(parse(["--wait", "decorrelated", "--jitter", "full"]).jitter).not.toBeNull()
  })

  it("reads durations with units, unlimited tries and the jitter names", () => {
    const ms = (text: string) => Either.map(parseDuration("--x", text), Duration.toMillis)
    expect(ms("1.5s")).toEqual(Either.right(1500))
    expect(ms("2m")).toEqual(Either.right(120_000))
    expect(ms("2 seconds")).toEqual(Either.right(2000))
    expect(ms("500ms")).toEqual(Either.right(500))
    expect(parse(["--max-tries", "unlimited"]).maxTries).toBe(Infinity)
    expect(Duration.toMillis(parse(["--max-time", "60s"]).maxTime!)).toBe(60_000)
    expect(parse(["--jitter", "none"]).jitter).toBeNull()
    expect(parse(["--jitter", "equal"]).jitter).not.toBe(parse(["--jitter", "full"]).jitter)
  })

  const bad: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
    [["--wait", "sine"], "Expected one of the following cases: expo, fibo, constant, decay, linear, decorrelated"],
    [["--jitter", "half"], "Expected one of the following cases: full, equal, random, none"],
    [["--max-tries", "0"], "effect-backoff run: --max-tries must be an integer >= 1 or \"unlimited\", got \"0\""],
    [["--max-tries", "2.5"], "effect-backoff run: --max-tries must be an integer >= 1 or \"unlimited\", got \"2.5\""],
    [["--max-tries", "-1"], "effect-backoff run: --max-tries must be an integer >= 1 or \"unlimited\", got \"-1\""],
    [
      ["--max-time", "60"],
      "effect-backoff run: --max-time must be a duration with a unit (500ms, 1.5s, 2m, 1h), got \"60\""
    ],
    [
      ["--max-time", "-5s"],
      "effect-backoff run: --max-time must be a duration with a unit (500ms, 1.5s, 2m, 1h), got \"-5s\""
    ],
    [
      ["--interval", "soon"],
      "effect-backoff run: --interval must be a duration with a unit (500ms, 1.5s, 2m, 1h), got \"soon\""
    ],
    [["--interval", "0s"], "effect-backoff run: --interval must be more than zero for --wait expo, got \"0s\""],
    [
      ["--wait", "constant", "--max-value", "30s"],
      "--max-value applies to --wait expo, fibo, linear and decorrelated only, not constant"
    ],
    [
      ["--wait", "decay", "--max-value", "30s"],
      "--max-value applies to --wait expo, fibo, linear and decorrelated only, not decay"
    ],
    [["--max-value", "10ms"], "--max-value must be at least --interval (1s), got \"10ms\""],
    [["--wait", "fibo", "--step", "1s"], "--step applies to --wait linear only, not fibo"],
    [["--wait", "linear", "--base", "3"], "--base applies to --wait expo only, not linear"],
    [["--wait", "expo", "--min-value", "1s"], "--min-value applies to --wait decay only, not expo"],
    [["--wait", "expo", "--decay-factor", "2"], "--decay-factor applies to --wait decay only, not expo"],
    [["--base", "0"], "--base must be a number > 0, got 0"],
    [["--wait", "decay", "--decay-factor", "-1"], "--decay-factor must be a number >= 0, got -1"],
    [
      ["--wait", "decorrelated", "--interval", "2s", "--max-value", "1s"],
      "--max-value must be at least --interval (2s), got \"1s\""
    ]
  ]
  for (const [args, expected] of bad) {
    it(`refuses ${args.join(" ")}`, () => {
      expect(refusal(args)).toContain(expected)
    })
  }

  it("--retry-on-exit and --until-status", () => {
    expect(Either.map(parseExitCodes("1, 75"), (codes) => [...codes])).toEqual(Either.right([1, 75]))
    for (const text of ["", "0", "256", "1,x", "1,,2"]) {
      expect(message(parseExitCodes(text))).toContain("--retry-on-exit")
    }
    const twoXX = Either.getOrThrow(parseStatuses("2xx"))
    expect([200, 204, 299].every(twoXX)).toBe(true)
    expect([199, 301, 404, 503].some(twoXX)).toBe(false)
    const listed = Either.getOrThrow(parseStatuses("200,404"))
    expect([listed(200), listed(404), listed(201)]).toEqual([true, true, false])
    for (const text of ["2yy", "99", "600", "ok"]) expect(message(parseStatuses(text))).toContain("--until-status")
  })
})
