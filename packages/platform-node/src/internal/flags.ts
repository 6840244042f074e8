import { Jitter, Wait } from "@effect-backoff/core"
import { Duration } from "effect"

/**
 * @internal A flag's value that cannot be used. The command prints the message and exits
 * with status 2 before running anything.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = "UsageError"
  }
}

const quote = (s: string) => JSON.stringify(s)

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  milli: 1,
  millis: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000
}

/**
 * @internal A duration flag: a number with a unit (`500ms`, `1.5s`, `2m`, `1h`, `2 seconds`).
 * A bare number is refused: the library reads it as milliseconds and Python as seconds.
 */
export const parseDuration = (flag: string, text: string): Duration.Duration => {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(text.trim())
  const unit = m === null ? undefined : UNITS[m[2]!.toLowerCase()]
  if (m === null || unit === undefined) {
    throw new UsageError(`${flag} must be a duration with a unit (500ms, 1.5s, 2m, 1h), got ${quote(text)}`)
  }
  return Duration.millis(Number(m[1]) * unit)
}

/** @internal An integer flag within bounds. */
export const parseInteger = (flag: string, text: string, min: number, max: number): number => {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got ${quote(text)}`)
  }
  return n
}

const UNLIMITED = new Set(["unlimited", "inf", "infinity", "none"])

/** @internal The policy flags every subcommand takes, as given (undefined when absent). */
export interface PolicyFlags {
  readonly wait?: string | undefined
  readonly maxTries?: string | undefined
  readonly maxTime?: string | undefined
  readonly maxValue?: string | undefined
  readonly interval?: string | undefined
  readonly jitter?: string | undefined
}

/** @internal The policy the flags describe, as `Backoff` options. */
export interface Policy {
  readonly wait: Wait.Wait
  readonly jitter: Jitter.Jitter | null
  readonly maxTries: number
  readonly maxTime: Duration.Duration | undefined
  /** How the policy reads on one line, for headers and logs. */
  readonly summary: string
}

const WAITS = ["expo", "fibo", "constant", "decay"] as const
const JITTERS = { full: Jitter.full, equal: Jitter.equal, random: Jitter.random, none: null } as const

/** @internal Defaults shown in the help text. */
export const DEFAULTS = { wait: "expo", maxTries: "5", interval: "1s", jitter: "full" } as const

/** @internal Reads and checks the policy flags; throws `UsageError` naming the flag. */
export const parsePolicy = (flags: PolicyFlags, defaultMaxTries: string = DEFAULTS.maxTries): Policy => {
  const waitName = flags.wait ?? DEFAULTS.wait
  if (!(WAITS as ReadonlyArray<string>).includes(waitName)) {
    throw new UsageError(`--wait must be one of ${WAITS.join(", ")}, got ${quote(waitName)}`)
  }
  const jitterName = flags.jitter ?? DEFAULTS.jitter
  if (!(jitterName in JITTERS)) {
    throw new UsageError(`--jitter must be one of ${Object.keys(JITTERS).join(", ")}, got ${quote(jitterName)}`)
  }
  const maxTriesText = flags.maxTries ?? defaultMaxTries
  const maxTries = UNLIMITED.has(maxTriesText.toLowerCase()) ? Infinity : Number(maxTriesText)
  if (maxTries !== Infinity && (!/^\d+$/.test(maxTriesText) || !Number.isSafeInteger(maxTries) || maxTries < 1)) {
    throw new UsageError(`--max-tries must be an integer >= 1 or "unlimited", got ${quote(maxTriesText)}`)
  }
  const maxTime = flags.maxTime === undefined || UNLIMITED.has(flags.maxTime.toLowerCase())
    ? undefined
    : parseDuration("--max-time", flags.maxTime)
  const interval = parseDuration("--interval", flags.interval ?? DEFAULTS.interval)
  const maxValue = flags.maxValue === undefined ? undefined : parseDuration("--max-value", flags.maxValue)
  if (maxValue !== undefined) {
    if (waitName !== "expo" && waitName !== "fibo") {
      throw new UsageError(`--max-value applies to --wait expo and fibo only, not ${waitName}`)
    }
    if (Duration.lessThan(maxValue, interval)) {
      throw new UsageError(
        `--max-value must be at least --interval (${Duration.format(interval)}), got ${quote(flags.maxValue!)}`
      )
    }
  }
  if (waitName !== "decay" && Duration.isZero(interval)) {
    throw new UsageError(`--interval must be more than zero for --wait ${waitName}, got ${quote(flags.interval!)}`)
  }
  const wait = waitName === "expo"
    ? Wait.expo({ factor: interval, maxValue })
    : waitName === "fibo"
    ? Wait.fibo({ unit: interval, maxValue })
    : waitName === "constant"
    ? Wait.constant({ interval })
    : Wait.decay({ initialValue: interval })
  const parts = [
    `--wait ${waitName}`,
    `--interval ${formatSeconds(interval)}`,
    ...(maxValue === undefined ? [] : [`--max-value ${formatSeconds(maxValue)}`]),
    `--jitter ${jitterName}`,
    `--max-tries ${maxTries === Infinity ? "unlimited" : maxTries}`,
    ...(maxTime === undefined ? [] : [`--max-time ${formatSeconds(maxTime)}`])
  ]
  return {
    wait,
    jitter: JITTERS[jitterName as keyof typeof JITTERS],
    maxTries,
    maxTime,
    summary: parts.join(" ")
  }
}

/** @internal `--retry-on-exit 1,75`: the exit codes that are retried. */
export const parseExitCodes = (text: string): ReadonlySet<number> => {
  const parts = text.split(",").map((s) => s.trim())
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 255)) {
    throw new UsageError(`--retry-on-exit must be a comma-separated list of exit codes from 1 to 255, got ${quote(text)}`)
  }
  return new Set(parts.map(Number))
}

/** @internal `--until-status 200` / `200,204` / `2xx`: the statuses that end polling. */
export const parseStatuses = (text: string): (status: number) => boolean => {
  const parts = text.split(",").map((s) => s.trim().toLowerCase())
  const tests = parts.map((p) => {
    if (/^[1-5]xx$/.test(p)) {
      const hundreds = Number(p[0])
      return (status: number) => Math.floor(status / 100) === hundreds
    }
    if (/^\d{3}$/.test(p) && Number(p) >= 100 && Number(p) <= 599) {
      const wanted = Number(p)
      return (status: number) => status === wanted
    }
    return undefined
  })
  if (tests.some((t) => t === undefined)) {
    throw new UsageError(`--until-status must be statuses like 200, 200,204 or 2xx, got ${quote(text)}`)
  }
  return (status) => tests.some((t) => t!(status))
}

/** @internal `250ms`, `1.25s`, `30s` */
export const formatSeconds = (d: Duration.Duration): string => {
  const ms = Duration.toMillis(d)
  if (ms < 10) return `${Number(ms.toFixed(1))}ms`
  if (ms < 1000) return `${Math.round(ms)}ms`
  return `${Number((ms / 1000).toFixed(2))}s`
}
