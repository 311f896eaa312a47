/**
 * An upload far over the cap, generated as it is sent and never stored anywhere: the server must
 * answer 413 with 014002111 once it has read past 100 MB, keep nothing on disk, and hold its
 * memory while the bytes stream through.
 */
import { existsSync, readdirSync } from "node:fs"
import { request } from "node:http"
import { join } from "node:path"
import { API_KEY, memoryOf } from "./servers.js"

/** What the upload saw. */
export interface HugeUploadRun {
  readonly status: number
  readonly code: string | undefined
  /** Bytes sent before the answer came. */
  readonly sentBytes: number
  /** The server's resident memory before the upload and its highest while it ran (sampled every 20 ms), bytes. */
  readonly rss: { readonly before: number; readonly highest: number }
  /** Files left in the data directory's upload folder. */
  readonly leftovers: ReadonlyArray<string>
}

const CHUNK = Buffer.alloc(1024 * 1024, 0x61)

/**
 * Sends a raw `video/mp4` body of `bytes` bytes, chunked (no declared length, so only the
 * streamed count can stop it), to the server at `url` whose process is `pid` and data `dataDir`.
 */
export const uploadHuge = (url: string, options: { readonly bytes: number; readonly pid: number; readonly dataDir: string }) =>
  new Promise<HugeUploadRun>((resolve, reject) => {
    const before = memoryOf(options.pid).rss
    let highest = before
    const sampler = setInterval(() => (highest = Math.max(highest, memoryOf(options.pid).rss)), 20)
    let sent = 0
    let answered = false
    const upload = request(`${url}/model/v1/videos`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "video/mp4" }
    })
    upload.on("response", (response) => {
      answered = true
      let body = ""
      response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
      response.on("end", () => {
        clearInterval(sampler)
        upload.destroy()
        const uploads = join(options.dataDir, "uploads")
        resolve({
          status: response.statusCode ?? 0,
          code: (JSON.parse(body) as { error?: { code?: string } }).error?.code,
          sentBytes: sent,
          rss: { before, highest },
          leftovers: existsSync(uploads) ? readdirSync(uploads) : []
        })
      })
    })
    upload.on("error", (error) => {
      clearInterval(sampler)
      if (!answered) reject(error)
    })
    const send = () => {
      while (!answered && sent < options.bytes) {
        sent += CHUNK.length
        if (!upload.write(CHUNK)) return upload.once("drain", send)
      }
      if (!answered) upload.end()
    }
    send()
  })
