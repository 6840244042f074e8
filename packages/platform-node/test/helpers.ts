import type { Console } from "effect"
import { Effect } from "effect"
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import * as http from "node:http"
import { createRequire } from "node:module"
import type { AddressInfo } from "node:net"
import { fileURLToPath, pathToFileURL } from "node:url"
import { format } from "node:util"
import type { Colour } from "../src/internal/cli.js"
import { main } from "../src/internal/cli.js"

/** The package's folder: the CLI runs from its sources with tsx, no build needed. */
export const packageDir = fileURLToPath(new URL("../", import.meta.url))

/**
 * tsx's loader as an absolute URL: `--import tsx` would resolve from the child's working
 * directory, which tests set to a temporary folder.
 */
const tsx = pathToFileURL(createRequire(`${packageDir}package.json`).resolve("tsx")).href

export interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Starts `effect-backoff ARGS` as a child process (`node --import tsx src/cli.ts`), stdout and stderr piped. */
export const spawnCli = (
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: Readonly<Record<string, string>> } = {}
): ChildProcess & { readonly ran: Promise<Ran>; readonly stderrSoFar: () => string } => {
  const child = spawn(process.execPath, ["--import", tsx, `${packageDir}src/cli.ts`, ...args], {
    cwd: options.cwd ?? packageDir,
    stdio: ["ignore", "pipe", "pipe"],
    // tsx maps @effect-backoff/core to its sources through the root tsconfig's paths; it
    // looks for a tsconfig from the working directory, which may be a temporary folder
    env: { ...process.env, TSX_TSCONFIG_PATH: `${packageDir}../../tsconfig.json`, ...options.env }
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk) => stdout += chunk)
  child.stderr!.on("data", (chunk) => stderr += chunk)
  const ran = new Promise<Ran>((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })
  return Object.assign(child, { ran, stderrSoFar: () => stderr })
}

/** Runs `effect-backoff ARGS` as a child process to its end. */
export const cli = (args: ReadonlyArray<string>, options: { readonly cwd?: string } = {}): Promise<Ran> =>
  spawnCli(args, options).ran

export interface Captured {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `effect-backoff ARGS` in this process, as @effect/cli's own tests run a command:
 * `main(["node", "effect-backoff", ...args])` with a Console that captures what it prints.
 * A command that `run` starts still writes to this process's stdout and stderr.
 */
export const runCli = (
  args: ReadonlyArray<string>,
  options: { readonly colour?: Colour } = {}
): Effect.Effect<Captured> =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const err: Array<string> = []
    const line = (into: Array<string>) => (...args: ReadonlyArray<unknown>) => void into.push(`${format(...args)}\n`)
    const base = yield* Effect.console
    const unsafe = Object.assign(Object.create(base.unsafe), {
      log: line(out),
      info: line(out),
      error: line(err),
      warn: line(err)
    })
    const captured: Console.Console = Object.assign(Object.create(base), {
      log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => unsafe.log(...args)),
      info: (...args: ReadonlyArray<unknown>) => Effect.sync(() => unsafe.info(...args)),
      error: (...args: ReadonlyArray<unknown>) => Effect.sync(() => unsafe.error(...args)),
      warn: (...args: ReadonlyArray<unknown>) => Effect.sync(() => unsafe.warn(...args)),
      unsafe
    })
    const code = yield* main(["node", "effect-backoff", ...args], options).pipe(Effect.withConsole(captured))
    return { code, stdout: out.join(""), stderr: err.join("") }
  })

/** Whether a process is gone: no such pid, or a zombie nobody has reaped yet. */
export const gone = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return true
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return true
  }
}

export interface TestServer {
  readonly url: string
  /** Requests served so far. */
  readonly requests: () => number
  readonly close: () => Promise<void>
}

/** A node:http server on 127.0.0.1 with an ephemeral port. */
export const startServer = (
  handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void
): Promise<TestServer> =>
  new Promise((resolve) => {
    let n = 0
    const server = http.createServer((req, res) => {
      n++
      handler(req, res, n)
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests: () => n,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })

export const reply = (
  res: http.ServerResponse,
  status: number,
  body = `status ${status}`,
  headers: Record<string, string> = {}
) => {
  res.writeHead(status, { "content-type": "text/plain", ...headers })
  res.end(body)
}
