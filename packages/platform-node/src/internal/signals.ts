import { Context, Effect, Layer, Option, Queue, Ref } from "effect"
import { constants } from "node:os"

/** @internal The signals that stop the command. */
export type Stop = "SIGINT" | "SIGTERM"

/** @internal A signal's number (`SIGINT` 2, `SIGTERM` 15); 0 for an unknown name. */
export const signalNumber = (signal: string): number =>
  (constants.signals as Readonly<Record<string, number>>)[signal] ?? 0

let first: Stop | undefined

/**
 * @internal The first SIGINT or SIGTERM this process caught. The bin's teardown reads it:
 * `NodeRuntime.runMain` interrupts the program on a signal without saying which one.
 */
export const caught = (): Stop | undefined => first

/**
 * @internal SIGINT and SIGTERM, caught while the program runs (so they do not end the
 * process at once): `next` waits for the next one, `received` is the first one.
 */
export class Signals extends Context.Tag("effect-backoff/Signals")<Signals, {
  readonly next: Effect.Effect<Stop>
  readonly received: Effect.Effect<Option.Option<Stop>>
}>() {}

/** @internal Listens to the process's SIGINT and SIGTERM for the layer's lifetime. */
export const layer: Layer.Layer<Signals> = Layer.scoped(
  Signals,
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Stop>()
    const received = yield* Ref.make(Option.none<Stop>())
    const on = (signal: Stop) => {
      first ??= signal
      Effect.runSync(Ref.update(received, Option.orElse(() => Option.some(signal))))
      Queue.unsafeOffer(queue, signal)
    }
    const onInt = () => on("SIGINT")
    const onTerm = () => on("SIGTERM")
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        process.on("SIGINT", onInt)
        process.on("SIGTERM", onTerm)
      }),
      () =>
        Effect.sync(() => {
          process.removeListener("SIGINT", onInt)
          process.removeListener("SIGTERM", onTerm)
        })
    )
    return { next: Queue.take(queue), received: Ref.get(received) }
  })
)
