import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it, onTestFinished } from "vitest"
import { cli, gone, spawnCli } from "./helpers.js"

// End to end: `node --import tsx src/cli.ts` as a child process, for what only a real
// process shows (signals, exit statuses through NodeRuntime.runMain, output passing
// through, colour detection). Everything else runs in-process in cli.test.ts. They run
// one at a time: on a busy machine, processes starting together slow each other down.
const SLOW = 90_000

/** A temporary folder for this test, removed when it ends. */
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "effect-backoff-cli-"))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const lines = (text: string, word: string) =>
  text.split("\n").filter((l) => l.startsWith("effect-backoff:") && l.includes(word))

/** Waits until `ready()` holds, checking every 20 ms, for at most `ms`. */
const until = async (ready: () => boolean, what: string, ms = 60_000) => {
  const deadline = Date.now() + ms
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Waits until the child has written `file`, and reads it. */
const appears = async (file: string) => {
  await until(() => existsSync(file) && readFileSync(file, "utf8").trim() !== "", `${file} to appear`)
  return readFileSync(file, "utf8").trim()
}

describe("effect-backoff run, as a process", () => {
  it("passes the command's output through, retries and exits 0", async () => {
    const dir = tempDir()
    const script =
      `n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo "run $n"; echo "oops $n" >&2; ` +
      `[ "$n" -ge 3 ] || exit 1`
    const { code, stdout, stderr } = await cli(
      ["run", "--wait", "constant", "--interval", "5ms", "--jitter", "none", "--", "sh", "-c", script],
      { cwd: dir }
    )
    expect(code).toBe(0)
    expect(stdout).toBe("run 1\nrun 2\nrun 3\n")
    expect(stderr).toContain("oops 1\n")
    expect(stderr).toContain("oops 3\n")
    expect(lines(stderr, "backing off")).toEqual([
      "effect-backoff: try 1 exited with 1; backing off 5ms",
      "effect-backoff: try 2 exited with 1; backing off 5ms"
    ])
  }, SLOW)

  it("SIGTERM: a command that ignores it gets SIGKILL after --kill-after; exit 143", async () => {
    const dir = tempDir()
    const pidFile = join(dir, "pid")
    const child = spawnCli([
      "run",
      "--kill-after",
      "300ms",
      "--",
      "sh",
      "-c",
      `trap '' TERM; echo $$ > ${JSON.stringify(pidFile)}; while :; do sleep 0.05; done`
    ])
    const pid = Number(await appears(pidFile))
    const sent = Date.now()
    child.kill("SIGTERM")
    const { code, stderr } = await child.ran
    const took = Date.now() - sent
    expect(code).toBe(143)
    expect(gone(pid)).toBe(true)
    expect(took).toBeGreaterThanOrEqual(280)
    expect(took).toBeLessThan(10_000)
    expect(stderr).toContain("effect-backoff: SIGTERM: passed it to the command; SIGKILL in 300ms if it has not exited")
    expect(stderr).toContain("effect-backoff: the command has not exited; sending it SIGKILL")
    expect(lines(stderr, "backing off")).toEqual([])
  }, SLOW)

  it("a second signal during the grace period sends SIGKILL at once", async () => {
    const dir = tempDir()
    const pidFile = join(dir, "pid")
    const child = spawnCli([
      "run",
      "--kill-after",
      "30s",
      "--",
      "sh",
      "-c",
      `trap '' TERM; echo $$ > ${JSON.stringify(pidFile)}; while :; do sleep 0.05; done`
    ])
    const pid = Number(await appears(pidFile))
    const sent = Date.now()
    child.kill("SIGTERM")
    await until(() => child.stderrSoFar().includes("passed it to the command"), "the signal to be passed on")
    child.kill("SIGTERM")
    const { code, stderr } = await child.ran
    expect(code).toBe(143)
    // well before the 30 s grace
    expect(Date.now() - sent).toBeLessThan(15_000)
    expect(gone(pid)).toBe(true)
    expect(stderr).toContain("effect-backoff: the command has not exited; sending it SIGKILL")
  }, SLOW)

  it("SIGINT is passed to the command as SIGINT; exit 130 once it has exited, not retried", async () => {
    const dir = tempDir()
    const pidFile = join(dir, "pid")
    const got = join(dir, "got")
    const child = spawnCli([
      "run",
      "--kill-after",
      "20s",
      "--",
      "sh",
      "-c",
      `trap 'echo INT > ${JSON.stringify(got)}; exit 7' INT; echo $$ > ${
        JSON.stringify(pidFile)
      }; while :; do sleep 0.05; done`
    ])
    const pid = Number(await appears(pidFile))
    const sent = Date.now()
    child.kill("SIGINT")
    const { code, stderr } = await child.ran
    expect(code).toBe(130)
    // well before the 20 s grace: the command exited on the signal
    expect(Date.now() - sent).toBeLessThan(10_000)
    expect(readFileSync(got, "utf8")).toBe("INT\n")
    expect(gone(pid)).toBe(true)
    expect(lines(stderr, "SIGKILL")).toEqual([
      "effect-backoff: SIGINT: passed it to the command; SIGKILL in 20s if it has not exited"
    ])
    expect(lines(stderr, "backing off")).toEqual([])
  }, SLOW)

  it("a signal during a backoff ends the run at once: exit 143, no more tries", async () => {
    const dir = tempDir()
    const count = join(dir, "count")
    const child = spawnCli([
      "run",
      "--wait",
      "constant",
      "--interval",
      "1h",
      "--",
      "sh",
      "-c",
      `echo 1 >> ${JSON.stringify(count)}; exit 1`
    ])
    // the first try has failed and the hour-long wait begun once its line is out
    await until(() => child.stderrSoFar().includes("backing off"), "the first backoff")
    const sent = Date.now()
    child.kill("SIGTERM")
    const { code, stderr } = await child.ran
    expect(code).toBe(143)
    expect(Date.now() - sent).toBeLessThan(10_000)
    expect(readFileSync(count, "utf8")).toBe("1\n")
    // no command was running: nothing to pass the signal to
    expect(lines(stderr, "SIGKILL")).toEqual([])
  }, SLOW)
})

describe("effect-backoff, as a process", () => {
  it("bad input exits 2 through the process's exit status; help on a pipe has no colour codes", async () => {
    const [bad, help] = await Promise.all([cli(["run", "--max-tries", "three", "--", "true"]), cli(["run", "--help"])])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain(
      "effect-backoff run: --max-tries must be an integer >= 1 or \"unlimited\", got \"three\""
    )
    expect(help.code).toBe(0)
    expect(help.stdout).toContain("--wait")
    expect(help.stdout).not.toContain("\x1b[")
  }, SLOW)
})
