import { Jitter, Wait } from "@effect-backoff/core"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import { Data, Duration, Effect, Either, Option } from "effect"

/**
 * @internal A value the command cannot use. Raised before anything runs; the command
 * prints `effect-backoff SUB: message` and exits with status 2.
 */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

const quote = (s: string) => JSON.stringify(s)

const usage = (message: string) => Either.left(new UsageError({ message }))

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
export const parseDuration = (flag: string, text: string): Either.Either<Duration.Duration, UsageError> => {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(text.trim())
  const unit = m === null ? undefined : UNITS[m[2]!.toLowerCase()]
  if (m === null || unit === undefined) {
    return usage(`${flag} must be a duration with a unit (500ms, 1.5s, 2m, 1h), got ${quote(text)}`)
  }
  return Either.right(Duration.millis(Number(m[1]) * unit))
}

const UNLIMITED = new Set(["unlimited", "inf", "infinity", "none"])

/** @internal `--max-tries`: an integer >= 1 or `unlimited` (Infinity). */
export const parseMaxTries = (text: string): Either.Either<number, UsageError> => {
  if (UNLIMITED.has(text.toLowerCase())) return Either.right(Infinity)
  const n = Number(text)
  return /^\d+$/.test(text) && Number.isSafeInteger(n) && n >= 1
    ? Either.right(n)
    : usage(`--max-tries must be an integer >= 1 or "unlimited", got ${quote(text)}`)
}

/** @internal `--retry-on-exit 1,75`: the exit codes that are retried. */
export const parseExitCodes = (text: string): Either.Either<ReadonlySet<number>, UsageError> => {
  const parts = text.split(",").map((s) => s.trim())
  if (parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 255)) {
    return usage(`--retry-on-exit must be a comma-separated list of exit codes from 1 to 255, got ${quote(text)}`)
  }
  return Either.right(new Set(parts.map(Number)))
}

/** @internal `--until-status 200` / `200,204` / `2xx`: the statuses that end polling. */
export const parseStatuses = (text: string): Either.Either<(status: number) => boolean, UsageError> => {
  const tests = text.split(",").map((s) => s.trim().toLowerCase()).map((p) => {
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
    return usage(`--until-status must be statuses like 200, 200,204 or 2xx, got ${quote(text)}`)
  }
  return Either.right((status) => tests.some((t) => t!(status)))
}

/** @internal `poll URL`: an absolute http:// or https:// URL. */
export const parseUrl = (text: string): Either.Either<URL, UsageError> => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return usage(`URL must be an absolute http:// or https:// URL, got ${quote(text)}`)
  }
  return url.protocol === "http:" || url.protocol === "https:"
    ? Either.right(url)
    : usage(`URL must be an http:// or https:// URL, got ${quote(text)}`)
}

// --- the policy ---------------------------------------------------------------------

/** @internal Every `Wait` constructor a policy can be built from, as `--wait` names it. */
export const WAITS = ["expo", "fibo", "constant", "decay", "linear", "decorrelated"] as const
/** @internal A `--wait` choice. */
export type WaitName = typeof WAITS[number]

const JITTERS = { full: Jitter.full, equal: Jitter.equal, random: Jitter.random, none: null } as const
/** @internal The `--jitter` choices. */
export const JITTER_NAMES = ["full", "equal", "random", "none"] as const
/** @internal A `--jitter` choice. */
export type JitterName = typeof JITTER_NAMES[number]

/** @internal Defaults shown in the help text. */
export const DEFAULTS = { wait: "expo", maxTries: "5", interval: "1s", jitter: "full", killAfter: "5s" } as const

/** @internal The policy flags as given, each already read as its type. */
export interface PolicyFlags {
  readonly wait: WaitName
  readonly interval: Duration.Duration
  readonly maxValue: Option.Option<Duration.Duration>
  readonly base: Option.Option<number>
  readonly step: Option.Option<Duration.Duration>
  readonly decayFactor: Option.Option<number>
  readonly minValue: Option.Option<Duration.Duration>
  readonly jitter: Option.Option<JitterName>
  readonly maxTries: number
  readonly maxTime: Option.Option<Duration.Duration>
}

/** @internal The policy the flags describe, resolved to `Backoff` options (the raw text is `PolicyFlags`). */
export interface ResolvedPolicy {
  readonly wait: Wait.Wait
  readonly jitter: Jitter.Jitter | null
  /** The `--jitter` choice `jitter` is (plot samples it as arithmetic). */
  readonly jitterName: JitterName
  /** `--wait decorrelated`'s base and cap in milliseconds (its waits are random, so plot draws them itself). */
  readonly decorrelated: { readonly base: number; readonly maxValue: number } | undefined
  readonly maxTries: number
  readonly maxTime: Duration.Duration | undefined
  /** How the policy reads on one line, for headers and logs. */
  readonly summary: string
}

/** Which strategies read each strategy-specific flag. */
const APPLIES: Readonly<Record<"maxValue" | "base" | "step" | "decayFactor" | "minValue", ReadonlyArray<WaitName>>> = {
  maxValue: ["expo", "fibo", "linear", "decorrelated"],
  base: ["expo"],
  step: ["linear"],
  decayFactor: ["decay"],
  minValue: ["decay"]
}
const FLAG_NAMES = {
  maxValue: "--max-value",
  base: "--base",
  step: "--step",
  decayFactor: "--decay-factor",
  minValue: "--min-value"
} as const

const waitList = (names: ReadonlyArray<string>) =>
  names.length === 1 ? names[0]! : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`

/**
 * @internal Checks the flags against each other (a flag another strategy reads, a cap
 * below the base wait) and builds the policy. `--jitter` defaults to `none` for
 * `decorrelated`, which is random already, and to `full` for the others.
 */
export const toPolicy = (flags: PolicyFlags): Either.Either<ResolvedPolicy, UsageError> => {
  const { interval, wait: waitName } = flags
  for (const key of Object.keys(APPLIES) as Array<keyof typeof APPLIES>) {
    if (Option.isSome(flags[key] as Option.Option<unknown>) && !APPLIES[key].includes(waitName)) {
      return usage(`${FLAG_NAMES[key]} applies to --wait ${waitList(APPLIES[key])} only, not ${waitName}`)
    }
  }
  const maxValue = Option.getOrUndefined(flags.maxValue)
  if (maxValue !== undefined && Duration.lessThan(maxValue, interval)) {
    return usage(
      `--max-value must be at least --interval (${Duration.format(interval)}), got ${quote(formatSeconds(maxValue))}`
    )
  }
  if (waitName !== "decay" && Duration.isZero(interval)) {
    return usage(`--interval must be more than zero for --wait ${waitName}, got ${quote(formatSeconds(interval))}`)
  }
  const base = Option.getOrUndefined(flags.base)
  if (base !== undefined && !(base > 0 && Number.isFinite(base))) {
    return usage(`--base must be a number > 0, got ${base}`)
  }
  const decayFactor = Option.getOrUndefined(flags.decayFactor)
  if (decayFactor !== undefined && !(decayFactor >= 0 && Number.isFinite(decayFactor))) {
    return usage(`--decay-factor must be a number >= 0, got ${decayFactor}`)
  }
  const step = Option.getOrUndefined(flags.step)
  const minValue = Option.getOrUndefined(flags.minValue)
  const make = (): Wait.Wait =>
    waitName === "expo"
      ? Wait.expo({ base, factor: interval, maxValue })
      : waitName === "fibo"
      ? Wait.fibo({ unit: interval, maxValue })
      : waitName === "constant"
      ? Wait.constant({ interval })
      : waitName === "decay"
      ? Wait.decay({ initialValue: interval, decayFactor, minValue })
      : waitName === "linear"
      ? Wait.linear({ initial: interval, step, maxValue })
      : Wait.decorrelated({ base: interval, maxValue })
  // the constructors check their options too; the checks above should leave nothing to catch
  const built = Either.try({
    try: make,
    catch: (e) => new UsageError({ message: e instanceof Error ? e.message : String(e) })
  })
  if (Either.isLeft(built)) return Either.left(built.left)
  const wait = built.right
  const jitterName = Option.getOrElse(flags.jitter, (): JitterName => waitName === "decorrelated" ? "none" : "full")
  const { maxTime, maxTries } = flags
  const parts = [
    `--wait ${waitName}`,
    `--interval ${formatSeconds(interval)}`,
    ...(base === undefined ? [] : [`--base ${base}`]),
    ...(step === undefined ? [] : [`--step ${formatSeconds(step)}`]),
    ...(decayFactor === undefined ? [] : [`--decay-factor ${decayFactor}`]),
    ...(minValue === undefined ? [] : [`--min-value ${formatSeconds(minValue)}`]),
    ...(maxValue === undefined ? [] : [`--max-value ${formatSeconds(maxValue)}`]),
    `--jitter ${jitterName}`,
    `--max-tries ${maxTries === Infinity ? "unlimited" : maxTries}`,
    ...(Option.isNone(maxTime) ? [] : [`--max-time ${formatSeconds(maxTime.value)}`])
  ]
  const baseMillis = Duration.toMillis(interval)
  return Either.right({
    wait,
    jitter: JITTERS[jitterName],
    jitterName,
    decorrelated: waitName === "decorrelated"
      ? {
        base: baseMillis,
        // Wait.decorrelated's default cap: 60 seconds, or the base when it is longer
        maxValue: maxValue === undefined ? Math.max(60_000, baseMillis) : Duration.toMillis(maxValue)
      }
      : undefined,
    maxTries,
    maxTime: Option.getOrUndefined(maxTime),
    summary: parts.join(" ")
  })
}

/** @internal `250ms`, `1.25s`, `30s` */
export const formatSeconds = (d: Duration.Duration): string => {
  const ms = Duration.toMillis(d)
  if (ms === 0) return "0s"
  if (ms < 10) return `${Number(ms.toFixed(1))}ms`
  if (ms < 1000) return `${Math.round(ms)}ms`
  return `${Number((ms / 1000).toFixed(2))}s`
}

// --- the flags as @effect/cli options -----------------------------------------------

/**
 * @internal Turns a check into an `Options.mapEffect` step: @effect/cli prints the
 * message (prefixed with the subcommand) and the command exits with status 2.
 */
export const check = <A, B>(sub: string, f: (a: A) => Either.Either<B, UsageError>) => (a: A) =>
  Either.match(f(a), {
    onLeft: (e) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(`effect-backoff ${sub}: ${e.message}`))),
    onRight: Effect.succeed
  })

const described = (pseudoName: string, description: string) => <A>(self: Options.Options<A>) =>
  self.pipe(Options.withPseudoName(pseudoName), Options.withDescription(description))

/** @internal An optional duration flag. */
export const optionalDuration = (sub: string, name: string, description: string) =>
  Options.text(name).pipe(
    described("DURATION", description),
    Options.mapEffect(check(sub, (text: string) => parseDuration(`--${name}`, text))),
    Options.optional
  )

/** @internal A duration flag with a default, given as text (`"10s"`) and shown in the help. */
export const duration = (sub: string, name: string, fallback: string, description: string) =>
  Options.text(name).pipe(
    described("DURATION", `${description} (default ${fallback}).`),
    Options.withDefault(fallback),
    Options.mapEffect(check(sub, (text: string) => parseDuration(`--${name}`, text)))
  )

/** @internal An integer flag within bounds, with a default. */
export const integer = (sub: string, name: string, min: number, max: number, fallback: number, description: string) =>
  Options.integer(name).pipe(
    described("N", `${description} (default ${fallback}).`),
    Options.withDefault(fallback),
    Options.mapEffect(check(sub, (n: number) =>
      n >= min && n <= max
        ? Either.right(n)
        : usage(`--${name} must be an integer from ${min} to ${max}, got ${quote(String(n))}`)))
  )

/**
 * @internal The policy flags every subcommand takes, read and checked together into a
 * `Policy`. `plot` draws a fixed number of waits, so its `--max-tries` defaults to
 * unlimited.
 */
export const policy = (sub: string, defaultMaxTries: string = DEFAULTS.maxTries): Options.Options<ResolvedPolicy> =>
  Options.all({
    wait: Options.choice("wait", WAITS).pipe(
      Options.withDescription(`Wait strategy (default ${DEFAULTS.wait}): the Wait constructor of that name.`),
      Options.withDefault(DEFAULTS.wait)
    ),
    interval: duration(
      sub,
      "interval",
      DEFAULTS.interval,
      "The base wait: the expo factor, the fibo unit, the constant interval, the decay initial value, " +
        "the linear initial wait or the decorrelated base"
    ),
    maxValue: optionalDuration(
      sub,
      "max-value",
      "Cap on a single wait before jitter (expo, fibo, linear, decorrelated)."
    ),
    base: Options.float("base").pipe(
      described("NUMBER", "The expo base, > 0 (default 2): waits are interval · base^n."),
      Options.optional
    ),
    step: optionalDuration(sub, "step", "What linear adds to each wait (default: --interval)."),
    decayFactor: Options.float("decay-factor").pipe(
      described("NUMBER", "The decay rate k, >= 0 (default 1): waits are interval · e^(−k·n)."),
      Options.optional
    ),
    minValue: optionalDuration(sub, "min-value", "The floor decay falls to (default 0)."),
    jitter: Options.choice("jitter", JITTER_NAMES).pipe(
      Options.withDescription("Jitter (default full; none for decorrelated, which is random already)."),
      Options.optional
    ),
    maxTries: Options.text("max-tries").pipe(
      described("N", `Total tries, the first included: an integer >= 1, or "unlimited" (default ${defaultMaxTries}).`),
      Options.withDefault(defaultMaxTries),
      Options.mapEffect(check(sub, parseMaxTries))
    ),
    maxTime: Options.text("max-time").pipe(
      described("DURATION", "Time budget from the start of the first try, e.g. 60s or 5m (default unlimited)."),
      Options.withDefault("unlimited"),
      Options.mapEffect(check(sub, (text: string) =>
        UNLIMITED.has(text.toLowerCase())
          ? Either.right(Option.none())
          : Either.map(parseDuration("--max-time", text), Option.some)))
    )
  }).pipe(Options.mapEffect(check(sub, toPolicy)))
