/**
 * The command line: `identify-face <file-or-url> [--json] [--out DIR] [--server URL]`.
 */
import { parseArgs } from "node:util"

/** What the command was asked to do. */
export interface Arguments {
  /** A local file, or an http(s) URL the server fetches. */
  readonly video: { readonly _tag: "File"; readonly path: string } | { readonly _tag: "Url"; readonly url: string }
  /** Print exactly the result object (or the error object) as JSON on stdout. */
  readonly json: boolean
  /** Write each face's screenshot here as `face-<face_id>.jpg`. */
  readonly out: string | undefined
  /** Use this API instead of analysing in this process; the key comes from `IDENTIFY_FACE_API_KEY`. */
  readonly server: string | undefined
}

/** The usage text. */
export const usage = `usage: identify-face <file-or-url> [--json] [--out DIR] [--server URL]

Finds every face in a video (2-60 s, 720p or 1080p, MP4 or MOV) that can be lip-synced.

  --json        print the result object as JSON on stdout (a refused video prints
                {"error":{"code","error_message"}} and exits with 2)
  --out DIR     write each face's screenshot to DIR/face-<face_id>.jpg; face_image then
                names that file
  --server URL  ask the identify-face API at URL (key in IDENTIFY_FACE_API_KEY) instead of
                analysing here
  -h, --help    this text`

/** A command line that cannot be run; the message says why. */
export class UsageError extends Error {
  override readonly name = "UsageError"
}

/** Reads the command line. */
export const parse = (argv: ReadonlyArray<string>): Arguments | "help" => {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: "boolean", default: false },
      out: { type: "string" },
      server: { type: "string" },
      help: { type: "boolean", short: "h", default: false }
    }
  })
  if (values.help) return "help"
  if (positionals.length !== 1) throw new UsageError("give exactly one video file or URL")
  const target = positionals[0] as string
  const video = /^https?:\/\//i.test(target) ? ({ _tag: "Url", url: target } as const) : ({ _tag: "File", path: target } as const)
  if (values.server !== undefined && !/^https?:\/\//i.test(values.server)) throw new UsageError("--server takes an http(s) URL")
  return { video, json: values.json, out: values.out, server: values.server }
}
