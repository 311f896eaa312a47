import { Client } from "@identify-face/core"
import { TestServer } from "@identify-face/testing"
import { afterAll, beforeAll, expect, it } from "vitest"
import { makeApp } from "../src/app.js"

let app: ReturnType<typeof makeApp>
let server: TestServer.Listening
beforeAll(async () => {
  app = makeApp(TestServer.layer({ analyzer: { script: { faces: [{ startMs: 1000, endMs: 4000 }] } } }))
  server = await TestServer.listen(app.app)
})
afterAll(async () => {
  await server.close()
  await app.close()
})

it("serves its own routes", async () => {
  const response = await fetch(`${server.url}/status`)
  expect(await response.json()).toEqual({ service: "clip-studio", faces: "/api/model/v1/generation" })
})

it("serves the identify-face API under /api", async () => {
  const client = Client.makePromise({ baseUrl: `${server.url}/api`, apiKey: TestServer.DEFAULT_API_KEY })
  const result = await client.identifyFaces({ videoUrl: "https://cdn.example.com/clip.mp4" })
  expect(result.data.face_data.map((face) => [face.start_time, face.end_time])).toEqual([[1000, 4000]])
  expect((await fetch(result.data.face_data[0]?.face_image ?? "")).headers.get("content-type")).toBe("image/jpeg")
})
