import * as Client from "@identify-face/core/Client"
import { InvalidConfigError } from "@identify-face/core/Config"
import * as Server from "@identify-face/core/Server"
import { identifyFace } from "@identify-face/express"
import { TestServer } from "@identify-face/testing"
import express from "express"
import type { ErrorRequestHandler } from "express"
import { afterEach, describe, expect, it } from "vitest"

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

/** Serves an app with the API at `mountPath` and a host route before and after it. */
const serveApp = async (mountPath: string) => {
  const api = identifyFace({ layer: TestServer.layer() })
  const app = express()
  app.get("/before", (_req, res) => void res.send("host route before"))
  app.use(mountPath, api)
  app.get("/after", (_req, res) => void res.send("host route after"))
  const server = await TestServer.listen(app)
  closers.push(api.close, server.close)
  return server.url
}

const createTask = (url: string) =>
  fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${TestServer.DEFAULT_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "kirin_identify_face", video_url: "https://cdn.example.com/clip.mp4" })
  })

describe("identifyFace (Express)", () => {
  it("mounted at / answers the API and leaves the app's other routes to the app", async () => {
    const url = await serveApp("/")
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: "ok" })
    expect(await (await fetch(`${url}/before`)).text()).toBe("host route before")
    expect(await (await fetch(`${url}/after`)).text()).toBe("host route after")
    const unknown = await fetch(`${url}/not-the-api`)
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get("content-type")).toMatch(/^text\/html/)
  })

  it("answers an unknown or malformed path under /model/v1/ itself, with the JSON 404", async () => {
    const url = await serveApp("/")
    for (const path of ["/model/v1/nothing", "/model/v1/generation/task/..%2Fx/more"]) {
      const answer = await fetch(`${url}${path}`)
      expect(answer.status).toBe(404)
      expect((await answer.json()).error.code).toBe("404")
    }
  })

  it("mounted under a prefix answers there, and face_image URLs carry the prefix", async () => {
    const url = await serveApp("/identify")
    expect((await fetch(`${url}/identify/healthz`)).status).toBe(200)
    expect((await fetch(`${url}/healthz`)).status).toBe(404)
    const client = Client.makePromise({ baseUrl: `${url}/identify`, apiKey: TestServer.DEFAULT_API_KEY, poll: { initialDelay: "10 millis" } })
    const result = await client.identifyFaces({ videoUrl: "https://cdn.example.com/clip.mp4" })
    const image = result.data.face_data[0]?.face_image ?? ""
    expect(image.startsWith(`${url}/identify/model/v1/files/`)).toBe(true)
    expect((await fetch(image)).headers.get("content-type")).toBe("image/jpeg")
  })

  it("behind a trusted proxy, face_image URLs use the forwarded protocol and host", async () => {
    const api = identifyFace({ layer: TestServer.layer() })
    const server = await TestServer.listen(express().set("trust proxy", true).use("/api", api))
    closers.push(api.close, server.close)
    const forwarded = { "x-forwarded-proto": "https", "x-forwarded-host": "faces.example.com" }
    const client = Client.makePromise({
      baseUrl: `${server.url}/api`,
      apiKey: TestServer.DEFAULT_API_KEY,
      poll: { initialDelay: "10 millis" },
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...forwarded } })
    })
    const result = await client.identifyFaces({ videoUrl: "https://cdn.example.com/clip.mp4" })
    expect(result.data.face_data[0]?.face_image).toMatch(/^https:\/\/faces\.example\.com\/api\/model\/v1\/files\//)
  })

  it("refuses clearly a request whose body a parser mounted before it already read", async () => {
    const api = identifyFace({ layer: TestServer.layer() })
    const errors: Array<unknown> = []
    const app = express()
    app.use(express.json())
    app.use(api)
    const recordError: ErrorRequestHandler = (error, _req, res, _next) => {
      errors.push(error)
      res.status(500).send("refused")
    }
    app.use(recordError)
    const server = await TestServer.listen(app)
    closers.push(api.close, server.close)
    expect((await createTask(`${server.url}/model/v1/generation`)).status).toBe(500)
    expect(errors).toEqual([expect.objectContaining({ name: "BodyAlreadyReadError", message: expect.stringMatching(/mount identify-face before body parsers/) })])
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
  })

  it("serves a handler you made, and close() leaves it to you", async () => {
    const handler = Server.makeWebHandler(TestServer.layer())
    const api = identifyFace({ handler })
    await api.close()
    const answer = await handler.handle(new Request("http://localhost/healthz"))
    expect(answer.status).toBe(200)
    await handler.dispose()
  })

  it.each([
    [undefined, /options must be an object with a layer or a handler, got undefined/],
    [{}, /give a layer \(e.g. Server.layerMemory\(...\)\) or a handler/],
    [{ layer: TestServer.layer(), basePath: "/api" }, /unknown option basePath; the options are layer or handler/],
    [{ layer: TestServer.layer(), handler: Server.makeWebHandler(TestServer.layer()) }, /give a layer or a handler, not both/],
    [{ layer: { apiKeys: ["k"] } }, /layer must be an Effect Layer of the API's services, got object/],
    [{ handler: async () => new Response() }, /handler must be a WebHandler from Server.makeWebHandler/]
  ])("refuses wrong options when it is made (%#)", (options, message) => {
    const make = () => identifyFace(options as Parameters<typeof identifyFace>[0])
    expect(make).toThrow(InvalidConfigError)
    expect(make).toThrow(new RegExp(`^@identify-face/express: ${message.source}`))
  })
})
