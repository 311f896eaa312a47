/**
 * `identify-face <file-or-url>`: runs the embedded analysis in this process (or asks an API with
 * `--server`) through the same HTTP contract and client as everyone else, so the JSON it prints
 * is exactly the result object of the API.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import * as Client from "@identify-face/core/Client"
import * as Server from "@identify-face/core/Server"
import type { FaceResult } from "@identify-face/core/Wire"
import { NodeFaceAnalyzer, NodeServer } from "@identify-face/node"
import { UsageError, parse, usage } from "./Arguments.js"
import type { Arguments } from "./Arguments.js"
import { progressLine, table } from "./Report.js"

/** Exit status of a video the service refused (a code of the video or URL rules). */
const REFUSED = 2

const refusedCodes = new Set(["014002097", "014002101", "014002103", "014002104", "014002105"])
const isRefusal = (code: string) => code.startsWith("0140021") && (refusedCodes.has(code) || code >= "014002110")

interface Connection {
  readonly client: Client.PromiseClient
  /** Reads a screenshot URL of the result. */
  readonly download: (url: string) => Promise<Uint8Array>
  readonly close: () => Promise<void>
}

const EMBEDDED_ORIGIN = "http://identify-face.local"

/** The analysis in this process, behind the API's own handler; its data lives in a temp dir. */
const embedded = (): Connection => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "identify-face-cli-"))
  const apiKey = randomBytes(24).toString("base64url")
  // In this process too, unlike a server's: nothing here answers others while it runs.
  const analyzer = NodeFaceAnalyzer.layer()
  const handler = Server.makeWebHandler(NodeServer.layer({ dataDir, apiKeys: [apiKey], config: { publicUrl: EMBEDDED_ORIGIN }, analyzer }))
  const inProcessFetch = ((input: RequestInfo | URL, init?: RequestInit) => handler.handle(new Request(input, init))) as typeof fetch
  return {
    client: Client.makePromise({ baseUrl: EMBEDDED_ORIGIN, apiKey, fetch: inProcessFetch, poll: { initialDelay: "200 millis", maxDelay: "1 second" } }),
    download: async (url) => new Uint8Array(await (await inProcessFetch(url)).arrayBuffer()),
    close: async () => {
      await handler.dispose()
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

const remote = (baseUrl: string): Connection => {
  const apiKey = process.env.IDENTIFY_FACE_API_KEY
  if (!apiKey) throw new UsageError("--server needs the API key in IDENTIFY_FACE_API_KEY")
  return {
    client: Client.makePromise({ baseUrl, apiKey }),
    download: async (url) => {
      const response = await fetch(url)
      if (!response.ok) throw new Error(`screenshot ${url} answered ${response.status}`)
      return new Uint8Array(await response.arrayBuffer())
    },
    close: () => Promise.resolve()
  }
}

/** Shows progress on stderr, redrawn in place on a terminal. */
const progress = (text: string) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`)
}

const identify = async (args: Arguments, connection: Connection): Promise<FaceResult> => {
  const onUpdate = (task: Parameters<typeof progressLine>[0]) => progress(progressLine(task))
  if (args.video._tag === "Url") return connection.client.identifyFaces({ videoUrl: args.video.url }, { onUpdate })
  progress("uploading...")
  const file = await fs.openAsBlob(args.video.path)
  const upload = await connection.client.uploadVideo(file)
  return connection.client.identifyFaces({ videoId: upload.video_id }, { onUpdate })
}

/** Writes the screenshots and points each face_image at its file. */
const saveScreenshots = async (result: FaceResult, connection: Connection, dir: string): Promise<FaceResult> => {
  fs.mkdirSync(dir, { recursive: true })
  const faces = await Promise.all(
    result.data.face_data.map(async (face) => {
      const file = path.resolve(dir, `face-${face.face_id}.jpg`)
      fs.writeFileSync(file, await connection.download(face.face_image))
      return { ...face, face_image: pathToFileURL(file).href }
    })
  )
  return { ...result, data: { ...result.data, face_data: faces } }
}

const run = async (argv: ReadonlyArray<string>): Promise<number> => {
  const args = parse(argv)
  if (args === "help") {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  if (args.video._tag === "File" && !fs.existsSync(args.video.path)) throw new UsageError(`no such file: ${args.video.path}`)
  const connection = args.server === undefined ? embedded() : remote(args.server)
  try {
    const found = await identify(args, connection)
    const result = args.out === undefined ? found : await saveScreenshots(found, connection, args.out)
    progress("")
    process.stdout.write(args.json ? `${JSON.stringify(result)}\n` : `${table(result)}\n`)
    return 0
  } catch (error) {
    progress("")
    const code = (error as { code?: unknown }).code
    if (typeof code !== "string") throw error
    const message = (error as Error).message
    if (args.json) process.stdout.write(`${JSON.stringify({ error: { code, error_message: message } })}\n`)
    else process.stderr.write(`identify-face: ${isRefusal(code) ? "refused" : "failed"} (${code}): ${message}\n`)
    return isRefusal(code) ? REFUSED : 1
  } finally {
    await connection.close()
  }
}

run(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error: unknown) => {
    process.stderr.write(`identify-face: ${error instanceof Error ? error.message : String(error)}\n`)
    if (error instanceof UsageError) process.stderr.write(`${usage}\n`)
    process.exit(1)
  }
)
