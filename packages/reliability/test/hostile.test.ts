/**
 * Hostile input through the HTTP API of the embedded server (in this process, with the real
 * analysis): SSRF tricks, an endless upload, broken multipart, slow bodies, broken and lying
 * videos, traversal-shaped ids, and forged callbacks. Each case answers its exact status or code,
 * and the server serves normally afterwards. All traffic stays on loopback: the fake resolver
 * answers the only names used, and refused addresses are refused before any connection.
 */
import { readFileSync } from "node:fs"
import { createServer, request } from "node:http"
import type { IncomingHttpHeaders, Server } from "node:http"
import { connect } from "node:net"
import type { AddressInfo } from "node:net"
import { tenantOf } from "@identify-face/core/Authenticator"
import * as Webhooks from "@identify-face/core/Webhooks"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeClip, patchSampleEntry } from "../../node/test/helpers/clips.js"
import { watchTasks } from "../../bullmq/test/helpers/watch.js"
import { uploadHuge } from "../src/hugeUpload.js"
import { API_KEY, makeDataDir, serveInProcess, stillServes } from "../src/servers.js"
import type { InProcessServer } from "../src/servers.js"

const WEBHOOK_SECRET = Webhooks.generateSecret()
/** The one name the fake resolver knows: it resolves to loopback, which the guard must refuse. */
const PRIVATE_NAME = "videos.private-by-dns.example"

const dataDir = makeDataDir()
let api: InProcessServer
/** A loopback server the guard lets through (by host and port): it serves a clip, redirects, and takes callbacks. */
let origin: Server
let originHost: string
let clip: Buffer<ArrayBuffer>
const callbacks: Array<{ readonly headers: IncomingHttpHeaders; readonly body: string }> = []

const listen = (server: Server) =>
  new Promise<string>((resolve) => server.listen(0, "127.0.0.1", () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)))

beforeAll(async () => {
  clip = readFileSync(await makeClip({ width: 1280, height: 720, faststart: true, keyframeInterval: 25 }))
  origin = createServer((incoming, outgoing) => {
    const port = (origin.address() as AddressInfo).port
    const redirects: Record<string, string> = {
      "/to-loopback": `http://127.0.0.1:${port + 1}/clip.mp4`,
      "/to-mapped-loopback": `http://[::ffff:127.0.0.1]:${port}/clip.mp4`,
      "/to-private-name": `http://${PRIVATE_NAME}:${port}/clip.mp4`
    }
    const location = redirects[incoming.url ?? ""]
    if (location !== undefined) return outgoing.writeHead(302, { location }).end()
    if (incoming.url === "/clip.mp4") return outgoing.writeHead(200, { "content-type": "video/mp4" }).end(clip)
    let body = ""
    incoming.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
    incoming.on("end", () => {
      callbacks.push({ headers: incoming.headers, body })
      outgoing.writeHead(204).end()
    })
  })
  originHost = await listen(origin)
  api = await serveInProcess({
    dataDir: dataDir.path,
    config: { bodyIdleTimeout: Duration.seconds(1), bodyTimeout: Duration.seconds(3), publicUrl: "http://identify-face.test" },
    allowHost: (host) => host === originHost,
    resolve: (hostname) => (hostname === PRIVATE_NAME ? Promise.resolve(["127.0.0.1"]) : Promise.reject(Object.assign(new Error(hostname), { code: "ENOTFOUND" }))),
    webhookSecret: WEBHOOK_SECRET
  })
}, 120_000)

afterAll(async () => {
  await api?.close()
  origin?.close()
  dataDir.remove()
})

const authorization = { authorization: `Bearer ${API_KEY}` }

/** Answers a request as status and error code. */
const send = async (path: string, init: RequestInit = {}) => {
  const response = await fetch(`${api.url}${path}`, { ...init, headers: { ...authorization, ...init.headers } })
  const body = (await response.json()) as { error?: { code: string } }
  return { status: response.status, code: body.error?.code }
}

const createWith = (body: unknown) => send("/model/v1/generation", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

/** The code a task on `video` (an upload's bytes) ends with. */
const uploadedTaskCode = async (video: Uint8Array<ArrayBuffer>) => {
  const upload = await api.client.uploadVideo(new Blob([video]), "video/mp4")
  const task = await api.client.createTask({ videoId: upload.video_id })
  const [finished] = (await watchTasks(api.client, [task.id], 60_000)).tasks
  return finished?.error?.code ?? finished?.status
}

/** The code a task on `videoUrl` ends with. */
const urlTaskCode = async (videoUrl: string) => {
  const task = await api.client.createTask({ videoUrl })
  const [finished] = (await watchTasks(api.client, [task.id], 60_000)).tasks
  return finished?.error?.code ?? finished?.status
}

/**
 * Sends a request head and `body` over a bare socket, then a byte every `trickleMs` if given.
 * Resolves with the status line and code of the answer once the server has closed the connection.
 */
const slowRequest = (head: string, body: string, trickleMs?: number) =>
  new Promise<{ status: string; code: string | undefined; elapsedMs: number }>((resolve, reject) => {
    const started = Date.now()
    const { port } = new URL(api.url)
    const socket = connect(Number(port), "127.0.0.1", () => socket.write(head + body))
    let received = ""
    const timer = trickleMs === undefined ? undefined : setInterval(() => socket.write("a"), trickleMs)
    const giveUp = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer and no close within 15 s; received: ${received}`))
    }, 15_000)
    socket.on("data", (chunk) => (received += chunk.toString("utf8")))
    socket.on("error", () => undefined)
    socket.on("close", () => {
      clearInterval(timer)
      clearTimeout(giveUp)
      const [statusLine = ""] = received.split("\r\n")
      const code = /"code":"(\w+)"/.exec(received)?.[1]
      resolve({ status: statusLine, code, elapsedMs: Date.now() - started })
    })
  })

/** A request with its path sent byte for byte, as no URL parser would leave it; answers the status. */
const rawRequest = (method: string, path: string) =>
  new Promise<number>((resolve, reject) => {
    const { port } = new URL(api.url)
    request({ host: "127.0.0.1", port, method, path, headers: authorization }, (response) => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
      .on("error", reject)
      .end()
  })

describe("video_url", () => {
  it.each([
    "http://127.0.0.1/clip.mp4",
    "http://localhost:8080/clip.mp4",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:127.0.0.1]/clip.mp4",
    "http://[::1]/clip.mp4",
    "http://0x7f000001/clip.mp4",
    "http://2130706433/clip.mp4",
    "http://0177.0.0.1/clip.mp4",
    "http://10.0.0.1/clip.mp4",
    "file:///etc/passwd",
    "http://user:secret@example.com/clip.mp4"
  ])("%s is refused at create: 400 014002104", async (videoUrl) => {
    expect(await createWith({ model: "kirin_identify_face", video_url: videoUrl })).toEqual({ status: 400, code: "014002104" })
  })

  it("on the allowed loopback origin is fetched and analysed", async () => {
    expect(await urlTaskCode(`http://${originHost}/clip.mp4`)).toBe("completed")
  })

  it.each(["/to-loopback", "/to-mapped-loopback", "/to-private-name"])("redirected (%s) to a private address fails the task with 014002104", async (path) => {
    expect(await urlTaskCode(`http://${originHost}${path}`)).toBe("014002104")
  })

  it("whose name resolves to a private address fails the task with 014002104", async () => {
    expect(await urlTaskCode(`http://${PRIVATE_NAME}:${originHost.split(":")[1]}/clip.mp4`)).toBe("014002104")
  })
})

describe("uploads", () => {
  it("5 GB, generated and never stored, is cut past 100 MB with 413 014002111, nothing kept, memory bounded", async () => {
    const run = await uploadHuge(api.url, { bytes: 5 * 1024 ** 3, pid: process.pid, dataDir: dataDir.path })
    console.log(`5 GB upload: ${JSON.stringify(run)}`)
    expect(run).toMatchObject({ status: 413, code: "014002111", leftovers: [] })
    // What the client had sent when the answer came: the 100 MB read, and what sat in buffers on the way.
    expect(run.sentBytes).toBeLessThan(512 * 1024 ** 2)
    expect(run.rss.highest).toBeLessThan(1024 ** 3)
  })

  it.each([
    ["no boundary", "multipart/form-data", "--x\r\n"],
    ["a body that ends early", "multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\nftyp'],
    ["no file field", "multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="other"\r\n\r\nvalue\r\n--x--\r\n'],
    ["garbage", "multipart/form-data; boundary=x", "\u0000\u0001 not multipart at all"]
  ])("malformed multipart (%s) is 400 014002101", async (_, contentType, body) => {
    expect(await send("/model/v1/videos", { method: "POST", headers: { "content-type": contentType }, body })).toEqual({ status: 400, code: "014002101" })
  })

  it.each([
    ["a text file as video/mp4", "014002110", () => Buffer.from("not a video at all\n")],
    ["a truncated MP4", "014002115", () => clip.subarray(0, Math.floor(clip.length * 0.6))],
    ["an MP4 declaring 30000x30000", "014002114", () => patchSampleEntry({ width: 30000, height: 30000 })(clip)]
  ] as const)("%s fails its task with %s", async (_, code, video) => {
    expect(await uploadedTaskCode(video())).toBe(code)
  })
})

describe("slow bodies", () => {
  it("a JSON create that stalls is 408 after the idle timeout, and the connection is closed", async () => {
    const head = `POST /model/v1/generation HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`
    const answer = await slowRequest(head, '{"model":')
    expect(answer).toMatchObject({ status: "HTTP/1.1 408 Request Timeout", code: "408" })
    expect(answer.elapsedMs).toBeLessThan(3000)
  })

  it("an upload trickling a byte every 200 ms is 408 at the total limit, and the connection is closed", async () => {
    const head = `POST /model/v1/videos HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${API_KEY}\r\nContent-Type: video/mp4\r\nContent-Length: 1000000\r\n\r\n`
    const answer = await slowRequest(head, "ftyp", 200)
    expect(answer).toMatchObject({ status: "HTTP/1.1 408 Request Timeout", code: "408" })
    expect(answer.elapsedMs).toBeGreaterThanOrEqual(3000)
  })
})

describe("ids shaped for traversal", () => {
  const long = "a".repeat(10 * 1024)
  it.each([
    ["GET", "/model/v1/generation/task/../x"],
    ["GET", "/model/v1/generation/task/..%2F..%2Fidentify-face.db"],
    ["GET", "/model/v1/generation/task/%2e%2e%2f"],
    ["GET", "/model/v1/generation/task/task_%00"],
    ["GET", "/model/v1/generation/task/<10 KB>"],
    ["POST", "/model/v1/generation/task/%2e%2e%2f/cancel"],
    ["POST", "/model/v1/generation/task/<10 KB>/cancel"],
    ["GET", "/model/v1/files/..%2Fidentify-face.db"],
    ["GET", "/model/v1/files/%00.jpg"],
    ["GET", "/model/v1/files/<10 KB>"]
  ])("%s %s is 404", async (method, path) => {
    expect(await rawRequest(method, path.replace("<10 KB>", long))).toBe(404)
  })

  it.each(["../uploads/x", "%2e%2e%2f", "vid_\u0000", "<10 KB>"])("video_id %j is 404 014002103", async (videoId) => {
    expect(await createWith({ model: "kirin_identify_face", video_id: videoId.replace("<10 KB>", long) })).toEqual({ status: 404, code: "014002103" })
  })
})

describe("callbacks", () => {
  it("verify as sent, and are rejected tampered or stale", async () => {
    const upload = await api.client.uploadVideo(new Blob(["not a video"]), "video/mp4")
    const task = await api.client.createTask({ videoId: upload.video_id }, { callbackUrl: `http://${originHost}/callback` })
    const deadline = Date.now() + 30_000
    while (!callbacks.some((callback) => callback.headers["webhook-id"] === task.id) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const callback = callbacks.find((received) => received.headers["webhook-id"] === task.id)
    expect(callback).toBeDefined()
    const secret = await Effect.runPromise(Effect.flatMap(tenantOf(API_KEY), (tenant) => Webhooks.tenantSecret(WEBHOOK_SECRET, tenant.id)))
    const verify = (headers: IncomingHttpHeaders, body: string, now?: number) =>
      Effect.runPromise(Effect.either(Webhooks.verify({ headers, body, secret, now })))
    const { headers, body } = callback!
    const timestampMs = Number(headers["webhook-timestamp"]) * 1000

    expect(await verify(headers, body)).toMatchObject({ _tag: "Right", right: { id: task.id, status: "failed" } })
    expect(await verify(headers, body.replace('"failed"', '"completed"'))).toMatchObject({ left: { reason: "InvalidSignature" } })
    expect(await verify({ ...headers, "webhook-id": "task_other" }, body)).toMatchObject({ left: { reason: "InvalidSignature" } })
    expect(await verify(headers, body, timestampMs + 6 * 60_000)).toMatchObject({ left: { reason: "TimestampTooOld" } })
  })
})

describe("afterwards", () => {
  it("the server answers /healthz and analyses a normal upload", async () => {
    expect(await stillServes(api.url, api.client, new Blob([clip]))).toEqual({ healthz: 200, task: "completed" })
  })
})
