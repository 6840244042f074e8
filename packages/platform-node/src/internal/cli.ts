import * as Args from "@effect/cli/Args"
import * as BuiltInOptions from "@effect/cli/BuiltInOptions"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import type * as Usage from "@effect/cli/Usage"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import type { Teardown } from "@effect/platform/Runtime"
import { Cause, Console, Data, Effect, Either, Exit, HashSet, Option } from "effect"
import { createRequire } from "node:module"
import * as Flags from "./flags.js"
import { UsageError } from "./flags.js"
import { chart, MAX_WAITS, renderSvg, renderText } from "./plot.js"
import { poll } from "./poll.js"
import { run, say } from "./run.js"
import * as Signals from "./signals.js"

/** @internal The package's version, from its package.json (the same path from src/ and dist/). */
export const VERSION: string = (createRequire(import.meta.url)("../../package.json") as { readonly version: string })
  .version

/** @internal The command ends with this exit status; what went wrong has been printed already. */
export class ExitStatus extends Data.TaggedError("ExitStatus")<{ readonly code: number }> {}

const exitWith = (code: number): Effect.Effect<void, ExitStatus> =>
  code === 0 ? Effect.void : Effect.fail(new ExitStatus({ code }))

/** Prints text that ends with a newline (Console.log adds its own). */
const print = (text: string) => Console.log(text.endsWith("\n") ? text.slice(0, -1) : text)

// --- run ----------------------------------------------------------------------------

const runCommand = Command.make(
  "run",
  {
    policy: Flags.policy("run"),
    retryOnExit: Options.text("retry-on-exit").pipe(
      Options.withPseudoName("CODES"),
      Options.withDescription("Exit codes to retry, comma-separated, e.g. 1,75 (default: any non-zero)."),
      Options.mapEffect(Flags.check("run", Flags.parseExitCodes)),
      Options.optional
    ),
    killAfter: Flags.duration(
      "run",
      "kill-after",
      Flags.DEFAULTS.killAfter,
      "On SIGINT or SIGTERM the signal is passed to the command; this long later it gets SIGKILL"
    ),
    command: Args.text({ name: "command" }).pipe(
      Args.withDescription("The command and its arguments, after --."),
      Args.repeated
    )
  },
  (c) =>
    Effect.gen(function*() {
      if (c.command.length === 0) {
        return yield* new UsageError({ message: "no command given: effect-backoff run [flags] -- CMD ARGS..." })
      }
      return yield* exitWith(yield* run(c.policy, c.command, c.retryOnExit, { killAfter: c.killAfter }))
    })
).pipe(Command.withDescription(
  "Run a command, retrying it with the policy while it exits with a code to retry. Its output passes through; " +
    "one line per backoff and give-up goes to stderr; the exit status is the command's last exit code, " +
    "or 128 + the signal's number after SIGINT (130) or SIGTERM (143)."
))

// --- poll ---------------------------------------------------------------------------

const pollCommand = Command.make(
  "poll",
  {
    policy: Flags.policy("poll"),
    untilStatus: Options.text("until-status").pipe(
      Options.withPseudoName("STATUSES"),
      Options.withDescription("Statuses that end polling: 200, 200,204 or 2xx (default 2xx)."),
      Options.withDefault("2xx"),
      Options.mapEffect(Flags.check("poll", Flags.parseStatuses))
    ),
    timeout: Flags.duration(
      "poll",
      "timeout",
      "10s",
      "Timeout of each try, the final body included; a timeout is retried"
    ),
    maxRetryAfter: Flags.duration("poll", "max-retry-after", "60s", "The longest Retry-After honoured"),
    url: Args.text({ name: "url" }).pipe(
      Args.withDescription("The http:// or https:// URL to GET."),
      Args.mapEffect((text) =>
        Either.match(Flags.parseUrl(text), {
          onLeft: (e) => Effect.fail(HelpDoc.p(`effect-backoff poll: ${e.message}`)),
          onRight: () => Effect.succeed(text)
        })
      )
    )
  },
  (c) =>
    poll(c.policy, c.url, c.untilStatus, { timeout: c.timeout, maxRetryAfter: c.maxRetryAfter }).pipe(
      Effect.flatMap(exitWith)
    )
).pipe(Command.withDescription(
  "GET a URL until the status matches, retrying other statuses and transport errors with the policy and " +
    "honouring Retry-After. Prints the final body; exits 0 on success, 1 on giving up."
))

// --- plot ---------------------------------------------------------------------------

const plotCommand = Command.make(
  "plot",
  {
    // plot draws --tries waits: no try limit unless --max-tries is given
    policy: Flags.policy("plot", "unlimited"),
    tries: Flags.integer("plot", "tries", 1, 1000, 10, "How many waits to draw"),
    samples: Flags.integer(
      "plot",
      "samples",
      1,
      100_000,
      200,
      `Jittered runs sampled for the band; --tries × --samples at most ${MAX_WAITS.toLocaleString("en-US")}`
    ),
    seed: Flags.integer(
      "plot",
      "seed",
      0,
      2 ** 31 - 1,
      42,
      "Seed of the jitter samples: the same seed draws the same chart"
    ),
    svg: Options.text("svg").pipe(
      Options.withPseudoName("FILE"),
      Options.withDescription("Also write the chart as an SVG file here."),
      Options.optional
    )
  },
  (c) =>
    Effect.gen(function*() {
      if (c.tries * c.samples > MAX_WAITS) {
        return yield* new UsageError({
          message: `--tries × --samples must be at most ${
            MAX_WAITS.toLocaleString("en-US")
          }, got ${c.tries} × ${c.samples}`
        })
      }
      const drawn = yield* chart(c.policy, c.tries, c.samples, c.seed)
      yield* print(renderText(drawn))
      if (Option.isSome(c.svg)) {
        const file = c.svg.value
        const fs = yield* FileSystem.FileSystem
        // an I/O error, not a bad flag: said plainly, exit 1 (the status of a plot or poll that failed)
        const written = yield* Effect.either(fs.writeFileString(file, renderSvg(drawn)))
        if (written._tag === "Left") {
          const e = written.left
          const why = e._tag === "SystemError" ? `${e.reason === "NotFound" ? "no such folder" : e.reason}` : e.message
          yield* say(`effect-backoff plot: cannot write the SVG to ${file}: ${why} (${e.message})`)
          return yield* new ExitStatus({ code: 1 })
        }
        yield* say(`effect-backoff: wrote ${file}`)
      }
    })
).pipe(Command.withDescription(
  "Draw the policy's waits per try in the terminal: the wait without jitter and the band of seeded jittered " +
    `samples around it; --svg writes the same chart as an SVG file (exit 1 if it cannot). At most ${
      MAX_WAITS.toLocaleString("en-US")
    } waits in all (--tries × --samples): a chart takes well under a second.`
))

/** @internal The `effect-backoff` command tree. */
export const command = Command.make("effect-backoff").pipe(
  Command.withDescription("Retry with backoff from the shell: python-backoff's policies on Effect."),
  Command.withSubcommands([runCommand, pollCommand, plotCommand])
)

/** @internal The command as @effect/cli runs it: `cli(["node", "effect-backoff", ...args])`. */
export const cli = Command.run(command, { name: "effect-backoff", version: VERSION })

// --- unknown flags ------------------------------------------------------------------

/** The flags a usage names, each with whether it takes a value. */
const flagsOf = (usage: Usage.Usage, into: Map<string, boolean> = new Map()): Map<string, boolean> => {
  switch (usage._tag) {
    case "Named":
      for (const name of usage.names) if (name.startsWith("-")) into.set(name, Option.isSome(usage.acceptedValues))
      break
    case "Optional":
    case "Repeated":
      flagsOf(usage.usage, into)
      break
    case "Alternation":
    case "Concat":
      flagsOf(usage.left, into)
      flagsOf(usage.right, into)
      break
  }
  return into
}

const builtIns = flagsOf(
  Options.getUsage(BuiltInOptions.builtInOptions(command.descriptor, Options.getUsage(Options.none), HelpDoc.empty))
)

const entry = <Name extends string, R, E, A>(sub: Command.Command<Name, R, E, A>) =>
  [[...HashSet.values(Command.getNames(sub))][0]!, new Map([...builtIns, ...flagsOf(Command.getUsage(sub))])] as const

/** @internal Each subcommand's flags (built-ins included) with whether they take a value, read from the command tree. */
export const knownFlags: ReadonlyMap<string, ReadonlyMap<string, boolean>> = new Map([
  entry(runCommand),
  entry(pollCommand),
  entry(plotCommand)
])

/**
 * @internal The flags before `--` must be known ones. @effect/cli would pass an unknown
 * one to `run` as part of the command (it takes any number of arguments), so check first.
 */
export const unknownFlag = (args: ReadonlyArray<string>): string | undefined => {
  const sub = args[0]
  const known = sub === undefined ? undefined : knownFlags.get(sub)
  if (known === undefined) return undefined
  for (let i = 1; i < args.length && args[i] !== "--"; i++) {
    const token = args[i]!
    if (!token.startsWith("-") || token === "-") continue
    const name = token.split("=")[0]!
    const takesValue = known.get(name)
    if (takesValue === undefined) {
      return `effect-backoff ${sub}: unknown flag ${name}${
        sub === "run" ? " (a command's own flags go after --: effect-backoff run [flags] -- CMD ARGS...)" : ""
      }`
    }
    if (takesValue && !token.includes("=")) i++ // its value
  }
  return undefined
}

// --- output -------------------------------------------------------------------------

// ESC [ ... letter: the SGR and cursor sequences @effect/printer-ansi writes
const ANSI_SEQUENCE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, "g")

/** @internal Removes ANSI escape sequences (@effect/cli's help is styled). */
export const stripAnsi = (text: string): string => text.replace(ANSI_SEQUENCE, "")

/** @internal Whether each stream gets colour: only a terminal, and not with NO_COLOR set. */
export interface Colour {
  readonly stdout: boolean
  readonly stderr: boolean
}

const terminalColour = (): Colour => {
  const noColor = (process.env.NO_COLOR ?? "") !== ""
  return { stdout: !noColor && process.stdout.isTTY === true, stderr: !noColor && process.stderr.isTTY === true }
}

const plain = (args: ReadonlyArray<unknown>) => args.map((a) => typeof a === "string" ? stripAnsi(a) : a)

/** The current Console, with colour codes removed from the streams that get none. */
const withColour = (colour: Colour) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  colour.stdout && colour.stderr ? self : Effect.consoleWith((console) => {
    const out = (f: (...args: ReadonlyArray<unknown>) => Effect.Effect<void>, on: boolean) =>
      on ? f : (...args: ReadonlyArray<unknown>) => f(...plain(args))
    const unsafeOut = (f: (...args: ReadonlyArray<unknown>) => void, on: boolean) =>
      on ? f : (...args: ReadonlyArray<unknown>) => f(...plain(args))
    const unsafe = Object.assign(Object.create(console.unsafe), {
      log: unsafeOut(console.unsafe.log.bind(console.unsafe), colour.stdout),
      info: unsafeOut(console.unsafe.info.bind(console.unsafe), colour.stdout),
      error: unsafeOut(console.unsafe.error.bind(console.unsafe), colour.stderr),
      warn: unsafeOut(console.unsafe.warn.bind(console.unsafe), colour.stderr)
    })
    const wrapped: Console.Console = Object.assign(Object.create(console), {
      log: out(console.log, colour.stdout),
      info: out(console.info, colour.stdout),
      error: out(console.error, colour.stderr),
      warn: out(console.warn, colour.stderr),
      unsafe
    })
    return Effect.withConsole(self, wrapped)
  })

// --- main ---------------------------------------------------------------------------

/**
 * @internal Runs `effect-backoff` on `argv` (`["node", "effect-backoff", ...args]`) and
 * succeeds with the exit status: the command's for `run`, 0 or 1 for `poll` and `plot` (1:
 * polling gave up, or the SVG could not be written),
 * 2 for a bad flag or value, 127 when `run` cannot start the command.
 */
export const main = (argv: ReadonlyArray<string>, options: { readonly colour?: Colour } = {}): Effect.Effect<number> =>
  Effect.suspend(() => {
    const problem = unknownFlag(argv.slice(2))
    if (problem !== undefined) return Effect.as(say(problem), 2)
    const sub = argv[2] ?? "effect-backoff"
    return cli(argv).pipe(
      Effect.as(0),
      Effect.catchTags({
        ExitStatus: (e) => Effect.succeed(e.code),
        UsageError: (e) => Effect.as(say(`effect-backoff ${sub}: ${e.message}`), 2),
        SpawnError: (e) => Effect.as(say(`effect-backoff ${sub}: ${e.message}`), 127)
      }),
      // @effect/cli has printed its own message
      Effect.catchIf(ValidationError.isValidationError, () => Effect.succeed(2)),
      withColour(options.colour ?? terminalColour()),
      Effect.provide([NodeContext.layer, Signals.layer])
    )
  })

/**
 * @internal For `NodeRuntime.runMain`: exits with `main`'s status; after SIGINT or
 * SIGTERM (which interrupt the program once it has stopped its command) with 128 + the
 * signal's number.
 */
export const teardown: Teardown = (exit, onExit) => {
  if (Exit.isSuccess(exit)) onExit(typeof exit.value === "number" ? exit.value : 0)
  else onExit(Cause.isInterruptedOnly(exit.cause) ? 128 + Signals.signalNumber(Signals.caught() ?? "SIGINT") : 1)
}
