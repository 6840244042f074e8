/**
 * @internal The check that the installed `effect` is on the Effect 3 line, run when the
 * package is imported.
 *
 * Every public module imports this module first, so it is evaluated before any of ours.
 * It can only run if linking succeeds: ESM named imports are resolved before any code
 * runs, so a named import of a module Effect 4 removed (`ScheduleDecision`,
 * `MetricBoundaries`, ...) would fail with "does not provide an export named" before this
 * check could say anything. Our modules therefore reach those modules through a namespace
 * import of `effect` (`effect.ScheduleDecision`), which always links; the member access
 * is static, so bundlers still tree-shake it. (This file is listed in the package's
 * `sideEffects`, so a bundler keeps it.)
 */
import * as effect from "effect"

/** @internal The peer ranges the packages need, as the README's install command pins them. */
export const required = "effect@^3.22 @effect/platform@^0.97 @effect/platform-node@^0.108"

/**
 * @internal The one sentence a wrong `effect` major gets, or undefined when `version` (the
 * installed effect's, undefined when it has no `ModuleVersion`: Effect 4 or later) is fine.
 */
export const problem = (version: string | undefined): string | undefined => {
  if (version !== undefined && /^3\./.test(version)) return undefined
  const found = version === undefined ? "an effect without ModuleVersion (Effect 4 or later)" : `effect ${version}`
  return `@effect-backoff/core needs effect ^3.22 (the Effect 3 line, with @effect/platform ^0.97 and ` +
    `@effect/platform-node ^0.108), but found ${found}: install ${required}`
}

// Effect 4 has no ModuleVersion (its `Version` module is absent from Effect 3's types)
const moduleVersion: typeof effect.ModuleVersion | undefined = effect.ModuleVersion

/** @internal The installed effect's version, undefined when it cannot tell (Effect 4). */
export const installed: string | undefined = moduleVersion === undefined ? undefined : moduleVersion.getCurrentVersion()

const message = problem(installed)
if (message !== undefined) throw new Error(message)
