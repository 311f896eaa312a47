import * as Client from "@identify-face/core/Client"
import { UnsupportedResolutionError, VideoFetchHttpError } from "@identify-face/core/Errors"
import * as HttpApi from "@identify-face/core/HttpApi"
import type { TaskObject } from "@identify-face/core/Wire"
import { TestAnalyzer, TestServer } from "@identify-face/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { afterAll, beforeAll } from "vitest"

const quickPoll: Client.ClientOptions["poll"] = { initialDelay: "10 millis", maxDelay: "20 millis", timeout: "5 seconds" }

describe("TestServer.startServer", () => {
  let server: TestServer.StartedServer
  beforeAll(async () => {
    server = await TestServer.startServer({
      analyzer: {
        videos: {
          "https://cdn.example.com/two-people.mp4": { faces: [{ startMs: 0, endMs: 2400 }, { startMs: 3000, endMs: 8000 }] },
          "an uploaded 640x480 clip": { failure: new UnsupportedResolutionError({ message: "resolution 640x480 is not 720p or 1080p" }) },
          "the bytes behind a scripted URL": { faces: [] }
        }
      },
      urls: {
        "https://cdn.example.com/scripted.mp4": { content: "the bytes behind a scripted URL" },
        "https://cdn.example.com/gone.mp4": { failure: new VideoFetchHttpError({ message: "the video host answered 404" }) }
      }
    })
  })
  afterAll(() => server.close())

  const client = () => Client.makePromise({ baseUrl: server.url, apiKey: server.apiKey, poll: quickPoll })

  it("serves the default key and answers the client with the scripted faces of a video_url", async () => {
    expect(server.apiKeys).toEqual([TestServer.DEFAULT_API_KEY])
    const result = await client().identifyFaces({ videoUrl: "https://cdn.example.com/two-people.mp4" })
    expect(result.data.face_data.map(({ face_id, start_time, end_time }) => [face_id, start_time, end_time])).toEqual([
      ["0", 0, 2400],
      ["1", 3000, 8000]
    ])
    const image = await fetch(result.data.face_data[0]?.face_image ?? "")
    expect(new Uint8Array(await image.arrayBuffer())).toEqual(TestAnalyzer.tinyJpeg)
  })

  it("plays an upload's script, chosen by its bytes", async () => {
    const upload = await client().uploadVideo(new Blob(["an uploaded 640x480 clip"]))
    await expect(client().identifyFaces({ videoId: upload.video_id })).rejects.toMatchObject({ code: "014002113" })
  })

  it("serves scripted bytes for a URL, and fails a URL scripted to fail", async () => {
    expect((await client().identifyFaces({ videoUrl: "https://cdn.example.com/scripted.mp4" })).data.face_data).toEqual([])
    await expect(client().identifyFaces({ videoUrl: "https://cdn.example.com/gone.mp4" })).rejects.toMatchObject({
      code: "014002097",
      message: "the video host answered 404"
    })
  })

  it("refuses a private URL as the real server does: 014002104", async () => {
    await expect(client().createTask({ videoUrl: "http://[::ffff:127.0.0.1]/clip.mp4" })).rejects.toMatchObject({ code: "014002104" })
  })

  it("stops listening when closed", async () => {
    const other = await TestServer.startServer({ apiKeys: ["a", "b"] })
    expect(other.apiKey).toBe("a")
    await other.close()
    await expect(fetch(`${other.url}/healthz`)).rejects.toThrow()
  })
})

describe("TestServer.layer", () => {
  const call = (request: Request) => Effect.flatMap(HttpApi.handle(request), (response) => Effect.promise(() => response.json() as Promise<TaskObject>))
  const authorization = { authorization: `Bearer ${TestServer.DEFAULT_API_KEY}` }

  it.effect("runs the scripted analysis on the TestClock", () =>
    Effect.gen(function* () {
      const created = yield* call(
        new Request("http://test/model/v1/generation", {
          method: "POST",
          headers: authorization,
          body: JSON.stringify({ model: "kirin_identify_face", video_url: "https://cdn.example.com/clip.mp4" })
        })
      )
      const read = () => call(new Request(`http://test/model/v1/generation/task/${created.id}`, { headers: authorization }))
      yield* TestClock.adjust("1 minute")
      expect((yield* read()).status).toBe("processing")
      yield* TestClock.adjust("4 minutes")
      const task = yield* read()
      expect(task.status).toBe("completed")
      expect(task.metadata?.timings_ms?.analyze).toBe(300_000)
    }).pipe(Effect.provide(TestServer.layer({ analyzer: { script: { delay: "5 minutes" } } }))))
})
