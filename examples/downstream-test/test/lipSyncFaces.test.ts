import { Client } from "@identify-face/core"
import { UnsupportedResolutionError } from "@identify-face/core/Errors"
import { TestServer } from "@identify-face/testing"
import { afterAll, beforeAll, expect, it } from "vitest"
import { lipSyncFaces } from "../src/lipSyncFaces.js"

const twoPeople = "https://cdn.example.com/two-people.mp4"
const lowResolution = "https://cdn.example.com/640x480.mp4"

// identify-face, mocked: a real HTTP server on loopback whose analysis plays these scripts.
let server: TestServer.StartedServer
beforeAll(async () => {
  server = await TestServer.startServer({
    analyzer: {
      videos: {
        [twoPeople]: { faces: [{ startMs: 0, endMs: 2400 }, { startMs: 3000, endMs: 8000 }] },
        [lowResolution]: { failure: new UnsupportedResolutionError({ message: "resolution 640x480 is not 720p or 1080p" }) }
      }
    }
  })
})
afterAll(() => server.close())

const client = () => Client.makePromise({ baseUrl: server.url, apiKey: server.apiKey })

it("offers each face with when it can be lip-synced", async () => {
  const offered = await lipSyncFaces(client(), twoPeople)
  expect(offered).toEqual({
    faces: [
      { id: "0", fromSeconds: 0, toSeconds: 2.4, thumbnailUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/model\/v1\/files\//) },
      { id: "1", fromSeconds: 3, toSeconds: 8, thumbnailUrl: expect.any(String) }
    ]
  })
})

it("explains a video refused for its resolution (014002113)", async () => {
  expect(await lipSyncFaces(client(), lowResolution)).toEqual({ refused: "Please upload the video in 720p or 1080p." })
})
