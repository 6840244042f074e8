import { spawn } from "node:child_process"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"

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

/** Runs `effect-backoff ARGS` as a child process (`node --import tsx src/cli.ts`). */
export const cli = (args: ReadonlyArray<string>, options: { readonly cwd?: string } = {}): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", tsx, `${packageDir}src/cli.ts`, ...args], {
      cwd: options.cwd ?? packageDir,
      stdio: ["ignore", "pipe", "pipe"],
      // tsx maps @effect-backoff/core to its sources through the root tsconfig's paths; it
      // looks for a tsconfig from the working directory, which may be a temporary folder
      env: { ...process.env, NO_COLOR: "1", TSX_TSCONFIG_PATH: `${packageDir}../../tsconfig.json` }
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => stdout += chunk)
    child.stderr.on("data", (chunk) => stderr += chunk)
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

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

export const reply = (res: http.ServerResponse, status: number, body = `status ${status}`, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "text/plain", ...headers })
  res.end(body)
}
