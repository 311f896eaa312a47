import { Client } from "@identify-face/core"
import { TestServer } from "@identify-face/testing"
import { afterAll, expect, it } from "vitest"
import { makeApp } from "../src/app.js"

// No server: `app.request` answers in process, and the client uses it as its fetch.
const { app, close } = makeApp(TestServer.layer({ analyzer: { script: { faces: [{ startMs: 1000, endMs: 4000 }] } } }))
afterAll(close)

it("serves its own routes", async () => {
  const response = await app.request("/status")
  expect(await response.json()).toEqual({ service: "clip-studio", faces: "/api/model/v1/generation" })
})

it("serves the identify-face API under /api", async () => {
  const client = Client.makePromise({
    baseUrl: "http://localhost/api",
    apiKey: TestServer.DEFAULT_API_KEY,
    fetch: async (input, init) => app.request(input instanceof Request ? input : input.toString(), init)
  })
  const result = await client.identifyFaces({ videoUrl: "https://cdn.example.com/clip.mp4" })
  expect(result.data.face_data.map((face) => [face.start_time, face.end_time])).toEqual([[1000, 4000]])
  const image = await app.request(new URL(result.data.face_data[0]?.face_image ?? "").pathname)
  expect(image.headers.get("content-type")).toBe("image/jpeg")
})
