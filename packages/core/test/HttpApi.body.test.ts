/**
 * Request bodies that stall or trickle are answered 408 with the connection closed, for each way
 * a body is read: a JSON create, a raw upload and a multipart upload.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as HttpApi from "../src/HttpApi.js"
import * as Server from "../src/Server.js"
import { instantAnalyzer } from "./helpers/fixtures.js"

const apiKey = "body-test-key"

const services = Server.layerMemory({
  apiKeys: [apiKey],
  config: { bodyIdleTimeout: Duration.millis(200), bodyTimeout: Duration.millis(600) }
}).pipe(Layer.provide(instantAnalyzer))

const encoder = new TextEncoder()

/** A body that sends `first`, then one byte every `everyMs` (never, when unset), and never ends. */
const trickle = (first: string, everyMs?: number) => {
  let timer: ReturnType<typeof setInterval> | undefined
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(first))
      if (everyMs !== undefined) timer = setInterval(() => controller.enqueue(encoder.encode(" ")), everyMs)
    },
    cancel() {
      clearInterval(timer)
    }
  })
}

const post = (path: string, contentType: string, body: ReadableStream<Uint8Array>) =>
  new Request(`http://localhost${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": contentType },
    body,
    duplex: "half"
  } as RequestInit)

const answer = (request: Request) =>
  Effect.gen(function* () {
    const started = Date.now()
    const response = yield* HttpApi.handle(request).pipe(Effect.provide(services))
    const body = (yield* Effect.promise(() => response.json())) as { error: { code: string; error_message: string } }
    return { status: response.status, connection: response.headers.get("connection"), ...body.error, elapsedMs: Date.now() - started }
  })

const boundary = "----stall"

describe("a request body that stalls", () => {
  it.live.each([
    ["a JSON create", post("/model/v1/generation", "application/json", trickle('{"model":'))],
    ["a raw upload", post("/model/v1/videos", "video/mp4", trickle("\u0000\u0000\u0000\u0018ftyp"))],
    [
      "a multipart upload",
      post(
        "/model/v1/videos",
        `multipart/form-data; boundary=${boundary}`,
        trickle(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\nContent-Type: video/mp4\r\n\r\nftyp`)
      )
    ]
  ] as const)("%s is 408 after the idle timeout, and the connection closes", ([, request]) =>
    Effect.gen(function* () {
      const result = yield* answer(request)
      expect(result).toMatchObject({ status: 408, connection: "close", code: "408", error_message: "the request body sent nothing for 200ms" })
    })
  )

  it.live("one that trickles faster than the idle timeout is 408 at the total limit", () =>
    Effect.gen(function* () {
      const result = yield* answer(post("/model/v1/generation", "application/json", trickle("{", 50)))
      expect(result).toMatchObject({ status: 408, code: "408", error_message: "the request body took longer than 600ms" })
      expect(result.elapsedMs).toBeGreaterThanOrEqual(550)
    })
  )
})
