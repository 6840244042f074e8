import { Backoff } from "@effect-backoff/core"
import * as PlatformCommand from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type { Duration } from "effect"
import { Console, Data, Effect, Fiber, Option } from "effect"
import type { ResolvedPolicy } from "./flags.js"
import { formatSeconds } from "./flags.js"
import { signalNumber, Signals } from "./signals.js"

/** @internal The command could not be started at all (not found, not executable): exit 127. */
export class SpawnError
  extends Data.TaggedError("SpawnError")<{ readonly command: string; readonly message: string }>
{}

/** @internal Writes one line to stderr. */
export const say = (line: string): Effect.Effect<void> => Console.error(line)

/** @internal How `run` stops a try when a signal arrives. */
export interface StopOptions {
  /** How long the command has to exit after the forwarded signal before SIGKILL. */
  readonly killAfter: Duration.Duration
}

/**
 * Forwards the first signal received (SIGTERM when the try is interrupted otherwise) to
 * the command's process group, waits up to `killAfter` (or a second signal) for it to
 * exit, then sends SIGKILL. Runs on its own interruptible fiber: it is called from a
 * finalizer, where a timeout could not interrupt the wait.
 */
const stop = (process: CommandExecutor.Process, options: StopOptions) =>
  Effect.gen(function*() {
    const signals = yield* Signals
    const signal = Option.getOrElse(yield* signals.received, () => "SIGTERM" as const)
    const fiber = yield* Effect.forkDaemon(Effect.interruptible(
      Effect.gen(function*() {
        if (!(yield* process.isRunning)) return
        yield* say(
          `effect-backoff: ${signal}: passed it to the command; SIGKILL in ${
            formatSeconds(options.killAfter)
          } if it has not exited`
        )
        const exited = yield* process.kill(signal).pipe(
          Effect.as(true),
          Effect.timeoutTo({ duration: options.killAfter, onSuccess: (done) => done, onTimeout: () => false }),
          Effect.raceFirst(Effect.as(signals.next, false)),
          Effect.orElseSucceed(() => false)
        )
        if (!exited && (yield* process.isRunning)) {
          yield* say("effect-backoff: the command has not exited; sending it SIGKILL")
          yield* process.kill("SIGKILL")
        }
      }).pipe(Effect.ignore)
    ))
    yield* Fiber.join(fiber)
  })

/**
 * @internal Runs the command once with the terminal's stdin, stdout and stderr, and
 * succeeds with its exit code (128 + the signal number when a signal ended it).
 * Interrupting it stops the command as `stop` says.
 */
export const runOnce = (
  file: string,
  args: ReadonlyArray<string>,
  options: StopOptions
): Effect.Effect<number, SpawnError, CommandExecutor.CommandExecutor | Signals> =>
  // uninterruptible from the spawn until the wait for the exit code begins: an interrupt
  // in between would leave the command to @effect/platform's finalizer alone, which sends
  // SIGTERM and waits for the exit with no limit
  Effect.scoped(Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const process = yield* PlatformCommand.make(file, ...args).pipe(
        PlatformCommand.stdin("inherit"),
        PlatformCommand.stdout("inherit"),
        PlatformCommand.stderr("inherit"),
        PlatformCommand.start,
        Effect.mapError((e) =>
          new SpawnError({ command: file, message: `cannot run ${file}: ${e.description ?? e.message}` })
        )
      )
      return yield* restore(process.exitCode).pipe(
        Effect.map(Number),
        // the only failure left: a signal ended the command ("... receipt of signal: SIGKILL")
        Effect.catchAll((e) => Effect.succeed(128 + signalNumber(/SIG[A-Z0-9]+/.exec(e.message)?.[0] ?? ""))),
        Effect.onInterrupt(() => stop(process, options))
      )
    })
  ))

/**
 * @internal `effect-backoff run`: retries the command while its exit code is one to retry
 * (`retryOn`, default any non-zero) with the policy; one line per backoff and give-up on
 * stderr. Succeeds with the last exit code, or 128 + the signal's number when SIGINT or
 * SIGTERM arrives (the command is stopped first).
 */
export const run = (
  policy: ResolvedPolicy,
  command: ReadonlyArray<string>,
  retryOn: Option.Option<ReadonlySet<number>>,
  options: StopOptions
): Effect.Effect<number, SpawnError, CommandExecutor.CommandExecutor | Signals> =>
  Effect.gen(function*() {
    const signals = yield* Signals
    const [file, ...args] = command as [string, ...Array<string>]
    const retryable = Option.match(retryOn, {
      onNone: () => (code: number) => code !== 0,
      onSome: (codes) => (code: number) => codes.has(code)
    })
    const tries = runOnce(file, args, options).pipe(
      Backoff.onPredicate({
        wait: policy.wait,
        jitter: policy.jitter,
        maxTries: policy.maxTries,
        maxTime: policy.maxTime ?? Infinity,
        predicate: retryable,
        logger: false,
        target: file,
        onBackoff: (d) =>
          say(`effect-backoff: try ${d.tries} exited with ${d.value}; backing off ${formatSeconds(d.wait)}`),
        onGiveup: (d) =>
          say(
            `effect-backoff: giving up after ${d.tries} ${d.tries === 1 ? "try" : "tries"} (${
              formatSeconds(d.elapsed)
            }); exit code ${d.value}`
          )
      })
    )
    // The tries run on a fiber of their own that is interrupted, and awaited, both when a
    // signal arrives and when the program is interrupted (NodeRuntime.runMain does that on
    // a signal): a race would not wait for its loser, and the program's layers (the
    // signal listeners among them) would close while a try is being stopped.
    const fiber = yield* Effect.fork(tries)
    return yield* Effect.raceFirst(
      Fiber.join(fiber),
      signals.next.pipe(
        Effect.tap(() => Fiber.interrupt(fiber)),
        Effect.map((signal) => 128 + signalNumber(signal))
      )
    ).pipe(Effect.onInterrupt(() => Fiber.interrupt(fiber)))
  })
