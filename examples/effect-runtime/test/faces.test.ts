import { UnsupportedResolutionError } from "@identify-face/core/Errors"
import { TestAnalyzer } from "@identify-face/testing"
import { Effect, Either } from "effect"
import { expect, it } from "vitest"
import { describeFaces, inProcessClient, makeRuntime } from "../src/faces.js"

/** `describeFaces` of a clip, in a runtime whose analyzer plays `script`. */
const describeWith = async (script: TestAnalyzer.Script) => {
  const runtime = makeRuntime(TestAnalyzer.layer({ script }))
  try {
    return await Effect.runPromise(Effect.either(describeFaces(new Blob(["a clip"])).pipe(Effect.provide(inProcessClient(runtime)))))
  } finally {
    await runtime.dispose()
  }
}

it("describes the faces the analyzer finds, with no server", async () => {
  const described = await describeWith({ faces: [{ startMs: 0, endMs: 4000 }, { startMs: 5200, endMs: 9000 }] })
  expect(described).toEqual(Either.right(["face 0: 0-4000 ms", "face 1: 5200-9000 ms"]))
})

it("fails with the typed error of the code the analysis ends with", async () => {
  const described = await describeWith({ failure: new UnsupportedResolutionError({ message: "resolution 640x480 is not 720p or 1080p" }) })
  expect(Either.isLeft(described) && described.left).toMatchObject({ _tag: "UnsupportedResolutionError", code: "014002113" })
})
