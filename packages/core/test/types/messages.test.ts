/**
 * The compiler's messages for a new user's mistakes (issue 22): `@ts-expect-error` only
 * says that an error exists, so these snippets are compiled with the TypeScript API (the
 * workspace's tsconfig, the sources through its `paths`) and each diagnostic's text is
 * checked. A misspelt option must name the key, as a plain options type does
 * (`Wait.expo({ maxvalue })`), never `Type 'number' is not assignable to type 'never'`.
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import { beforeAll, describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("../../../../", import.meta.url))

const header = `
import { Backoff, Timeline, Wait } from "@effect-backoff/core"
import * as HttpBackoff from "@effect-backoff/core/HttpBackoff"
import { NodeHttpBackoff } from "@effect-backoff/platform-node"
import { Data, Effect } from "effect"
class HttpError extends Data.TaggedError("HttpError")<{ readonly status: number }> {}
class OtherError extends Data.TaggedError("OtherError")<{ readonly code: number }> {}
declare const effect: Effect.Effect<number, HttpError | OtherError>
declare const poll: Effect.Effect<ReadonlyArray<string>>
const built = { maxTrys: 3, jitter: null }
`

/** The snippets, one statement each, by name. */
const snippets = {
  "onException, pipe": `effect.pipe(Backoff.onException({ maxTrys: 3 }))`,
  "onException, data-first": `Backoff.onException(effect, { maxTrys: 3 })`,
  "onException, function": `Backoff.onException((id: string) => Effect.succeed(id), { maxTrys: 3 })`,
  "onException, apart from an effect": `Backoff.onException({ maxTrys: 3 })`,
  "onException, options built beforehand": `Backoff.onException(built)`,
  "onPredicate, pipe": `poll.pipe(Backoff.onPredicate({ maxTrys: 3 }))`,
  "onPredicate, data-first": `Backoff.onPredicate(poll, { maxTrys: 3 })`,
  "retry": `effect.pipe(Backoff.retry({ times: 3, maxTrys: 3 }))`,
  "repeat": `poll.pipe(Backoff.repeat({ times: 3, maxTrys: 3 }))`,
  "Timeline.run": `Timeline.run({ maxTrys: 3 }, [Timeline.fail("boom")])`,
  "HttpBackoff.retryTransient": `HttpBackoff.retryTransient({ maxTrys: 3 })`,
  "NodeHttpBackoff.layer": `NodeHttpBackoff.layer({ maxTrys: 3 })`,
  "Wait.expo (the model)": `Wait.expo({ maxvalue: 3 })`,
  "retry without schedule or times": `Backoff.retry({ logger: false })`,
  "a misspelt tag, applied later": `effect.pipe(Backoff.onException({ exception: "Timout", maxTries: 3 }))`,
  "a misspelt tag in a policy built apart": `const r = Backoff.onException({ exception: "Timout" }); effect.pipe(r)`
} as const

type Name = keyof typeof snippets

/** Compiles every snippet in one program (one per file) and returns each one's messages. */
const compile = (): Record<Name, Array<string>> => {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"))
    }
  })!
  const dir = path.join(root, "packages", "core", "test", "types")
  const files = new Map<string, Name>()
  const sources = new Map<string, string>()
  Object.keys(snippets).forEach((name, i) => {
    const file = path.join(dir, `__message_${i}__.ts`)
    files.set(file, name as Name)
    sources.set(file, `${header}\nexport const run = () => { ${snippets[name as Name]} }\n`)
  })
  const host = ts.createCompilerHost(config.options)
  const getSourceFile = host.getSourceFile
  host.getSourceFile = (file, language, ...rest) => {
    const text = sources.get(path.resolve(file))
    return text !== undefined ? ts.createSourceFile(file, text, language) : getSourceFile(file, language, ...rest)
  }
  const fileExists = host.fileExists
  host.fileExists = (file) => sources.has(path.resolve(file)) || fileExists(file)
  const program = ts.createProgram([...files.keys()], { ...config.options, noUnusedLocals: false }, host)
  const out = {} as Record<Name, Array<string>>
  for (const [file, name] of files) {
    out[name] = ts.getPreEmitDiagnostics(program, program.getSourceFile(file))
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))
  }
  return out
}

describe("compiler messages", () => {
  let messages: Record<Name, Array<string>>
  // one program for all the snippets: loading effect's declarations takes seconds
  beforeAll(() => {
    messages = compile()
  }, 120_000)

  it("a misspelt option names the key at every entry point, never `not assignable to type 'never'`", () => {
    for (const name of Object.keys(snippets) as Array<Name>) {
      if (!/maxTrys|maxvalue/.test(snippets[name])) continue
      const text = messages[name].join("\n")
      expect(messages[name].length, `${name}: an error`).toBeGreaterThan(0)
      expect(text, name).not.toContain("not assignable to type 'never'")
      expect(text, name).toMatch(/'(maxTrys|maxvalue)' does not exist in type|"unknown option": "maxTrys"/)
    }
    expect(messages["Wait.expo (the model)"].join("\n")).toContain("Did you mean to write 'maxValue'?")
  })

  it("retry without schedule or times says that schedule is missing", () => {
    expect(messages["retry without schedule or times"].join("\n")).toContain("Property 'schedule' is missing")
  })

  it("a filter that matches nothing says so, in a policy built apart too", () => {
    expect(messages["a misspelt tag, applied later"].join("\n")).toContain("'\"Timout\"' is not assignable")
    expect(messages["a misspelt tag in a policy built apart"].join("\n")).toContain(
      "matches no member of this effect's error type"
    )
  })
})
