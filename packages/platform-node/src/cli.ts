#!/usr/bin/env node
/**
 * The `effect-backoff` command: `run` retries a command, `poll` polls a URL, `plot` draws
 * a policy's waits. Exit status: the command's last exit code for `run` (128 + the
 * signal's number after SIGINT or SIGTERM); 0 or 1 for `poll`; 2 for an unknown flag or
 * a bad value (nothing is run then). The command tree is `internal/cli.ts`.
 *
 * @since 0.1.0
 */
// deep imports: the package indexes load every module, which costs seconds at start-up
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { main, teardown } from "./internal/cli.js"

NodeRuntime.runMain(main(process.argv), { disablePrettyLogger: true, teardown })
