import { Wait } from "@effect-backoff/core"
import { Duration, Effect } from "effect"
import { describe, expect, it } from "vitest"
import { parseDuration, parseExitCodes, parsePolicy, parseStatuses, UsageError } from "../src/internal/flags.js"

const usage = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    if (e instanceof UsageError) return e.message
    throw e
  }
  throw new Error("no UsageError")
}

const delays = (wait: Wait.Wait, n: number) => Effect.runSync(Wait.delays(wait, n)).map(Duration.toMillis)

describe("policy flags", () => {
  it("defaults: expo from 1s, full jitter, 5 tries, no time budget", () => {
    const p = parsePolicy({})
    expect(delays(p.wait, 4)).toEqual([1000, 2000, 4000, 8000])
    expect(p.jitter).not.toBeNull()
    expect(p.maxTries).toBe(5)
    expect(p.maxTime).toBeUndefined()
    expect(p.summary).toBe("--wait expo --interval 1s --jitter full --max-tries 5")
  })

  it("each strategy uses --interval as its base wait and --max-value as its cap", () => {
    expect(delays(parsePolicy({ wait: "expo", interval: "100ms", maxValue: "300ms" }).wait, 4)).toEqual([100, 200, 300, 300])
    expect(delays(parsePolicy({ wait: "fibo", interval: "1s", maxValue: "3s" }).wait, 5)).toEqual([1000, 1000, 2000, 3000, 3000])
    expect(delays(parsePolicy({ wait: "constant", interval: "250ms" }).wait, 3)).toEqual([250, 250, 250])
    const decay = delays(parsePolicy({ wait: "decay", interval: "10s" }).wait, 2)
    expect(decay[0]).toBe(10_000)
    expect(decay[1]).toBeCloseTo(10_000 * Math.exp(-1), 6)
  })

  it("reads durations with units, unlimited tries and the jitter names", () => {
    expect(Duration.toMillis(parseDuration("--x", "1.5s"))).toBe(1500)
    expect(Duration.toMillis(parseDuration("--x", "2m"))).toBe(120_000)
    expect(Duration.toMillis(parseDuration("--x", "2 seconds"))).toBe(2000)
    expect(Duration.toMillis(parseDuration("--x", "500ms"))).toBe(500)
    expect(parsePolicy({ maxTries: "unlimited" }).maxTries).toBe(Infinity)
    expect(Duration.toMillis(parsePolicy({ maxTime: "60s" }).maxTime!)).toBe(60_000)
    expect(parsePolicy({ jitter: "none" }).jitter).toBeNull()
    expect(parsePolicy({ jitter: "equal" }).jitter).not.toBe(parsePolicy({ jitter: "full" }).jitter)
  })

  const bad: ReadonlyArray<readonly [Parameters<typeof parsePolicy>[0], string]> = [
    [{ wait: "linear" }, "--wait must be one of expo, fibo, constant, decay, got \"linear\""],
    [{ jitter: "half" }, "--jitter must be one of full, equal, random, none, got \"half\""],
    [{ maxTries: "0" }, "--max-tries must be an integer >= 1 or \"unlimited\", got \"0\""],
    [{ maxTries: "2.5" }, "--max-tries must be an integer >= 1 or \"unlimited\", got \"2.5\""],
    [{ maxTries: "-1" }, "--max-tries must be an integer >= 1 or \"unlimited\", got \"-1\""],
    [{ maxTime: "60" }, "--max-time must be a duration with a unit (500ms, 1.5s, 2m, 1h), got \"60\""],
    [{ maxTime: "-5s" }, "--max-time must be a duration with a unit (500ms, 1.5s, 2m, 1h), got \"-5s\""],
    [{ interval: "soon" }, "--interval must be a duration with a unit (500ms, 1.5s, 2m, 1h), got \"soon\""],
    [{ interval: "0s" }, "--interval must be more than zero for --wait expo, got \"0s\""],
    [{ wait: "constant", maxValue: "30s" }, "--max-value applies to --wait expo and fibo only, not constant"],
    [{ wait: "decay", maxValue: "30s" }, "--max-value applies to --wait expo and fibo only, not decay"],
    [{ maxValue: "10ms" }, "--max-value must be at least --interval (1s), got \"10ms\""]
  ]
  for (const [flags, message] of bad) {
    it(`refuses ${JSON.stringify(flags)}`, () => {
      expect(usage(() => parsePolicy(flags))).toBe(message)
    })
  }

  it("--retry-on-exit and --until-status", () => {
    expect([...parseExitCodes("1, 75")]).toEqual([1, 75])
    for (const text of ["", "0", "256", "1,x", "1,,2"]) expect(usage(() => parseExitCodes(text))).toContain("--retry-on-exit")
    const twoXX = parseStatuses("2xx")
    expect([200, 204, 299].every(twoXX)).toBe(true)
    expect([199, 301, 404, 503].some(twoXX)).toBe(false)
    const listed = parseStatuses("200,404")
    expect([listed(200), listed(404), listed(201)]).toEqual([true, true, false])
    for (const text of ["2yy", "99", "600", "ok"]) expect(usage(() => parseStatuses(text))).toContain("--until-status")
  })
})
