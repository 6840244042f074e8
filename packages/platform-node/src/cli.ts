#!/usr/bin/env node
/**
 * The `effect-backoff` command: `run` retries a command, `poll` polls a URL, `plot` draws
 * a policy's waits. Exit status: the command's last exit code for `run`; 0 or 1 for
 * `poll`; 2 for an unknown flag or a bad value (nothing is run then).
 *
 * @since 0.1.0
 */
// deep imports: the package indexes load every module, which costs seconds at start-up
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Data, Effect, Exit, Option } from "effect"
import { writeFileSync } from "node:fs"
import { DEFAULTS, parseDuration, parseExitCodes, parseInteger, parsePolicy, parseStatuses, UsageError } from "./internal/flags.js"
import type { PolicyFlags } from "./internal/flags.js"
import { chart, renderSvg, renderText } from "./internal/plot.js"
import { poll } from "./internal/poll.js"
import { run, say, SpawnError } from "./internal/run.js"

const VERSION = "0.1.0"

/** Ends the program with this exit status. */
class ExitWith extends Data.TaggedError("ExitWith")<{ readonly code: number }> {}

const exitWith = (code: number): Effect.Effect<void, ExitWith> =>
  code === 0 ? Effect.void : Effect.fail(new ExitWith({ code }))

/** Runs `f`, turning a `UsageError` it throws into a typed failure. */
const usage = <A>(f: () => A): Effect.Effect<A, UsageError> =>
  Effect.try({ try: f, catch: (e) => e instanceof UsageError ? e : new UsageError(String(e)) })

/** An optional text flag, checked by the handler (so every message names the flag). */
const optional = (name: string, pseudoName: string, description: string) =>
  Options.text(name).pipe(Options.withPseudoName(pseudoName), Options.withDescription(description), Options.optional)

const value = (o: Option.Option<string>): string | undefined => Option.getOrUndefined(o)

// --- policy flags, shared by every subcommand ---------------------------------------

const policyFlags = {
  wait: optional("wait", "expo|fibo|constant|decay", `Wait strategy (default ${DEFAULTS.wait}).`),
  maxTries: optional("max-tries", "N", `Total tries, the first included: an integer >= 1, or "unlimited" (default ${DEFAULTS.maxTries}).`),
  maxTime: optional("max-time", "DURATION", "Time budget from the start of the first try, e.g. 60s or 5m (default unlimited)."),
  maxValue: optional("max-value", "DURATION", "Cap on a single wait before jitter, e.g. 30s (expo and fibo only)."),
  interval: optional(
    "interval",
    "DURATION",
    `The base wait (default ${DEFAULTS.interval}): the expo factor, the fibo unit, the constant interval or the decay initial value.`
  ),
  jitter: optional("jitter", "full|equal|random|none", `Jitter (default ${DEFAULTS.jitter}).`)
}

interface PolicyConfig {
  readonly wait: Option.Option<string>
  readonly maxTries: Option.Option<string>
  readonly maxTime: Option.Option<string>
  readonly maxValue: Option.Option<string>
  readonly interval: Option.Option<string>
  readonly jitter: Option.Option<string>
}

const flagsOf = (c: PolicyConfig): PolicyFlags => ({
  wait: value(c.wait),
  maxTries: value(c.maxTries),
  maxTime: value(c.maxTime),
  maxValue: value(c.maxValue),
  interval: value(c.interval),
  jitter: value(c.jitter)
})

// --- run ----------------------------------------------------------------------------

const runCommand = Command.make(
  "run",
  {
    ...policyFlags,
    retryOnExit: optional("retry-on-exit", "CODES", "Exit codes to retry, comma-separated, e.g. 1,75 (default: any non-zero)."),
    command: Args.text({ name: "command" }).pipe(
      Args.withDescription("The command and its arguments, after --."),
      Args.repeated
    )
  },
  (c) =>
    Effect.gen(function*() {
      const policy = yield* usage(() => parsePolicy(flagsOf(c)))
      const retryOn = yield* usage(() => Option.match(c.retryOnExit, { onNone: () => undefined, onSome: parseExitCodes }))
      if (c.command.length === 0) {
        return yield* Effect.fail(new UsageError("no command given: effect-backoff run [flags] -- CMD ARGS..."))
      }
      return yield* exitWith(yield* run(policy, c.command, retryOn))
    })
).pipe(Command.withDescription(
  "Run a command, retrying it with the policy while it exits with a code to retry. Its output passes through; " +
    "one line per backoff and give-up goes to stderr; the exit status is the command's last exit code."
))

// --- poll ---------------------------------------------------------------------------

const pollCommand = Command.make(
  "poll",
  {
    ...policyFlags,
    untilStatus: optional("until-status", "STATUSES", "Statuses that end polling: 200, 200,204 or 2xx (default 2xx)."),
    timeout: optional("timeout", "DURATION", "Timeout of each request, e.g. 10s (default 10s); a timeout is retried."),
    maxRetryAfter: optional("max-retry-after", "DURATION", "The longest Retry-After honoured, e.g. 2m (default 60s)."),
    url: Args.text({ name: "url" }).pipe(Args.withDescription("The http:// or https:// URL to GET."))
  },
  (c) =>
    Effect.gen(function*() {
      const policy = yield* usage(() => parsePolicy(flagsOf(c)))
      const done = yield* usage(() => parseStatuses(Option.getOrElse(c.untilStatus, () => "2xx")))
      const timeout = yield* usage(() => parseDuration("--timeout", Option.getOrElse(c.timeout, () => "10s")))
      const maxRetryAfter = yield* usage(() =>
        parseDuration("--max-retry-after", Option.getOrElse(c.maxRetryAfter, () => "60s"))
      )
      yield* usage(() => {
        let url: URL
        try {
          url = new URL(c.url)
        } catch {
          throw new UsageError(`URL must be an absolute http:// or https:// URL, got ${JSON.stringify(c.url)}`)
        }
        if (url.protocol !== "http:" && url.protocol !== "https:") {
          throw new UsageError(`URL must be an http:// or https:// URL, got ${JSON.stringify(c.url)}`)
        }
      })
      return yield* exitWith(yield* poll(policy, c.url, done, { timeout, maxRetryAfter }))
    })
).pipe(Command.withDescription(
  "GET a URL until the status matches, retrying other statuses and transport errors with the policy and " +
    "honouring Retry-After. Prints the final body; exits 0 on success, 1 on giving up."
))

// --- plot ---------------------------------------------------------------------------

const plotCommand = Command.make(
  "plot",
  {
    ...policyFlags,
    tries: optional("tries", "N", "How many waits to draw (default 10)."),
    samples: optional("samples", "N", "Jittered runs sampled for the band (default 200)."),
    seed: optional("seed", "N", "Seed of the jitter samples (default 42): the same seed draws the same chart."),
    svg: optional("svg", "FILE", "Also write the chart as an SVG file here.")
  },
  (c) =>
    Effect.gen(function*() {
      // plot draws --tries waits: no try limit unless --max-tries is given
      const policy = yield* usage(() => parsePolicy(flagsOf(c), "unlimited"))
      const tries = yield* usage(() => parseInteger("--tries", Option.getOrElse(c.tries, () => "10"), 1, 1000))
      const samples = yield* usage(() => parseInteger("--samples", Option.getOrElse(c.samples, () => "200"), 1, 100_000))
      const seed = yield* usage(() => parseInteger("--seed", Option.getOrElse(c.seed, () => "42"), 0, 2 ** 31 - 1))
      const drawn = yield* chart(policy, tries, samples, seed)
      yield* Effect.sync(() => void process.stdout.write(renderText(drawn)))
      if (Option.isSome(c.svg)) {
        const file = c.svg.value
        yield* Effect.try({
          try: () => writeFileSync(file, renderSvg(drawn)),
          catch: (e) => new UsageError(`--svg: cannot write ${file}: ${e instanceof Error ? e.message : String(e)}`)
        })
        yield* say(`effect-backoff: wrote ${file}`)
      }
    })
).pipe(Command.withDescription(
  "Draw the policy's waits per try in the terminal: the wait without jitter and the band of seeded jittered " +
    "samples around it; --svg writes the same chart as an SVG file."
))

const root = Command.make("effect-backoff").pipe(
  Command.withDescription("Retry with backoff from the shell: python-backoff's policies on Effect."),
  Command.withSubcommands([runCommand, pollCommand, plotCommand])
)

const cli = Command.run(root, { name: "effect-backoff", version: VERSION })

// --- unknown flags ------------------------------------------------------------------

const POLICY_FLAGS = ["--wait", "--max-tries", "--max-time", "--max-value", "--interval", "--jitter"]
const VALUE_FLAGS: Readonly<Record<string, ReadonlyArray<string>>> = {
  run: [...POLICY_FLAGS, "--retry-on-exit"],
  poll: [...POLICY_FLAGS, "--until-status", "--timeout", "--max-retry-after"],
  plot: [...POLICY_FLAGS, "--tries", "--samples", "--seed", "--svg"]
}
const BUILT_IN_SWITCHES = ["--help", "-h", "--version", "--wizard"]
const BUILT_IN_VALUES = ["--completions", "--log-level"]

/**
 * The flags before `--` must be known ones. @effect/cli would pass an unknown one to
 * `run` as part of the command (it takes any number of arguments), so check first.
 */
const unknownFlag = (args: ReadonlyArray<string>): string | undefined => {
  const sub = args[0]
  if (sub === undefined) return undefined
  const known = VALUE_FLAGS[sub]
  if (known === undefined) return undefined
  for (let i = 1; i < args.length && args[i] !== "--"; i++) {
    const token = args[i]!
    if (!token.startsWith("-") || token === "-") continue
    const name = token.split("=")[0]!
    if (known.includes(name) || BUILT_IN_VALUES.includes(name)) {
      if (!token.includes("=")) i++ // its value
      continue
    }
    if (BUILT_IN_SWITCHES.includes(name)) continue
    return `effect-backoff ${sub}: unknown flag ${name}${
      sub === "run" ? " (a command's own flags go after --: effect-backoff run [flags] -- CMD ARGS...)" : ""
    }`
  }
  return undefined
}

// --- main ---------------------------------------------------------------------------

const main: Effect.Effect<number> = Effect.suspend(() => {
  const problem = unknownFlag(process.argv.slice(2))
  if (problem !== undefined) return Effect.as(say(problem), 2)
  const sub = process.argv[2] ?? "effect-backoff"
  return cli(process.argv).pipe(
    Effect.as(0),
    Effect.catchAll((error): Effect.Effect<number> => {
      if (error instanceof ExitWith) return Effect.succeed(error.code)
      // @effect/cli has printed its own message
      if (ValidationError.isValidationError(error)) return Effect.succeed(2)
      if (error instanceof UsageError) return Effect.as(say(`effect-backoff ${sub}: ${error.message}`), 2)
      if (error instanceof SpawnError) return Effect.as(say(`effect-backoff ${sub}: ${error.message}`), 127)
      return Effect.as(say(`effect-backoff ${sub}: ${String(error)}`), 1)
    }),
    Effect.provide(NodeContext.layer)
  )
})

NodeRuntime.runMain(main, {
  disablePrettyLogger: true,
  teardown: (exit, onExit) => {
    if (Exit.isSuccess(exit)) onExit(exit.value as number)
    else onExit(Cause.isInterruptedOnly(exit.cause) ? 130 : 1)
  }
})
