import * as Client from "@identify-face/core/Client"
import { InvalidConfigError } from "@identify-face/core/Config"
import { DurationOutOfRangeError } from "@identify-face/core/Errors"
import { identifyFace } from "@identify-face/hono"
import { TestServer } from "@identify-face/testing"
import { Hono } from "hono"
import { afterEach, describe, expect, it } from "vitest"

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

const api = (options: TestServer.TestServerOptions = {}) => {
  const app = identifyFace({ layer: TestServer.layer(options) })
  closers.push(app.close)
  return app
}

/** The client of core, sending its requests through `app.request`. */
const clientOf = (app: Hono, baseUrl: string) =>
  Client.makePromise({
    baseUrl,
    apiKey: TestServer.DEFAULT_API_KEY,
    poll: { initialDelay: "10 millis" },
    fetch: async (input, init) => app.request(input instanceof Request ? input : input.toString(), init)
  })

describe("identifyFace (Hono)", () => {
  it("routed at / answers the API and leaves the app's other routes to the app", async () => {
    const app = new Hono()
    app.get("/before", (c) => c.text("host route before"))
    app.route("/", api())
    app.get("/after", (c) => c.text("host route after"))
    expect(await (await app.request("/healthz")).json()).toEqual({ status: "ok" })
    expect(await (await app.request("/before")).text()).toBe("host route before")
    expect(await (await app.request("/after")).text()).toBe("host route after")
    const unknown = await app.request("/not-the-api")
    expect([unknown.status, await unknown.text()]).toEqual([404, "404 Not Found"])
  })

  it("answers an unknown or malformed path under /model/v1/ itself, with the JSON 404", async () => {
    const app = new Hono().route("/", api())
    for (const path of ["/model/v1/nothing", "/model/v1/generation/task/..%2Fx/more"]) {
      const answer = await app.request(path)
      expect(answer.status).toBe(404)
      expect((await answer.json()).error.code).toBe("404")
    }
  })

  it("routed under a prefix with a parameter answers there, and face_image URLs carry the actual prefix", async () => {
    const app = new Hono().route("/:workspace/identify", api())
    expect((await app.request("/acme/identify/healthz")).status).toBe(200)
    expect((await app.request("/healthz")).status).toBe(404)
    const result = await clientOf(app, "http://localhost/acme/identify").identifyFaces({ videoUrl: "https://cdn.example.com/clip.mp4" })
    const image = result.data.face_data[0]?.face_image ?? ""
    expect(image).toMatch(/^http:\/\/localhost\/acme\/identify\/model\/v1\/files\/[\w-]{43}\.jpg$/)
    const served = await app.request(image)
    expect(served.headers.get("content-type")).toBe("image/jpeg")
  })

  it("serves uploads and scripted failures through app.request", async () => {
    const failure = new DurationOutOfRangeError({ message: "duration 90 s is not from 2 s to 60 s" })
    const app = new Hono().route("/", api({ analyzer: { videos: { "a 90 s clip": { failure } } } }))
    const client = clientOf(app, "http://localhost")
    const upload = await client.uploadVideo(new Blob(["a 90 s clip"]), "video/quicktime")
    await expect(client.identifyFaces({ videoId: upload.video_id })).rejects.toMatchObject({ code: "014002112", message: failure.message })
  })

  it("refuses clearly a request whose body a middleware before it already read", async () => {
    const app = new Hono()
    app.use(async (c, next) => {
      if (c.req.method === "POST") await c.req.json()
      await next()
    })
    app.route("/", api())
    app.onError((error, c) => c.text(`${error.name}: ${error.message}`, 500))
    const answer = await app.request("/model/v1/generation", {
      method: "POST",
      headers: { authorization: `Bearer ${TestServer.DEFAULT_API_KEY}` },
      body: JSON.stringify({ model: "kirin_identify_face", video_url: "https://cdn.example.com/clip.mp4" })
    })
    expect(answer.status).toBe(500)
    expect(await answer.text()).toMatch(/^BodyAlreadyReadError: @identify-face\/hono: .*mount identify-face before body parsers$/)
  })

  it("refuses wrong options when it is made", () => {
    const make = () => identifyFace({ layer: TestServer.layer(), prefix: "/api" } as unknown as Parameters<typeof identifyFace>[0])
    expect(make).toThrow(InvalidConfigError)
    expect(make).toThrow("@identify-face/hono: unknown option prefix; the options are layer or handler")
  })
})
