import * as Command from "@effect/cli/Command"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { XMLParser, XMLValidator } from "fast-xml-parser"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach } from "vitest"
import { command, knownFlags, VERSION } from "../src/internal/cli.js"
import * as Signals from "../src/internal/signals.js"
import type { TestServer } from "./helpers.js"
import { reply, runCli, startServer } from "./helpers.js"

// In-process, as @effect/cli's own Command.test.ts runs a command: `main` with a Console
// that captures its output. cli.process.test.ts keeps the few end-to-end tests (signals,
// exit codes, output passing through, colour detection).

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "effect-backoff-cli-"))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

/**
 * A shell script that counts its runs in DIR/count and succeeds from run `succeedAt` on.
 * Its own output goes to DIR/out: in-process, it would land in the test runner's output.
 */
const counting = (succeedAt: number, failCode = 1) =>
  `cd ${JSON.stringify(dir)}; exec >> out 2>&1; n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; ` +
  `echo "run $n"; [ "$n" -ge ${succeedAt} ] || exit ${failCode}`

const runs = () => Number(readFileSync(join(dir, "count"), "utf8").trim())
const lines = (text: string, word: string) =>
  text.split("\n").filter((l) => l.startsWith("effect-backoff:") && l.includes(word))

describe("effect-backoff run", () => {
  it.live("retries a command that fails twice and exits 0", () =>
    Effect.gen(function*() {
      const { code, stderr } = yield* runCli([
        "run",
        "--wait",
        "constant",
        "--interval",
        "5ms",
        "--jitter",
        "none",
        "--",
        "sh",
        "-c",
        counting(3)
      ])
      expect(code).toBe(0)
      expect(runs()).toBe(3)
      expect(readFileSync(join(dir, "out"), "utf8")).toBe("run 1\nrun 2\nrun 3\n")
      expect(lines(stderr, "backing off")).toEqual([
        "effect-backoff: try 1 exited with 1; backing off 5ms",
        "effect-backoff: try 2 exited with 1; backing off 5ms"
      ])
      expect(lines(stderr, "giving up")).toEqual([])
    }))

  it.live("`false` with --max-tries 3 runs three times and exits 1", () =>
    Effect.gen(function*() {
      const { code, stderr } = yield* runCli(["run", "--max-tries", "3", "--interval", "1ms", "--", "false"])
      expect(code).toBe(1)
      expect(lines(stderr, "backing off")).toHaveLength(2)
      expect(lines(stderr, "giving up")).toHaveLength(1)
      expect(lines(stderr, "giving up")[0]).toMatch(/^effect-backoff: giving up after 3 tries \(.*\); exit code 1$/)
    }))

  it.live("exits with the command's last exit code, counting its runs", () =>
    Effect.gen(function*() {
      const { code } = yield* runCli([
        "run",
        "--max-tries",
        "3",
        "--interval",
        "1ms",
        "--",
        "sh",
        "-c",
        counting(99, 7)
      ])
      expect(code).toBe(7)
      expect(runs()).toBe(3)
    }))

  it.live("--retry-on-exit retries only the listed codes", () =>
    Effect.gen(function*() {
      const other = yield* runCli([
        "run",
        "--retry-on-exit",
        "75",
        "--interval",
        "1ms",
        "--",
        "sh",
        "-c",
        counting(99, 1)
      ])
      expect(other.code).toBe(1)
      expect(runs()).toBe(1)
      expect(lines(other.stderr, "backing off")).toEqual([])

      rmSync(join(dir, "count"))
      const listed = yield* runCli([
        "run",
        "--retry-on-exit",
        "1,75",
        "--max-tries",
        "4",
        "--interval",
        "1ms",
        "--",
        "sh",
        "-c",
        counting(2, 75)
      ])
      expect(listed.code).toBe(0)
      expect(runs()).toBe(2)
    }))

  it.live("--wait linear and decorrelated run the command with their waits", () =>
    Effect.gen(function*() {
      const linear = yield* runCli([
        "run",
        "--wait",
        "linear",
        "--interval",
        "2ms",
        "--step",
        "3ms",
        "--jitter",
        "none",
        "--max-tries",
        "3",
        "--",
        "false"
      ])
      expect(linear.code).toBe(1)
      expect(lines(linear.stderr, "backing off")).toEqual([
        "effect-backoff: try 1 exited with 1; backing off 2ms",
        "effect-backoff: try 2 exited with 1; backing off 5ms"
      ])
      const decorrelated = yield* runCli([
        "run",
        "--wait",
        "decorrelated",
        "--interval",
        "1ms",
        "--max-value",
        "5ms",
        "--max-tries",
        "4",
        "--",
        "false"
      ])
      expect(decorrelated.code).toBe(1)
      const waits = lines(decorrelated.stderr, "backing off").map((l) => Number(/backing off ([\d.]+)ms$/.exec(l)![1]))
      expect(waits).toHaveLength(3)
      // the first wait is the base; every one within [base, max-value], without jitter on top
      expect(waits[0]).toBe(1)
      expect(waits.every((ms) => ms >= 1 && ms <= 5)).toBe(true)
    }))

  it.live("a command killed by a signal counts as 128 + the signal's number", () =>
    Effect.gen(function*() {
      const { code, stderr } = yield* runCli([
        "run",
        "--max-tries",
        "2",
        "--interval",
        "1ms",
        "--",
        "sh",
        "-c",
        "kill -9 $$"
      ])
      expect(code).toBe(137)
      expect(lines(stderr, "backing off")).toEqual([expect.stringMatching(/^effect-backoff: try 1 exited with 137;/)])
    }))

  it.live("a command that cannot be started exits 127 and is not retried", () =>
    Effect.gen(function*() {
      const { code, stderr } = yield* runCli(["run", "--interval", "1ms", "--", "no-such-command-effect-backoff"])
      expect(code).toBe(127)
      expect(stderr).toContain("cannot run no-such-command-effect-backoff")
      expect(lines(stderr, "backing off")).toEqual([])
    }))

  // every flag's checks are unit-tested in flags.test.ts; these go through the whole command
  const bad: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
    [["--bogus"], "unknown flag --bogus"],
    [["--max-tries", "0"], "--max-tries must be an integer >= 1 or \"unlimited\", got \"0\""],
    [["--max-time", "60"], "--max-time must be a duration with a unit"],
    [
      ["--wait", "constant", "--max-value", "30s"],
      "--max-value applies to --wait expo, fibo, linear and decorrelated only"
    ],
    [["--retry-on-exit", "1,x"], "--retry-on-exit"],
    [["--kill-after", "soon"], "--kill-after must be a duration with a unit"],
    [["--wait", "sine"], "Expected one of the following cases: expo, fibo, constant, decay, linear, decorrelated"]
  ]
  it.live("bad flags exit 2 with a message naming the flag, and the command never runs", () =>
    Effect.gen(function*() {
      for (const [flags, message] of bad) {
        const { code, stderr } = yield* runCli([
          "run",
          ...flags,
          "--",
          "sh",
          "-c",
          `echo ran > ${JSON.stringify(dir)}/marker`
        ])
        expect(code, flags.join(" ")).toBe(2)
        expect(stderr, flags.join(" ")).toContain(message)
      }
      expect(existsSync(join(dir, "marker"))).toBe(false)
    }))

  it.live("a command's own flags before -- are refused, and so is a missing command", () =>
    Effect.gen(function*() {
      const flagged = yield* runCli(["run", "ls", "-la"])
      expect(flagged.code).toBe(2)
      expect(flagged.stderr).toContain("unknown flag -la (a command's own flags go after --")
      const missing = yield* runCli(["run", "--max-tries", "2"])
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain("no command given")
    }))

  it.live("flags given as --flag=value, and flags after --, are the command's business", () =>
    Effect.gen(function*() {
      const { code, stderr } = yield* runCli([
        "run",
        "--max-tries=2",
        "--interval=1ms",
        "--",
        "sh",
        "-c",
        `echo "$1" > ${JSON.stringify(dir)}/arg; exit 3`,
        "sh",
        "--bogus"
      ])
      expect(code).toBe(3)
      expect(lines(stderr, "giving up")[0]).toContain("giving up after 2 tries")
      expect(readFileSync(join(dir, "arg"), "utf8")).toBe("--bogus\n")
    }))
})

describe("effect-backoff poll", () => {
  let server: TestServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  it.live("polls until 2xx, honouring Retry-After, prints the body with a final newline and exits 0", () =>
    Effect.gen(function*() {
      const s = server = yield* Effect.promise(() =>
        startServer((_req, res, n) =>
          n === 1
            ? reply(res, 503)
            : n === 2
            ? reply(res, 429, "slow down", { "Retry-After": "60" })
            : reply(res, 200, "ready")
        )
      )
      const { code, stdout, stderr } = yield* runCli([
        "poll",
        `${s.url}/job`,
        "--wait",
        "constant",
        "--interval",
        "1ms",
        "--jitter",
        "none",
        "--max-retry-after",
        "50ms" // Retry-After: 60 raises the 1ms wait to this cap
      ])
      expect(code).toBe(0)
      expect(stdout).toBe("ready\n")
      expect(s.requests()).toBe(3)
      expect(lines(stderr, "backing off")).toEqual([
        "effect-backoff: try 1: HTTP 503; backing off 1ms",
        "effect-backoff: try 2: HTTP 429; backing off 50ms"
      ])
    }))

  it.live("a body that ends with a newline keeps just that one", () =>
    Effect.gen(function*() {
      const s = server = yield* Effect.promise(() => startServer((_req, res) => reply(res, 200, "{\"ok\":true}\n")))
      const { code, stdout } = yield* runCli(["poll", s.url])
      expect(code).toBe(0)
      expect(stdout).toBe("{\"ok\":true}\n")
    }))

  it.live("--until-status waits for that status; giving up exits 1", () =>
    Effect.gen(function*() {
      const s = server = yield* Effect.promise(() => startServer((_req, res) => reply(res, 200, "not yet")))
      const { code, stdout, stderr } = yield* runCli([
        "poll",
        s.url,
        "--until-status",
        "201",
        "--max-tries",
        "3",
        "--interval",
        "1ms"
      ])
      expect(code).toBe(1)
      expect(stdout).toBe("")
      expect(s.requests()).toBe(3)
      expect(lines(stderr, "giving up")).toHaveLength(1)
      expect(lines(stderr, "giving up")[0]).toContain("HTTP 200")
    }))

  it.live("retries a dropped connection", () =>
    Effect.gen(function*() {
      const s = server = yield* Effect.promise(() =>
        startServer((req, res, n) => n === 1 ? req.socket.destroy() : reply(res, 204, ""))
      )
      const { code, stderr } = yield* runCli(["poll", s.url, "--interval", "1ms"])
      expect(code).toBe(0)
      expect(s.requests()).toBe(2)
      expect(lines(stderr, "backing off")).toHaveLength(1)
    }))

  it.live("--timeout covers the body: a 200 whose body stalls is a timed-out try, retried", () =>
    Effect.gen(function*() {
      // try 1: the headers and one byte of a 100-byte body, then silence; try 2: the body
      const s = server = yield* Effect.promise(() =>
        startServer((_req, res, n) => {
          if (n > 1) return reply(res, 200, "ready")
          res.writeHead(200, { "content-type": "text/plain", "content-length": "100" })
          res.write("r")
        })
      )
      const started = Date.now()
      const { code, stdout, stderr } = yield* runCli([
        "poll",
        s.url,
        "--timeout",
        "300ms",
        "--interval",
        "1ms",
        "--jitter",
        "none"
      ])
      const took = Date.now() - started
      expect(code).toBe(0)
      expect(stdout).toBe("ready\n")
      expect(s.requests()).toBe(2)
      expect(lines(stderr, "backing off")).toEqual(["effect-backoff: try 1: timed out; backing off 1ms"])
      expect(took).toBeGreaterThanOrEqual(290)
      expect(took).toBeLessThan(5000)
    }))

  it.live("a body that always stalls gives up within the tries' timeouts", () =>
    Effect.gen(function*() {
      const s = server = yield* Effect.promise(() =>
        startServer((_req, res) => {
          res.writeHead(200, { "content-type": "text/plain", "content-length": "100" })
          res.write("r")
        })
      )
      const started = Date.now()
      const { code, stdout, stderr } = yield* runCli([
        "poll",
        s.url,
        "--timeout",
        "200ms",
        "--max-tries",
        "2",
        "--interval",
        "1ms"
      ])
      const took = Date.now() - started
      expect(code).toBe(1)
      expect(stdout).toBe("")
      expect(s.requests()).toBe(2)
      expect(lines(stderr, "giving up")).toEqual([
        expect.stringMatching(/^effect-backoff: giving up after 2 tries \(.*\): timed out$/)
      ])
      expect(took).toBeLessThan(4000)
    }))

  it.live("a bad URL or --until-status exits 2 before any request", () =>
    Effect.gen(function*() {
      const s = server = yield* Effect.promise(() => startServer((_req, res) => reply(res, 200)))
      const url = yield* runCli(["poll", "ftp://127.0.0.1/"])
      const status = yield* runCli(["poll", s.url, "--until-status", "2yy"])
      expect(url.code).toBe(2)
      expect(url.stderr).toContain("URL must be an http:// or https:// URL")
      expect(status.code).toBe(2)
      expect(status.stderr).toContain("--until-status")
      expect(s.requests()).toBe(0)
    }))
})

describe("effect-backoff plot", () => {
  const rowsOf = (stdout: string) => stdout.split("\n").filter((l) => /^\s+\d+\s+\S+\s+\S+–\S+\s+│/.test(l))

  it.live("draws one row per wait and writes the same chart as a well-formed SVG", () =>
    Effect.gen(function*() {
      const svgFile = join(dir, "plot.svg")
      const { code, stdout } = yield* runCli([
        "plot",
        "--wait",
        "expo",
        "--max-value",
        "8s",
        "--tries",
        "6",
        "--samples",
        "50",
        "--svg",
        svgFile
      ])
      expect(code).toBe(0)
      const rows = rowsOf(stdout)
      expect(rows.map((l) => l.trim().split(/\s+/).slice(0, 2))).toEqual([
        ["1", "1s"],
        ["2", "2s"],
        ["3", "4s"],
        ["4", "8s"],
        ["5", "8s"],
        ["6", "8s"]
      ])
      // full jitter: every band lies within [0, wait], the marker at the wait
      expect(rows.every((l) => l.includes("●"))).toBe(true)

      const svg = readFileSync(svgFile, "utf8")
      expect(XMLValidator.validate(svg)).toBe(true)
      const doc = new XMLParser({ ignoreAttributes: false }).parse(svg)
      expect(doc.svg["@_xmlns"]).toBe("http://www.w3.org/2000/svg")
      const points = String(doc.svg.polyline["@_points"]).split(" ")
      expect(points).toHaveLength(6)
      // the un-jittered line: y falls (waits grow) then stays flat at the cap
      const ys = points.map((p) => Number(p.split(",")[1]))
      expect(ys[0]).toBeGreaterThan(ys[3]!)
      expect(new Set(ys.slice(3)).size).toBe(1)
      // 6 tries × 50 samples as dots, plus 6 markers on the line
      const circles = (doc.svg.g as Array<{ circle: Array<unknown> }>).map((g) => g.circle.length)
      expect(circles).toEqual([300, 6])
    }))

  it.live("draws linear and decorrelated waits", () =>
    Effect.gen(function*() {
      const linear = yield* runCli([
        "plot",
        "--wait",
        "linear",
        "--interval",
        "1s",
        "--step",
        "2s",
        "--max-value",
        "6s",
        "--tries",
        "5",
        "--samples",
        "5"
      ])
      expect(linear.code).toBe(0)
      expect(rowsOf(linear.stdout).map((l) => l.trim().split(/\s+/)[1])).toEqual(["1s", "3s", "5s", "6s", "6s"])
      const decorrelated = yield* runCli([
        "plot",
        "--wait",
        "decorrelated",
        "--max-value",
        "20s",
        "--tries",
        "4",
        "--samples",
        "5"
      ])
      expect(decorrelated.code).toBe(0)
      expect(decorrelated.stdout).toContain("--wait decorrelated --interval 1s --max-value 20s --jitter none")
      expect(rowsOf(decorrelated.stdout)).toHaveLength(4)
    }))

  it.live("is reproducible: the same seed gives the same chart, another seed another band", () =>
    Effect.gen(function*() {
      const args = ["plot", "--wait", "fibo", "--tries", "5", "--samples", "20"]
      const a = yield* runCli(args)
      const b = yield* runCli(args)
      const c = yield* runCli([...args, "--seed", "7"])
      expect(a.code).toBe(0)
      expect(b.stdout).toBe(a.stdout)
      expect(c.stdout).not.toBe(a.stdout)
    }))

  it.live("bad plot flags exit 2 naming the flag; an unwritable --svg exits 1", () =>
    Effect.gen(function*() {
      const tries = yield* runCli(["plot", "--tries", "0"])
      const samples = yield* runCli(["plot", "--samples", "many"])
      const svg = yield* runCli(["plot", "--svg", join(dir, "missing", "dir", "plot.svg")])
      expect(tries.code).toBe(2)
      expect(tries.stderr).toContain("--tries must be an integer from 1 to 1000, got \"0\"")
      expect(samples.code).toBe(2)
      // @effect/cli's own message for a value that is not an integer
      expect(samples.stderr).toContain("'many' is not a integer")
      expect(svg.code).toBe(1) // an I/O error, not a bad flag
      expect(svg.stderr).toContain("effect-backoff plot: cannot write the SVG to")
    }))
})

describe("effect-backoff", () => {
  it.live("an unknown subcommand exits 2; --help exits 0 and documents every flag", () =>
    Effect.gen(function*() {
      const unknown = yield* runCli(["retry"])
      const help = yield* runCli(["run", "--help"])
      expect(unknown.code).toBe(2)
      expect(help.code).toBe(0)
      for (
        const flag of [
          "--wait",
          "--max-tries",
          "--max-time",
          "--max-value",
          "--interval",
          "--jitter",
          "--retry-on-exit",
          "--kill-after",
          "--step",
          "--base",
          "--decay-factor",
          "--min-value"
        ]
      ) {
        expect(help.stdout).toContain(flag)
      }
      expect(help.stdout).toContain("expo | fibo | constant | decay | linear | decorrelated")
    }))

  it.live("help has colour codes only on a stream that gets colour", () =>
    Effect.gen(function*() {
      const plain = yield* runCli(["run", "--help"], { colour: { stdout: false, stderr: false } })
      const coloured = yield* runCli(["run", "--help"], { colour: { stdout: true, stderr: true } })
      expect(coloured.stdout).toContain("\x1b[")
      expect(plain.stdout).not.toContain("\x1b[")
      expect(plain.stdout).toContain("--wait")
    }))

  it.live("the known flags are read from the command tree, built-ins included", () =>
    Effect.gen(function*() {
      const run = knownFlags.get("run")!
      const poll = knownFlags.get("poll")!
      expect([run.get("--kill-after"), run.get("--wait"), run.get("--help"), run.get("-h"), run.get("--completions")])
        .toEqual(
          [true, true, false, false, true]
        )
      expect(poll.has("--kill-after")).toBe(false)
      expect(poll.get("--timeout")).toBe(true)
      const refused = yield* runCli(["poll", "--kill-after", "1s", "http://127.0.0.1:9/"])
      expect(refused.code).toBe(2)
      expect(refused.stderr).toBe("effect-backoff poll: unknown flag --kill-after\n")
    }))

  it.live("the command tree is a value: another app can run it", () =>
    Effect.gen(function*() {
      const printed: Array<string> = []
      const base = yield* Effect.console
      const console = Object.assign(Object.create(base), {
        log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void printed.push(args.join(" ")))
      })
      yield* Command.run(command, { name: "other", version: "9.9.9" })(["node", "other", "--version"]).pipe(
        Effect.withConsole(console),
        Effect.provide([NodeContext.layer, Signals.layer])
      )
      expect(printed.map((l) => l.trim())).toEqual(["9.9.9"])
    }))

  it.live("--version prints the package's version", () =>
    Effect.gen(function*() {
      const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
      const { code, stdout } = yield* runCli(["--version"])
      expect(code).toBe(0)
      expect(VERSION).toBe(pkg.version)
      expect(stdout.trim()).toBe(pkg.version)
    }))
})
