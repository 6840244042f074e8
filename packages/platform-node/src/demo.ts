/**
 * `pnpm demo`: a flaky HTTP server on 127.0.0.1 (in this process, on a free port) and a
 * client retrying through `NodeHttpBackoff.layer`. The server answers 503 twice, then
 * 429 with `Retry-After: 1`, then drops a connection, then 200. Every event is printed as
 * it happens, then a summary; the server is stopped and the process exits 0.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { demo } from "./internal/demo.js"

NodeRuntime.runMain(demo({ retryAfter: "1", print: (line) => console.log(line) }))
