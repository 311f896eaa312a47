/**
 * The conformance suite: every row of API.md's endpoint and code tables that needs no real video
 * analysis, asserted over real HTTP with plain `fetch`, with exact statuses and bodies. Any
 * implementation that runs the API over the test double can prove itself with it: the Express
 * and Hono adapters and the double's own server do. Needs vitest.
 *
 * ```ts
 * import { identifyFace } from "@identify-face/express"
 * import { TestServer } from "@identify-face/testing"
 * import { runConformanceSuite } from "@identify-face/testing/Conformance"
 * import express from "express"
 *
 * runConformanceSuite({
 *   name: "Express at /api",
 *   start: async (options) => {
 *     const api = identifyFace({ layer: TestServer.layer(options) })
 *     const server = await TestServer.listen(express().use("/api", api))
 *     return { baseUrl: `${server.url}/api`, close: () => server.close().then(api.close) }
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 */
import {
  DurationOutOfRangeError,
  UnsupportedResolutionError,
  VideoFetchHttpError,
  VideoUrlUnreachableError
} from "@identify-face/core/Errors"
import type { FaceResult, TaskObject, UploadedVideo } from "@identify-face/core/Wire"
import * as Duration from "effect/Duration"
import * as Http from "node:http"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { finished, json, makeApi } from "./internal/api.js"
import type { Answer, Api } from "./internal/api.js"
import { tinyJpeg } from "./TestAnalyzer.js"
import { startServer } from "./TestServer.js"
import type { TestServerOptions } from "./TestServer.js"

/** An implementation under test, running. */
export interface ConformanceServer {
  /** Where the API is mounted, e.g. `http://127.0.0.1:54321/api`. */
  readonly baseUrl: string
  readonly close: () => Promise<void>
}

/**
 * Starts the implementation over `TestServer.layer(options)` on loopback HTTP. The suite picks
 * the options (keys, scripts, caps, rate limit) because its assertions depend on them.
 */
export type StartServer = (options: TestServerOptions) => Promise<ConformanceServer>

/** The double's own server, as the suite starts it. */
export const startTestServer: StartServer = async (options) => {
  const server = await startServer(options)
  return { baseUrl: server.url, close: server.close }
}

/** What the suite runs against. */
export interface ConformanceOptions {
  readonly name: string
  readonly start: StartServer
}

const TENANT_A = "conformance-key-a"
const TENANT_B = "conformance-key-b"
const MAX_VIDEO_BYTES = 64 * 1024
const MAX_JSON_BYTES = 1_048_576
const MODEL = "kirin_identify_face"

const url = {
  /** Served as its own text: the default script, one face after 50 ms. */
  plain: "https://videos.example.com/clip.mp4",
  slow: "https://videos.example.com/an-hour-long-analysis.mp4",
  lowResolution: "https://videos.example.com/640x480.mp4",
  notFound: "https://videos.example.com/gone.mp4",
  unreachable: "https://unreachable.example.com/clip.mp4"
}

const lowResolutionMessage = "resolution 640x480 is not 720p or 1080p"

/** The double's scripts and settings every implementation runs the suite with. */
const suiteOptions: TestServerOptions = {
  apiKeys: [TENANT_A, TENANT_B],
  config: { maxVideoBytes: MAX_VIDEO_BYTES, concurrency: 8 },
  analyzer: {
    videos: {
      [url.slow]: { delay: "1 hour", progress: [0.5] },
      [url.lowResolution]: { failure: new UnsupportedResolutionError({ message: lowResolutionMessage }) },
      "a clip of 90 seconds": { failure: new DurationOutOfRangeError({ message: "duration 90 s is not from 2 s to 60 s" }) }
    }
  },
  urls: {
    [url.notFound]: { failure: new VideoFetchHttpError({ message: "fetching the video answered 404" }) },
    [url.unreachable]: { failure: new VideoUrlUnreachableError({ message: "the video host did not answer" }) }
  }
}

const expectJson = (answer: Answer) => {
  expect(answer.headers.get("content-type")).toBe("application/json; charset=utf-8")
  return json(answer)
}

type ErrorBody = { readonly message: string; readonly error: { readonly code: string; readonly error_message: string } }

/** An error answer: this status, this code, `{ message, error: { code, error_message } }` and nothing else. */
const expectError = (answer: Answer, status: number, code: string) => {
  expect(answer.status, answer.text.slice(0, 300)).toBe(status)
  const body = expectJson(answer) as ErrorBody
  expect(body).toEqual({ message: expect.any(String), error: { code, error_message: body.message } })
  expect(body.message).not.toBe("")
}

const taskId = /^task_[0-9a-hjkmnp-tv-z]{26}$/

/** A task answer: this status code, the task in this state, exactly these fields. */
const expectTask = (answer: Answer, httpStatus: number, status: TaskObject["status"], fields: ReadonlyArray<string>) => {
  const task = expectJson(answer) as TaskObject
  expect({ httpStatus: answer.status, status: task.status }).toEqual({ httpStatus, status })
  expect(Object.keys(task).sort()).toEqual(["created_at", "id", "model", "status", "updated_at", ...fields].sort())
  expect(task.id).toMatch(taskId)
  expect(task.model).toBe(MODEL)
  expect(Number.isInteger(task.created_at) && task.updated_at >= task.created_at).toBe(true)
  expect(Math.abs(task.created_at - Date.now() / 1000)).toBeLessThan(60)
  return task
}

const createdTask = async (api: Api, body: unknown = { model: MODEL, video_url: url.plain }) =>
  expectTask(await api.create(body), 200, "pending", [])

const completedTask = async (api: Api, body?: unknown) => {
  const created = await createdTask(api, body)
  await api.waitFor(created.id, finished)
  return expectTask(await api.getTask(created.id), 200, "completed", ["output", "usage", "metadata"])
}

const resultOf = (task: TaskObject) => JSON.parse(task.output?.[0]?.content[0]?.text ?? "null") as FaceResult

const uploaded = async (api: Api, content: string, key?: string) => {
  const answer = await api.upload(content, "video/mp4", key === undefined ? {} : { key })
  expect(answer.status).toBe(200)
  return json<UploadedVideo>(answer).video_id
}

/** Sends a body in chunks and never ends it: only an answer given while it streams arrives. */
const answerWhileStreaming = (target: string, headers: Record<string, string>, chunk: Uint8Array) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = Http.request(target, { method: "POST", headers: { ...headers, "transfer-encoding": "chunked" } }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (text: string) => (body += text))
      response.on("end", () => {
        resolve({ status: response.statusCode ?? 0, body })
        request.destroy()
      })
    })
    request.on("error", reject)
    const write = () => {
      if (!request.destroyed && request.write(chunk)) setTimeout(write, 1)
    }
    request.on("drain", write)
    write()
  })

const serverOf = (start: StartServer, options: TestServerOptions) => {
  let server: ConformanceServer | undefined
  beforeAll(async () => {
    server = await start(options)
  })
  afterAll(() => server?.close())
  return {
    api: (key = TENANT_A) => {
      if (server === undefined) throw new Error("the server under test did not start")
      return makeApi(server.baseUrl, key)
    }
  }
}

/** Runs the suite against one implementation. */
export const runConformanceSuite = ({ name, start }: ConformanceOptions): void => {
  describe(`identify-face conformance: ${name}`, () => {
    const server = serverOf(start, suiteOptions)
    const tenantA = () => server.api(TENANT_A)
    const tenantB = () => server.api(TENANT_B)

    afterEach(async () => {
      // After every request, good or bad, the server keeps answering.
      const answer = await tenantA().send("GET", "/healthz", { key: null })
      expect(answer.status).toBe(200)
    })

    describe("service documents", () => {
      it("GET /healthz answers 200 { status: ok } without a key", async () => {
        const answer = await tenantA().send("GET", "/healthz", { key: null })
        expect(answer.status).toBe(200)
        expect(expectJson(answer)).toEqual({ status: "ok" })
      })

      it("GET /openapi.json is an OpenAPI 3.1 document of every endpoint, without a key", async () => {
        const answer = await tenantA().send("GET", "/openapi.json", { key: null })
        expect(answer.status).toBe(200)
        const document = expectJson(answer) as { openapi: string; paths: Record<string, unknown> }
        expect(document.openapi).toBe("3.1.0")
        expect(Object.keys(document.paths).sort()).toEqual([
          "/healthz",
          "/model/v1/files/{key}",
          "/model/v1/generation",
          "/model/v1/generation/task/{id}",
          "/model/v1/generation/task/{id}/cancel",
          "/model/v1/videos",
          "/openapi.json"
        ])
      })

      it("an unknown path under /model/v1/ is the JSON 404", async () => {
        expectError(await tenantA().send("GET", "/model/v1/nothing-here"), 404, "404")
      })

      it("a method a path does not take is 405 with Allow", async () => {
        const answer = await tenantA().send("GET", "/model/v1/generation")
        expectError(answer, 405, "405")
        expect(answer.headers.get("allow")).toBe("POST")
      })
    })

    describe("authentication", () => {
      it("a missing bearer key is 401 with WWW-Authenticate", async () => {
        const answer = await tenantA().create({ model: MODEL, video_url: url.plain }, { key: null })
        expectError(answer, 401, "401")
        expect(answer.headers.get("www-authenticate")).toBe('Bearer realm="identify-face"')
      })

      it("a large upload without a key is refused with 401 while it is still being sent", async () => {
        const answer = await answerWhileStreaming(`${tenantA().baseUrl}/model/v1/videos`, { "content-type": "video/mp4" }, new Uint8Array(16 * 1024))
        expect(answer.status).toBe(401)
        expect(JSON.parse(answer.body).error.code).toBe("401")
      })

      it("a wrong bearer key is 401", async () => {
        expectError(await tenantA().getTask("task_00000000000000000000000000", { key: "not-a-key" }), 401, "401")
      })

      it.each(["api_key", "key", "access_token", "apiKey", "token"])("a key in the query string (?%s=) is ignored: 401", async (name) => {
        const answer = await tenantA().send("GET", `/model/v1/generation/task/task_00000000000000000000000000?${name}=${TENANT_A}`, { key: null })
        expectError(answer, 401, "401")
      })

      it("a task is another tenant's 404, for reading and for cancelling", async () => {
        const task = await createdTask(tenantA())
        expectError(await tenantB().getTask(task.id), 404, "404")
        expectError(await tenantB().cancel(task.id), 404, "404")
      })
    })

    describe("POST /model/v1/generation", () => {
      it("creates a pending task from a video_url, with a poll hint", async () => {
        const answer = await tenantA().create({ model: MODEL, video_url: url.plain })
        expectTask(answer, 200, "pending", [])
        expect(Number(answer.headers.get("x-poll-after-ms"))).toBeGreaterThan(0)
      })

      it("accepts the gateway client's input: [{ params }] form", async () => {
        await createdTask(tenantA(), { model: MODEL, input: [{ params: { video_url: url.plain } }] })
      })

      it("creates a task from an uploaded video_id, and it completes", async () => {
        const videoId = await uploaded(tenantA(), "an uploaded clip")
        await completedTask(tenantA(), { model: MODEL, input: [{ params: { video_id: videoId } }] })
      })

      it.each([
        ["neither video_id nor video_url", { model: MODEL }],
        ["both video_id and video_url", { model: MODEL, video_id: "vid_00000000000000000000000000", video_url: url.plain }],
        ["one at the top level and one in input", { model: MODEL, video_url: url.plain, input: [{ params: { video_url: url.plain } }] }],
        ["input with two elements", { model: MODEL, input: [{ params: { video_url: url.plain } }, { params: { video_url: url.plain } }] }],
        ["no model", { video_url: url.plain }],
        ["model of another type", { model: 7, video_url: url.plain }],
        ["video_url of another type", { model: MODEL, video_url: 5 }],
        ["video_id of another type", { model: MODEL, video_id: { id: 1 } }],
        ["input of another type", { model: MODEL, input: "video" }],
        ["params of another type", { model: MODEL, input: [{ params: 5 }] }],
        ["callback_url of another type", { model: MODEL, video_url: url.plain, callback_url: 1 }],
        ["a JSON array", [{ model: MODEL, video_url: url.plain }]],
        ["JSON null", null],
        ["a JSON string", "kirin_identify_face"]
      ])("refuses %s: 400 014002101", async (_, body) => {
        expectError(await tenantA().create(body), 400, "014002101")
      })

      it.each([
        ["malformed JSON", '{"model": "kirin_identify_face",'],
        ["an empty body", ""],
        ["a body that is not UTF-8", new Blob([new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])])]
      ])("refuses %s: 400 014002101", async (_, body) => {
        expectError(await tenantA().createRaw(body), 400, "014002101")
      })

      it("refuses another model: 400 014002102", async () => {
        expectError(await tenantA().create({ model: "kirin_lip_sync", video_url: url.plain }), 400, "014002102")
      })

      it.each([
        ["an unknown video_id", "vid_00000000000000000000000000"],
        ["a malformed video_id", "../../etc/passwd"]
      ])("refuses %s: 404 014002103", async (_, videoId) => {
        expectError(await tenantA().create({ model: MODEL, video_id: videoId }), 404, "014002103")
      })

      it("refuses another tenant's video_id: 404 014002103", async () => {
        const videoId = await uploaded(tenantB(), "tenant b's clip", TENANT_B)
        expectError(await tenantA().create({ model: MODEL, video_id: videoId }), 404, "014002103")
      })

      it.each([
        "http://0x7f000001/clip.mp4",
        "http://[::ffff:127.0.0.1]/clip.mp4",
        "http://127.0.0.1/clip.mp4",
        "http://[::1]/clip.mp4",
        "http://localhost:8080/clip.mp4",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.7/clip.mp4",
        "http://192.168.1.1/clip.mp4",
        "ftp://videos.example.com/clip.mp4",
        "file:///etc/passwd",
        "https://user:secret@videos.example.com/clip.mp4",
        "not a url"
      ])("refuses video_url %s: 400 014002104", async (refused) => {
        expectError(await tenantA().create({ model: MODEL, video_url: refused }), 400, "014002104")
      })

      it("refuses a body over 1 MB: 413, declared or streamed", async () => {
        const oversized = new Uint8Array(MAX_JSON_BYTES + 1).fill(0x20)
        expectError(await tenantA().createRaw(new Blob([oversized])), 413, "413")
        const streamed = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(oversized)
            controller.close()
          }
        })
        expectError(await tenantA().createRaw(streamed), 413, "413")
      })
    })

    describe("Idempotency-Key", () => {
      const body = { model: MODEL, video_url: url.plain }

      it("the same key and body answer the same task", async () => {
        const first = expectTask(await tenantA().create(body, { idempotencyKey: "same-body" }), 200, "pending", [])
        const again = json<TaskObject>(await tenantA().create(body, { idempotencyKey: "same-body" }))
        expect(again.id).toBe(first.id)
      })

      it("the same key with another body is 422", async () => {
        expectTask(await tenantA().create(body, { idempotencyKey: "other-body" }), 200, "pending", [])
        expectError(await tenantA().create({ ...body, video_url: `${url.plain}?v=2` }, { idempotencyKey: "other-body" }), 422, "422")
      })

      it("concurrent duplicates create one task", async () => {
        const answers = await Promise.all(Array.from({ length: 8 }, () => tenantA().create(body, { idempotencyKey: "concurrent" })))
        expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(200))
        expect(new Set(answers.map((answer) => json<TaskObject>(answer).id)).size).toBe(1)
      })

      it("keys are per tenant", async () => {
        const a = json<TaskObject>(await tenantA().create(body, { idempotencyKey: "per-tenant" }))
        const b = json<TaskObject>(await tenantB().create(body, { idempotencyKey: "per-tenant" }))
        expect(b.id).not.toBe(a.id)
      })

      it("a key that is not 1 to 255 visible characters is 400 014002101", async () => {
        expectError(await tenantA().create(body, { idempotencyKey: "k".repeat(256) }), 400, "014002101")
      })
    })

    describe("GET /model/v1/generation/task/{id}", () => {
      it("a completed task has output and usage, no progress and no error", async () => {
        const api = tenantA()
        const answer = await api.create({ model: MODEL, video_url: url.plain })
        const id = json<TaskObject>(answer).id
        await api.waitFor(id, finished)
        const read = await api.getTask(id)
        const task = expectTask(read, 200, "completed", ["output", "usage", "metadata"])
        expect(read.headers.get("x-poll-after-ms")).toBeNull()
        expect(task.usage).toEqual({ cost: "0.0000", discount: 0 })
        expect(task.output).toEqual([{ content: [{ type: "text", text: expect.any(String), url: "" }] }])
        expect(task.metadata).toEqual({
          video: { duration_ms: 10_000, width: 1920, height: 1080, fps: 30, format: "mp4" },
          timings_ms: { fetch: expect.any(Number), analyze: 50 }
        })
        const result = resultOf(task)
        expect(result).toEqual({
          code: 0,
          message: "SUCCEED",
          request_id: expect.stringMatching(/^req_[0-9a-z]{26}$/),
          data: {
            session_id: expect.stringMatching(/^ses_[0-9a-z]{26}$/),
            final_unit_deduction: "1",
            face_data: [{ face_id: "0", face_image: expect.any(String), start_time: 0, end_time: 5000 }]
          }
        })
        expect(result.data.face_data[0]?.face_image).toMatch(new RegExp(`^${api.baseUrl.replace(/[.]/g, "\\.")}/model/v1/files/[A-Za-z0-9_-]{43}\\.jpg$`))
      })

      it("a processing task has progress, and no output, usage or error", async () => {
        const api = tenantA()
        const created = await createdTask(api, { model: MODEL, video_url: url.slow })
        await api.waitFor(created.id, (task) => task.status === "processing")
        const task = expectTask(await api.getTask(created.id), 200, "processing", ["progress"])
        expect(task.progress).toBe(0.5)
        await api.cancel(created.id)
      })

      it.each([
        ["the analysis fails", url.lowResolution, "014002113", lowResolutionMessage],
        ["fetching video_url answers an HTTP error", url.notFound, "014002097", "fetching the video answered 404"],
        ["video_url is unreachable", url.unreachable, "014002105", "the video host did not answer"]
      ])("a task whose %s is failed with its code, no output, usage or progress", async (_, videoUrl, code, message) => {
        const api = tenantA()
        const created = await createdTask(api, { model: MODEL, video_url: videoUrl })
        await api.waitFor(created.id, finished)
        const task = expectTask(await api.getTask(created.id), 200, "failed", ["error"])
        expect(task.error).toEqual({ code, error_message: message })
      })

      it("an uploaded video the analysis refuses is failed with its code", async () => {
        const api = tenantA()
        const created = await createdTask(api, { model: MODEL, video_id: await uploaded(api, "a clip of 90 seconds") })
        const task = await api.waitFor(created.id, finished)
        expect(task.error?.code).toBe("014002112")
      })

      it.each([
        ["a well-formed unknown id", "task_00000000000000000000000000"],
        ["a path traversal", "..%2F..%2Fetc%2Fpasswd"],
        ["a NUL byte", "task_%00"],
        ["a 10 KB id", "t".repeat(10_240)],
        ["an id with a query", "x?y=1"]
      ])("%s is 404", async (_, id) => {
        expectError(await tenantA().getTask(id), 404, "404")
      })
    })

    describe("POST /model/v1/generation/task/{id}/cancel", () => {
      it("cancels a task that has not finished: 202 and the cancelled task; again is 409", async () => {
        const api = tenantA()
        const created = await createdTask(api, { model: MODEL, video_url: url.slow })
        await api.waitFor(created.id, (task) => task.status === "processing")
        const answer = await api.cancel(created.id)
        expectTask(answer, 202, "cancelled", [])
        expect(answer.headers.get("x-poll-after-ms")).toBeNull()
        expectTask(await api.getTask(created.id), 200, "cancelled", [])
        expectError(await api.cancel(created.id), 409, "409")
      })

      it("cancels a pending task", async () => {
        const api = tenantA()
        const created = await createdTask(api, { model: MODEL, video_url: url.slow })
        expect(json<TaskObject>(await api.cancel(created.id)).status).toBe("cancelled")
      })

      it("a completed task cannot be cancelled: 409", async () => {
        const task = await completedTask(tenantA())
        expectError(await tenantA().cancel(task.id), 409, "409")
      })

      it.each(["task_00000000000000000000000000", "..%2Fx", "%00"])("an unknown or malformed id (%s) is 404", async (id) => {
        expectError(await tenantA().cancel(id), 404, "404")
      })
    })

    describe("POST /model/v1/videos", () => {
      const expectUploaded = (answer: Answer, bytes: number) => {
        expect(answer.status).toBe(200)
        const body = expectJson(answer) as UploadedVideo
        expect(body).toEqual({ video_id: expect.stringMatching(/^vid_[0-9a-z]{26}$/), bytes, expires_at: expect.any(Number) })
        expect(Math.abs(body.expires_at - (Date.now() / 1000 + 24 * 3600))).toBeLessThan(60)
      }

      it("stores the multipart field file", async () => {
        expectUploaded(await tenantA().uploadForm("a multipart clip"), 16)
      })

      it.each(["video/mp4", "video/quicktime"])("stores a raw %s body", async (type) => {
        expectUploaded(await tenantA().upload("a raw clip", type), 10)
      })

      it.each([["text/plain"], ["application/json"], ["image/jpeg"], [undefined]])("refuses the content type %s: 415", async (type) => {
        expectError(await tenantA().upload("a clip", type), 415, "415")
      })

      it.each([
        ["a body that is not multipart", "multipart/form-data; boundary=abc", "no parts here"],
        ["a multipart body cut short", "multipart/form-data; boundary=abc", '--abc\r\ncontent-disposition: form-data; name="file"; filename="a.mp4"\r\n\r\nhalf a'],
        ["no file field", "multipart/form-data; boundary=abc", '--abc\r\ncontent-disposition: form-data; name="video"; filename="a.mp4"\r\n\r\nclip\r\n--abc--\r\n']
      ])("refuses %s: 400 014002101", async (_, type, body) => {
        expectError(await tenantA().upload(body, type), 400, "014002101")
      })

      it("refuses a video over the cap: 413 014002111, raw or multipart", async () => {
        const oversized = new Uint8Array(MAX_VIDEO_BYTES + 1)
        expectError(await tenantA().upload(oversized, "video/mp4"), 413, "014002111")
        expectError(await tenantA().uploadForm(oversized), 413, "014002111")
      })

      it("refuses a video over the cap while it streams, before the body ends", async () => {
        const answer = await answerWhileStreaming(
          `${tenantA().baseUrl}/model/v1/videos`,
          { authorization: `Bearer ${TENANT_A}`, "content-type": "video/mp4" },
          new Uint8Array(16 * 1024)
        )
        expect(answer.status).toBe(413)
        expect(JSON.parse(answer.body).error.code).toBe("014002111")
      })
    })

    describe("GET /model/v1/files/{key}", () => {
      it("serves a completed task's face_image as image/jpeg, without a key", async () => {
        const task = await completedTask(tenantA())
        const image = resultOf(task).data.face_data[0]?.face_image ?? ""
        const response = await fetch(image)
        expect(response.status).toBe(200)
        expect(response.headers.get("content-type")).toBe("image/jpeg")
        expect(new Uint8Array(await response.arrayBuffer())).toEqual(tinyJpeg)
      })

      it.each([
        ["an unknown key", `${"A".repeat(43)}.jpg`],
        ["a malformed key", "..%2F..%2Fetc%2Fpasswd"],
        ["a key without .jpg", "A".repeat(43)]
      ])("%s is 404", async (_, key) => {
        expectError(await tenantA().send("GET", `/model/v1/files/${key}`, { key: null }), 404, "404")
      })
    })

    describe("with a rate limit", () => {
      const limited = serverOf(start, { ...suiteOptions, rateLimit: { perSecond: 1, burst: 2 } })

      it("a request over the limit is 429 with Retry-After; other tenants keep their budget", async () => {
        const api = limited.api(TENANT_A)
        const unknown = "task_00000000000000000000000000"
        expectError(await api.getTask(unknown), 404, "404")
        expectError(await api.getTask(unknown), 404, "404")
        const refused = await api.getTask(unknown)
        expectError(refused, 429, "429")
        expect(refused.headers.get("retry-after")).toBe("1")
        expectError(await limited.api(TENANT_B).getTask(unknown), 404, "404")
      })
    })

    describe("when a session expires", () => {
      const expiring = serverOf(start, { ...suiteOptions, config: { ...suiteOptions.config, sessionTtl: Duration.millis(200) } })

      it("an expired video_id is 404 014002103", async () => {
        const api = expiring.api(TENANT_A)
        const videoId = await uploaded(api, "a short-lived clip")
        await new Promise((resolve) => setTimeout(resolve, 300))
        expectError(await api.create({ model: MODEL, video_id: videoId }), 404, "014002103")
      })
    })
  })
}

const normaliser = (baseUrl: string) => {
  const placeholders = new Map<string, string>()
  const placeholder = (value: string, kind: string) => {
    if (!placeholders.has(value)) placeholders.set(value, `<${kind} ${placeholders.size + 1}>`)
    return placeholders.get(value) ?? value
  }
  return (text: string) =>
    text
      .split(baseUrl)
      .join("<base>")
      .replace(/\b(task|vid|req|ses)_[0-9a-hjkmnp-tv-z]{26}\b/g, (id, kind: string) => placeholder(id, kind))
      .replace(/[A-Za-z0-9_-]{43}\.jpg/g, (key) => placeholder(key, "file"))
      .replace(/"(created_at|updated_at|expires_at)":\d+/g, '"$1":0')
      .replace(/"fetch":\d+/g, '"fetch":0')
}

const comparedHeaders = ["content-type", "cache-control", "x-content-type-options", "allow", "www-authenticate", "retry-after", "x-poll-after-ms"]

/** One request of each kind the API answers, recorded with ids, times and the base URL made neutral. */
const transcript = async (baseUrl: string) => {
  const entries: Array<{ request: string; status: number; headers: Record<string, string | null>; body: string }> = []
  const normalise = normaliser(baseUrl)
  const record = (request: string, answer: Answer) =>
    entries.push({
      request: normalise(request),
      status: answer.status,
      headers: Object.fromEntries(comparedHeaders.map((name) => [name, answer.headers.get(name)])),
      body: normalise(answer.text)
    })
  const a = makeApi(baseUrl, TENANT_A, record)
  const b = makeApi(baseUrl, TENANT_B, record)
  const unknownTask = "task_00000000000000000000000000"
  await a.send("GET", "/healthz", { key: null })
  await a.send("HEAD", "/healthz", { key: null })
  await a.send("GET", "/openapi.json", { key: null })
  await a.send("GET", "/model/v1/generation")
  await a.send("GET", "/model/v1/nothing-here")
  await a.create({ model: MODEL, video_url: url.plain }, { key: null })
  await a.getTask(unknownTask, { key: "not-a-key" })
  await a.send("GET", `/model/v1/generation/task/${unknownTask}?api_key=${TENANT_A}`, { key: null })
  await a.createRaw("{")
  await a.create({ model: MODEL })
  await a.create({ model: MODEL, video_url: 5 })
  await a.create({ model: "kirin_lip_sync", video_url: url.plain })
  await a.create({ model: MODEL, video_url: "http://0x7f000001/" })
  await a.create({ model: MODEL, video_id: "vid_00000000000000000000000000" })
  await a.createRaw(new Blob([new Uint8Array(MAX_JSON_BYTES + 1)]))
  const plain = json<TaskObject>(await a.create({ model: MODEL, video_url: url.plain }))
  await a.waitFor(plain.id, finished)
  const completed = json<TaskObject>(await a.getTask(plain.id))
  await a.send("GET", (resultOf(completed).data.face_data[0]?.face_image ?? "").slice(baseUrl.length), { key: null })
  await a.send("GET", `/model/v1/files/${"A".repeat(43)}.jpg`, { key: null })
  await a.cancel(plain.id)
  await b.getTask(plain.id)
  for (const id of ["..%2Fx", "task_%00", "t".repeat(10_240)]) await a.getTask(id)
  const videoId = json<UploadedVideo>(await a.uploadForm("a multipart clip")).video_id
  await a.upload("a raw clip", "video/quicktime")
  await a.upload("a clip", "text/plain")
  await a.upload("no parts here", "multipart/form-data; boundary=abc")
  await a.upload(new Uint8Array(MAX_VIDEO_BYTES + 1), "video/mp4")
  const fromUpload = { model: MODEL, input: [{ params: { video_id: videoId } }] }
  const fromUploadTask = json<TaskObject>(await a.create(fromUpload, { idempotencyKey: "parity" }))
  // The replay answers the task as it is now: finished, so that no implementation is caught mid-way.
  await a.waitFor(fromUploadTask.id, finished)
  await a.create(fromUpload, { idempotencyKey: "parity" })
  await a.create({ model: MODEL, video_url: url.plain }, { idempotencyKey: "parity" })
  const failing = json<TaskObject>(await a.create({ model: MODEL, video_url: url.lowResolution }))
  await a.waitFor(failing.id, finished)
  await a.getTask(failing.id)
  const slow = json<TaskObject>(await a.create({ model: MODEL, video_url: url.slow }))
  await a.waitFor(slow.id, (task) => task.status === "processing")
  await a.getTask(slow.id)
  await a.cancel(slow.id)
  await a.cancel(slow.id)
  return entries
}

/**
 * One test that sends the same requests to every implementation and expects the same answers:
 * status, the headers clients read, and the body byte for byte once ids, times and the base URL
 * are made neutral.
 */
export const runParityTest = (implementations: Readonly<Record<string, StartServer>>): void => {
  const names = Object.keys(implementations)
  it(`${names.join(", ")} answer every request alike`, async () => {
    const transcripts: Array<readonly [string, Awaited<ReturnType<typeof transcript>>]> = []
    for (const [name, start] of Object.entries(implementations)) {
      const server = await start(suiteOptions)
      try {
        transcripts.push([name, await transcript(server.baseUrl)])
      } finally {
        await server.close()
      }
    }
    const [reference, ...others] = transcripts
    for (const [name, entries] of others) expect(entries, `${name} answers as ${reference?.[0]} does`).toEqual(reference?.[1])
  })
}
