import { Backoff } from "@effect-backoff/core"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { constants } from "node:os"
import type { Policy } from "./flags.js"
import { formatSeconds } from "./flags.js"

/** @internal The command could not be started at all (not found, not executable). */
export class SpawnError extends Error {
  constructor(readonly command: string, readonly reason: unknown) {
    super(`cannot run ${command}: ${reason instanceof Error ? reason.message : String(reason)}`)
    this.name = "SpawnError"
  }
}

/**
 * @internal Runs the command once with the terminal's stdin, stdout and stderr, and
 * succeeds with its exit code (128 + the signal number when a signal ended it).
 * Interrupting kills it.
 */
export const runOnce = (command: string, args: ReadonlyArray<string>): Effect.Effect<number, SpawnError> =>
  Effect.async<number, SpawnError>((resume) => {
    let done = false
    const child = spawn(command, args, { stdio: "inherit" })
    child.once("error", (error) => {
      if (done) return
      done = true
      resume(Effect.fail(new SpawnError(command, error)))
    })
    child.once("exit", (code, signal) => {
      if (done) return
      done = true
      const signalNumber = signal === null ? 0 : (constants.signals as Record<string, number>)[signal] ?? 0
      resume(Effect.succeed(code ?? 128 + signalNumber))
    })
    return Effect.sync(() => {
      if (!done) child.kill("SIGTERM")
    })
  })

/** @internal Writes one line to stderr. */
export const say = (line: string): Effect.Effect<void> => Effect.sync(() => void process.stderr.write(`${line}\n`))

/**
 * @internal `effect-backoff run`: retries the command while its exit code is one to retry
 * (`retryOn`, default any non-zero) with the policy; one line per backoff and give-up on
 * stderr. Succeeds with the last exit code.
 */
export const run = (
  policy: Policy,
  command: ReadonlyArray<string>,
  retryOn: ReadonlySet<number> | undefined
): Effect.Effect<number, SpawnError> => {
  const [file, ...args] = command as [string, ...Array<string>]
  const retryable = (code: number) => retryOn === undefined ? code !== 0 : retryOn.has(code)
  return runOnce(file, args).pipe(
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
        say(`effect-backoff: giving up after ${d.tries} ${d.tries === 1 ? "try" : "tries"} (${formatSeconds(d.elapsed)}); exit code ${d.value}`)
    })
  )
}
