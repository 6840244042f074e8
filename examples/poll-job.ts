/**
 * Polling a job with `onPredicate`: call `getJob` again while the job is still queued or
 * running, with Fibonacci waits capped at 40 ms, and stop after 6 polls. When the policy
 * gives up, `onPredicate` returns the last value (no error): the caller decides what a
 * job that is still running means.
 *
 * Run: npx tsx examples/poll-job.ts
 */
import { Backoff, Wait } from "@effect-backoff/core"
import { Console, Duration, Effect } from "effect"

interface Job {
  readonly id: string
  readonly state: "queued" | "running" | "done"
  readonly progress: number
}

// A fake job service: each poll moves a job on by `speed` percent.
const speeds: Record<string, number> = { "report-1": 40, "export-2": 10 }
const progress = new Map<string, number>()

const getJob = (id: string): Effect.Effect<Job> =>
  Effect.sync(() => {
    const previous = progress.get(id)
    const now = previous === undefined ? 0 : Math.min(100, previous + (speeds[id] ?? 100))
    progress.set(id, now)
    return { id, state: previous === undefined ? "queued" : now < 100 ? "running" : "done", progress: now }
  })

// The policy, applied to the function: `pollJob` has `getJob`'s parameters, and the
// predicate and the handlers see `Job` values without annotations.
const pollJob = Backoff.onPredicate(getJob, {
  predicate: (job) => job.state !== "done",
  wait: Wait.fibo({ unit: "5 millis", maxValue: "40 millis" }),
  jitter: null,
  maxTries: 6,
  logger: false,
  onBackoff: (d) =>
    Console.log(
      `  ${d.value?.id} poll ${d.tries}: ${d.value?.state} ${d.value?.progress}%, next in ${Duration.format(d.wait)}`
    ),
  onGiveup: (d) => Console.log(`  ${d.value?.id}: still ${d.value?.state} after ${d.tries} polls, giving up`)
})

const program = Effect.gen(function*() {
  for (const id of ["report-1", "export-2"]) {
    const job = yield* pollJob(id)
    yield* Console.log(job.state === "done" ? `${id}: done` : `${id}: not done (${job.progress}%), check again later`)
  }
})

Effect.runPromise(program)
