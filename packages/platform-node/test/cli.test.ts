import { XMLParser, XMLValidator } from "fast-xml-parser"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { TestServer } from "./helpers.js"
import { cli, reply, startServer } from "./helpers.js"

// each test starts `node --import tsx src/cli.ts`: a second or more on a busy machine
const SLOW = 60_000

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "effect-backoff-cli-"))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** A shell script that counts its runs in ./count and succeeds from run `succeedAt` on. */
const counting = (succeedAt: number, failCode = 1) =>
  `n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo "run $n"; echo "oops $n" >&2; ` +
  `[ "$n" -ge ${succeedAt} ] || exit ${failCode}`

const runs = () => Number(readFileSync(join(dir, "count"), "utf8").trim())
const lines = (text: string, word: string) => text.split("\n").filter((l) => l.startsWith("effect-backoff:") && l.includes(word))

describe("effect-backoff run", () => {
  it("retries a command that fails twice, passes its output through and exits 0", async () => {
    const { code, stdout, stderr } = await cli(
      ["run", "--wait", "constant", "--interval", "5ms", "--jitter", "none", "--", "sh", "-c", counting(3)],
      { cwd: dir }
    )
    expect(code).toBe(0)
    expect(runs()).toBe(3)
    expect(stdout).toBe("run 1\nrun 2\nrun 3\n")
    expect(stderr).toContain("oops 1\n")
    expect(stderr).toContain("oops 3\n")
    expect(lines(stderr, "backing off")).toEqual([
      "effect-backoff: try 1 exited with 1; backing off 5ms",
      "effect-backoff: try 2 exited with 1; backing off 5ms"
    ])
    expect(lines(stderr, "giving up")).toEqual([])
  }, SLOW)

  it("`false` with --max-tries 3 runs three times and exits 1", async () => {
    const { code, stderr } = await cli(["run", "--max-tries", "3", "--interval", "1ms", "--", "false"])
    expect(code).toBe(1)
    expect(lines(stderr, "backing off")).toHaveLength(2)
    expect(lines(stderr, "giving up")).toHaveLength(1)
    expect(lines(stderr, "giving up")[0]).toMatch(/^effect-backoff: giving up after 3 tries \(.*\); exit code 1$/)
  }, SLOW)

  it("exits with the command's last exit code, counting its runs", async () => {
    const { code } = await cli(["run", "--max-tries", "3", "--interval", "1ms", "--", "sh", "-c", counting(99, 7)], { cwd: dir })
    expect(code).toBe(7)
    expect(runs()).toBe(3)
  }, SLOW)

  it("--retry-on-exit retries only the listed codes", async () => {
    const other = await cli(["run", "--retry-on-exit", "75", "--interval", "1ms", "--", "sh", "-c", counting(99, 1)], { cwd: dir })
    expect(other.code).toBe(1)
    expect(runs()).toBe(1)
    expect(lines(other.stderr, "backing off")).toEqual([])

    rmSync(join(dir, "count"))
    const listed = await cli(
      ["run", "--retry-on-exit", "1,75", "--max-tries", "4", "--interval", "1ms", "--", "sh", "-c", counting(2, 75)],
      { cwd: dir }
    )
    expect(listed.code).toBe(0)
    expect(runs()).toBe(2)
  }, SLOW)

  it("a command that cannot be started exits 127 and is not retried", async () => {
    const { code, stderr } = await cli(["run", "--interval", "1ms", "--", "no-such-command-effect-backoff"])
    expect(code).toBe(127)
    expect(stderr).toContain("cannot run no-such-command-effect-backoff")
    expect(lines(stderr, "backing off")).toEqual([])
  }, SLOW)

  // every flag's checks are unit-tested in flags.test.ts; these go through the process
  const bad: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
    [["--bogus"], "unknown flag --bogus"],
    [["--max-tries", "0"], "--max-tries must be an integer >= 1 or \"unlimited\", got \"0\""],
    [["--max-time", "60"], "--max-time must be a duration with a unit"],
    [["--wait", "constant", "--max-value", "30s"], "--max-value applies to --wait expo and fibo only"],
    [["--retry-on-exit", "1,x"], "--retry-on-exit"]
  ]
  it("bad flags exit 2 with a message naming the flag, and the command never runs", async () => {
    const results = await Promise.all(
      bad.map(([flags]) => cli(["run", ...flags, "--", "sh", "-c", "echo ran > marker"], { cwd: dir }))
    )
    results.forEach(({ code, stderr }, i) => {
      expect(code, bad[i]![0].join(" ")).toBe(2)
      expect(stderr, bad[i]![0].join(" ")).toContain(bad[i]![1])
    })
    expect(existsSync(join(dir, "marker"))).toBe(false)
  }, SLOW * 2)

  it("a command's own flags before -- are refused, and so is a missing command", async () => {
    const [flagged, missing] = await Promise.all([
      cli(["run", "ls", "-la"], { cwd: dir }),
      cli(["run", "--max-tries", "2"], { cwd: dir })
    ])
    expect(flagged.code).toBe(2)
    expect(flagged.stderr).toContain("unknown flag -la (a command's own flags go after --")
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("no command given")
  }, SLOW)
})

describe("effect-backoff poll", () => {
  let server: TestServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  it("polls until 2xx, honouring Retry-After, prints the body and exits 0", async () => {
    server = await startServer((_req, res, n) =>
      n === 1
        ? reply(res, 503)
        : n === 2
        ? reply(res, 429, "slow down", { "Retry-After": "60" })
        : reply(res, 200, "ready")
    )
    const { code, stdout, stderr } = await cli([
      "poll",
      `${server.url}/job`,
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
    expect(stdout).toBe("ready")
    expect(server.requests()).toBe(3)
    expect(lines(stderr, "backing off")).toEqual([
      "effect-backoff: try 1: HTTP 503; backing off 1ms",
      "effect-backoff: try 2: HTTP 429; backing off 50ms"
    ])
  }, SLOW)

  it("--until-status waits for that status; giving up exits 1", async () => {
    server = await startServer((_req, res) => reply(res, 200, "not yet"))
    const { code, stdout, stderr } = await cli([
      "poll",
      server.url,
      "--until-status",
      "201",
      "--max-tries",
      "3",
      "--interval",
      "1ms"
    ])
    expect(code).toBe(1)
    expect(stdout).toBe("")
    expect(server.requests()).toBe(3)
    expect(lines(stderr, "giving up")).toHaveLength(1)
    expect(lines(stderr, "giving up")[0]).toContain("HTTP 200")
  }, SLOW)

  it("retries a dropped connection", async () => {
    server = await startServer((req, res, n) => n === 1 ? req.socket.destroy() : reply(res, 204, ""))
    const { code, stderr } = await cli(["poll", server.url, "--interval", "1ms"])
    expect(code).toBe(0)
    expect(server.requests()).toBe(2)
    expect(lines(stderr, "backing off")).toHaveLength(1)
  }, SLOW)

  it("a bad URL or --until-status exits 2 before any request", async () => {
    server = await startServer((_req, res) => reply(res, 200))
    const [url, status] = await Promise.all([
      cli(["poll", "ftp://127.0.0.1/"]),
      cli(["poll", server.url, "--until-status", "2yy"])
    ])
    expect(url.code).toBe(2)
    expect(url.stderr).toContain("URL must be an http:// or https:// URL")
    expect(status.code).toBe(2)
    expect(status.stderr).toContain("--until-status")
    expect(server.requests()).toBe(0)
  }, SLOW)
})

describe("effect-backoff plot", () => {
  it("draws one row per wait and writes the same chart as a well-formed SVG", async () => {
    const svgFile = join(dir, "plot.svg")
    const { code, stdout } = await cli([
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
    const rows = stdout.split("\n").filter((l) => /^\s+\d+\s+\S+\s+\S+–\S+\s+│/.test(l))
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
  }, SLOW)

  it("is reproducible: the same seed gives the same chart, another seed another band", async () => {
    const args = ["plot", "--wait", "fibo", "--tries", "5", "--samples", "20"]
    const [a, b, c] = await Promise.all([cli(args), cli(args), cli([...args, "--seed", "7"])])
    expect(a.code).toBe(0)
    expect(b.stdout).toBe(a.stdout)
    expect(c.stdout).not.toBe(a.stdout)
  }, SLOW)

  it("bad plot flags exit 2 naming the flag; an unwritable --svg too", async () => {
    const [tries, samples, svg] = await Promise.all([
      cli(["plot", "--tries", "0"]),
      cli(["plot", "--samples", "many"]),
      cli(["plot", "--svg", join(dir, "missing", "dir", "plot.svg")])
    ])
    expect(tries.code).toBe(2)
    expect(tries.stderr).toContain("--tries must be an integer from 1 to 1000, got \"0\"")
    expect(samples.code).toBe(2)
    expect(samples.stderr).toContain("--samples")
    expect(svg.code).toBe(2)
    expect(svg.stderr).toContain("--svg: cannot write")
  }, SLOW)
})

describe("effect-backoff", () => {
  it("an unknown subcommand exits 2; --help exits 0 and documents every flag", async () => {
    const [unknown, help] = await Promise.all([cli(["retry"]), cli(["run", "--help"])])
    expect(unknown.code).toBe(2)
    expect(help.code).toBe(0)
    for (const flag of ["--wait", "--max-tries", "--max-time", "--max-value", "--interval", "--jitter", "--retry-on-exit"]) {
      expect(help.stdout).toContain(flag)
    }
  }, SLOW)
})
